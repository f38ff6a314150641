//! The runtime login role: the user of `DATABASE_URL`, made a member of the
//! group role that holds the daemon's privileges.
//!
//! Migrations create the group role [`RUNTIME_GROUP`] and its grants
//! (`migrations/20261130000001_runtime_role.sql`); `pesachama migrate`, `dev`
//! and the test harness then call [`provision_runtime_role`] as the owner, so
//! the daemon's own login owns nothing and can only do what the group may.

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};
use sqlx::postgres::PgConnectOptions;
use sqlx::{PgConnection, PgPool};

use super::DbError;

/// The group role every runtime login joins (created by the migrations).
pub const RUNTIME_GROUP: &str = "pesachama_runtime";
/// Advisory lock key held while the login role is provisioned.
const PROVISION_LOCK: i64 = 0x7063_726f_6c65; // "pcrole"

/// What [`provision_runtime_role`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Provisioned {
    /// The login role did not exist and was created.
    Created { role: String },
    /// The login role existed; its password (when the URL has one) and
    /// membership were brought up to date.
    Updated { role: String },
    /// Both URLs name the same user: there is no separate runtime role, and
    /// the daemon will run with the owner's powers.
    SameAsOwner { role: String },
}

/// Creates or updates the login role named by `runtime_url` and makes it a
/// member of [`RUNTIME_GROUP`], connected as the owner through `owner`.
///
/// Idempotent: run it after every migration. Names and passwords reach the
/// server only through `format('%I' / '%L')`, never pasted into SQL here.
pub async fn provision_runtime_role(
    owner: &PgPool,
    runtime_url: &SecretString,
) -> Result<Provisioned, DbError> {
    let login = RuntimeLogin::parse(runtime_url)?;
    let role = login.user.clone();
    let failed = |source| DbError::RuntimeRole {
        role: role.clone(),
        source,
    };
    let owner_user: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(owner)
        .await
        .map_err(failed)?;
    if owner_user == login.user {
        return Ok(Provisioned::SameAsOwner { role });
    }
    let created = upsert_login(owner, &login).await.map_err(failed)?;
    Ok(if created {
        Provisioned::Created { role }
    } else {
        Provisioned::Updated { role }
    })
}

/// True when the pool's user can undo the schema's protections: a superuser,
/// or the owner (or a member of the owner) of a table. `serve` warns about it.
pub async fn has_owner_powers(pool: &PgPool) -> Result<bool, DbError> {
    sqlx::query_scalar(
        r#"select exists (select 1 from pg_class
                           where relnamespace = 'public'::regnamespace and relkind = 'r'
                             and pg_has_role(current_user, relowner, 'usage'))"#,
    )
    .fetch_one(pool)
    .await
    .map_err(DbError::Catalog)
}

/// Creates the login role or brings it up to date, then makes it a member of
/// the group, in one transaction. True when it was created.
async fn upsert_login(owner: &PgPool, login: &RuntimeLogin) -> Result<bool, sqlx::Error> {
    let mut tx = owner.begin().await?;
    // Every node runs `migrate` before it starts; two `alter role` of one role
    // at the same moment fail ("tuple concurrently updated"), so the nodes of
    // a deployment (one database) take turns.
    sqlx::query("select pg_advisory_xact_lock($1)")
        .bind(PROVISION_LOCK)
        .execute(&mut *tx)
        .await?;
    let exists: bool =
        sqlx::query_scalar("select exists(select 1 from pg_roles where rolname = $1)")
            .bind(&login.user)
            .fetch_one(&mut *tx)
            .await?;
    let verb = if exists { "alter" } else { "create" };
    let statement = login_statement(&mut tx, verb, login).await?;
    execute(&mut tx, &statement).await?;
    let grant = quoted(&mut tx, "grant %I to %I", &[RUNTIME_GROUP, &login.user]).await?;
    execute(&mut tx, &grant).await?;
    tx.commit().await?;
    Ok(!exists)
}

/// `create` or `alter` the login role, with the URL's password when it has one.
/// `login` also revives a role someone set to `nologin` by hand.
async fn login_statement(
    owner: &mut PgConnection,
    verb: &str,
    login: &RuntimeLogin,
) -> Result<String, sqlx::Error> {
    match &login.password {
        Some(password) => {
            let template = format!("{verb} role %I login password %L");
            quoted(owner, &template, &[&login.user, password.expose_secret()]).await
        }
        None => quoted(owner, &format!("{verb} role %I login"), &[&login.user]).await,
    }
}

/// Runs one statement over the simple protocol, so it (and any password in
/// it) is not kept in the connection's cache of prepared statements.
async fn execute(owner: &mut PgConnection, statement: &str) -> Result<(), sqlx::Error> {
    sqlx::raw_sql(statement).execute(owner).await.map(drop)
}

/// Builds a statement server-side with `format()`, which quotes identifiers
/// (`%I`) and literals (`%L`) the way PostgreSQL itself parses them.
async fn quoted(
    owner: &mut PgConnection,
    template: &str,
    args: &[&str],
) -> Result<String, sqlx::Error> {
    let placeholders: Vec<String> = (2..args.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!("select format($1, {})", placeholders.join(", "));
    let mut query = sqlx::query_scalar::<_, String>(&sql).bind(template);
    for arg in args {
        query = query.bind(*arg);
    }
    query.fetch_one(owner).await
}

/// The user and password `DATABASE_URL` connects with.
struct RuntimeLogin {
    user: String,
    password: Option<SecretString>,
}

impl RuntimeLogin {
    fn parse(url: &SecretString) -> Result<RuntimeLogin, DbError> {
        let raw = url.expose_secret();
        // sqlx resolves the user as it will when connecting (URL, PGUSER, OS user).
        let options: PgConnectOptions = raw.parse().map_err(DbError::BadUrl)?;
        let parsed = reqwest::Url::parse(raw)
            .map_err(|e| DbError::BadUrl(sqlx::Error::Configuration(Box::new(e))))?;
        let password = parsed
            .password()
            .map(|p| percent_decode_str(p).decode_utf8_lossy().into_owned())
            .or_else(|| {
                parsed
                    .query_pairs()
                    .find(|(k, _)| k == "password")
                    .map(|(_, v)| v.into_owned())
            })
            .filter(|p| !p.is_empty())
            .map(SecretString::from);
        Ok(RuntimeLogin {
            user: options.get_username().to_owned(),
            password,
        })
    }
}

/// `url` with its user and password replaced: how `dev` and the test harness
/// derive the runtime role's URL from the owner's.
pub fn url_for_login(url: &str, user: &str, password: Option<&str>) -> Result<String, DbError> {
    let bad = |what: &str| DbError::BadUrl(sqlx::Error::Configuration(what.to_owned().into()));
    let mut url = reqwest::Url::parse(url).map_err(|_| bad("not a URL"))?;
    url.set_username(user)
        .and_then(|()| url.set_password(password))
        .map_err(|()| bad("the URL cannot carry a user"))?;
    Ok(url.into())
}
