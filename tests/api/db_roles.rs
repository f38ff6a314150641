//! The runtime role the daemon connects as cannot rewrite history: every
//! owner-level operation is refused, whatever the SQL. And the commands that
//! set the roles up: `migrate` provisions the login role (twice is the same as
//! once), `serve` refuses a schema it was not built for.

use std::process::{Command, Output};

use pesachama::db::{self, DbError, MIGRATOR};
use sqlx::{Connection, Executor, PgConnection, PgPool};
use uuid::Uuid;

use crate::helpers::{RUNTIME_ROLE, TestDb, TestRole, servers};
use crate::seed;

/// Insufficient privilege: what PostgreSQL answers for a refused grant or a
/// statement only the owner may run.
const PERMISSION_DENIED: &str = "42501";

/// A database with one committed journal entry, and a runtime connection.
async fn books() -> (TestDb, PgConnection, Uuid) {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let chama = seed::chama(&pool, "UMOJA", "Umoja Women Group").await;
    let member = seed::member(
        &pool,
        "UMOJA",
        "+254711000004",
        "Dan Kiprop",
        pesachama::chama::Role::Member,
        None,
        "en",
    )
    .await;
    seed::contribution(&pool, chama, member, "cash:contribution:1", 300, 200).await;
    let conn = PgConnection::connect(&db.url).await.unwrap();
    (db, conn, member)
}

/// Runs `sql` and returns the SQLSTATE it was refused with.
async fn refusal(conn: &mut PgConnection, sql: &str) -> String {
    let outcome = sqlx::raw_sql(sql).execute(&mut *conn).await;
    // A refusal inside `begin` leaves the transaction aborted.
    sqlx::raw_sql("rollback").execute(&mut *conn).await.ok();
    match outcome {
        Ok(_) => panic!("accepted as the runtime role: {sql}"),
        Err(sqlx::Error::Database(e)) => e.code().unwrap_or_default().into_owned(),
        Err(other) => panic!("{sql}: {other}"),
    }
}

#[tokio::test]
async fn the_runtime_role_owns_nothing_and_belongs_to_the_group() {
    let db = TestDb::new().await;
    let pool = db.pool().await;
    let (user, member, owned): (String, bool, i64) = sqlx::query_as(
        r#"select current_user::text,
                  pg_has_role(current_user, $1, 'member'),
                  (select count(*) from pg_class c join pg_roles r on r.oid = c.relowner
                    where r.rolname = current_user)"#,
    )
    .bind(db::RUNTIME_GROUP)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(user, RUNTIME_ROLE);
    assert!(member, "{user} is not in {}", db::RUNTIME_GROUP);
    assert_eq!(owned, 0, "{user} owns tables");
    assert!(!db::has_owner_powers(&pool).await.unwrap());
    assert!(db::has_owner_powers(&db.owner_pool().await).await.unwrap());
}

#[tokio::test]
async fn owner_level_operations_are_refused_to_the_runtime_role() {
    let (_db, mut conn, _) = books().await;
    for sql in [
        "alter table audit_logs disable trigger forbid_update_delete",
        "alter table journal_lines disable trigger all",
        "drop table journal_lines",
        "drop table audit_logs",
        "truncate audit_logs",
        "truncate journal_entries cascade",
        "create table ledger_shadow (id int)",
        "create function public.evil() returns int language sql as 'select 1'",
        "alter table journal_entries drop column written_in_xact",
        // The trigger switch that needs no ALTER TABLE: superusers only.
        "set session_replication_role = replica",
        "alter role current_user superuser",
    ] {
        assert_eq!(refusal(&mut conn, sql).await, PERMISSION_DENIED, "{sql}");
    }
}

#[tokio::test]
async fn the_record_cannot_be_changed_by_the_runtime_role() {
    let (db, mut conn, _) = books().await;
    sqlx::query("insert into audit_logs (actor, action) values ('cli', 'chama.create')")
        .execute(&mut conn)
        .await
        .expect("appending to the audit log is allowed");
    for sql in [
        "update audit_logs set action = 'nothing'",
        "delete from audit_logs",
        "update journal_entries set occurred_at = now() - interval '1 year'",
        "delete from journal_entries",
        "update journal_lines set amount = amount * 10",
        "delete from journal_lines",
        "delete from mpesa_receipts",
        "update disbursement_approvals set decision = 'approve'",
        "update ussd_session_ends set status = 'completed'",
        // Terms that the column grants leave out.
        "update users set id = gen_random_uuid()",
        "update ledger_accounts set code = 1001",
        "update ledger_balances set debits_posted = 0",
    ] {
        assert_eq!(refusal(&mut conn, sql).await, PERMISSION_DENIED, "{sql}");
    }
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn lines_cannot_be_added_to_an_entry_of_another_transaction() {
    let (db, mut conn, member) = books().await;
    let attack = |prelude: &str| {
        format!(
            r#"begin;
               {prelude}
               insert into journal_lines (entry_id, chama_id, account_id, member_user_id, amount)
               select e.id, e.chama_id, a.id, case when a.code = 2000 then '{member}'::uuid end,
                      case when a.code = 1000 then 1000 else -1000 end
                 from journal_entries e
                 join ledger_accounts a on a.chama_id = e.chama_id and a.code in (1000, 2000)
                where e.idempotency_key = 'cash:contribution:1';
               commit;"#
        )
    };
    let forged = "select set_config('pesachama.entries_in_tx', \
                  (select id::text || ',' from journal_entries), true);";
    for prelude in ["", forged] {
        let sql = attack(prelude);
        let error = sqlx::raw_sql(&sql).execute(&mut conn).await.unwrap_err();
        sqlx::raw_sql("rollback").execute(&mut conn).await.ok();
        let db_error = error.as_database_error().expect("a database refusal");
        assert_eq!(db_error.code().as_deref(), Some("PC006"), "{prelude}");
        assert_eq!(
            db_error.constraint(),
            Some("journal_lines_same_transaction")
        );
    }
    let lines: i64 = sqlx::query_scalar("select count(*) from journal_lines")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(lines, 3, "the contribution's own lines only");
    db.assert_ledger_consistent().await;
}

#[tokio::test]
async fn a_current_schema_passes_the_check_as_the_runtime_role() {
    let db = TestDb::new().await;
    db::check_schema(&db.pool().await)
        .await
        .expect("the template is fully migrated");
}

#[tokio::test]
async fn serve_refuses_a_schema_that_misses_a_migration() {
    let db = TestDb::new().await;
    let last = MIGRATOR.iter().map(|m| m.version).max().unwrap();
    // Forgetting a migration is the owner's business; the runtime role cannot.
    sqlx::query("delete from _sqlx_migrations where version = $1")
        .bind(last)
        .execute(&db.owner_pool().await)
        .await
        .unwrap();
    match db::check_schema(&db.pool().await).await {
        Err(DbError::SchemaBehind { version, .. }) => assert_eq!(version, last),
        other => panic!("expected SchemaBehind, got {other:?}"),
    }

    let out = pesachama(
        &[("DATABASE_URL", db.url.as_str())],
        &live_settings(),
        "serve",
    );
    assert!(!out.status.success(), "serve started: {}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains(&last.to_string()), "{err}");
    assert!(err.contains("pesachama migrate"), "{err}");
}

#[tokio::test]
async fn migrate_creates_the_runtime_login_and_a_second_run_changes_nothing() {
    let role = TestRole::fresh();
    let db = empty_database().await;
    let runtime_url = db::url_for_login(&db.owner_url, &role.0, Some("s3cret")).unwrap();
    let env = [
        ("DATABASE_OWNER_URL", db.owner_url.as_str()),
        ("DATABASE_URL", runtime_url.as_str()),
    ];

    let first = pesachama(&env, &[], "migrate");
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("created runtime role"),
        "{}",
        stderr(&first)
    );
    let second = pesachama(&env, &[], "migrate");
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("is up to date"),
        "{}",
        stderr(&second)
    );

    let pool = PgPool::connect(&runtime_url).await.unwrap();
    db::check_schema(&pool).await.expect("migrated");
    let mut conn = pool.acquire().await.unwrap();
    assert_eq!(
        refusal(&mut conn, "create table t (i int)").await,
        PERMISSION_DENIED
    );
    drop(conn);
    pool.close().await;
}

#[tokio::test]
async fn nodes_that_migrate_at_the_same_moment_all_start() {
    let role = TestRole::fresh();
    let db = TestDb::new().await;
    let runtime_url = db::url_for_login(&db.owner_url, &role.0, Some("s3cret")).unwrap();
    let env = [
        ("DATABASE_OWNER_URL", db.owner_url.as_str()),
        ("DATABASE_URL", runtime_url.as_str()),
    ];
    // Every node runs `migrate` in ExecStartPre=; after a fleet-wide restart
    // they race to create the same login role.
    let nodes: Vec<_> = (0..4)
        .map(|_| {
            command(&env, &[], "migrate")
                .spawn()
                .expect("pesachama runs")
        })
        .collect();
    for node in nodes {
        let out = node.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
}

#[tokio::test]
async fn hostile_role_names_and_passwords_are_quoted() {
    let suffix = &Uuid::new_v4().simple().to_string()[..8];
    let role = TestRole(format!("pc\"; drop table users; -- {suffix}"));
    let db = TestDb::new().await;
    let password = "it's\"; drop table users; --";
    let runtime_url = db::url_for_login(&db.owner_url, &role.0, Some(password)).unwrap();
    let env = [
        ("DATABASE_OWNER_URL", db.owner_url.as_str()),
        ("DATABASE_URL", runtime_url.as_str()),
    ];

    let out = pesachama(&env, &[], "migrate");
    assert!(out.status.success(), "{}", stderr(&out));

    let mut conn = PgConnection::connect(&runtime_url).await.unwrap();
    let user: String = sqlx::query_scalar("select current_user::text")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(user, role.0);
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut conn)
        .await
        .expect("the users table is still there, and readable");
    assert_eq!(users, 0);
    conn.close().await.unwrap();
}

#[tokio::test]
async fn migrate_with_one_user_for_both_urls_warns_and_skips_the_role() {
    let db = TestDb::new().await;
    let out = pesachama(&[("DATABASE_URL", db.owner_url.as_str())], &[], "migrate");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("warning:"), "{}", stderr(&out));
}

/// An empty database (not cloned from the template), dropped with the value.
/// Both its URLs are the owner's: no runtime role exists there until `migrate`.
async fn empty_database() -> TestDb {
    let admin_url = &servers().postgres_admin;
    let name = format!("pesachama_test_{}", Uuid::new_v4().simple());
    let mut admin = PgConnection::connect(admin_url).await.unwrap();
    admin
        .execute(format!(r#"create database "{name}""#).as_str())
        .await
        .unwrap();
    admin.close().await.unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    let owner_url = format!("{base}/{name}");
    TestDb {
        name,
        url: owner_url.clone(),
        owner_url,
    }
}

/// The settings `serve` needs besides the database, shaped like production.
fn live_settings() -> Vec<(&'static str, String)> {
    let token = Uuid::new_v4().simple().to_string();
    [
        ("REDIS_URL", servers().redis.clone()),
        ("PESACHAMA_HTTP_ADDR", "127.0.0.1:0".into()),
        ("PESACHAMA_ADMIN_ADDR", "127.0.0.1:0".into()),
        ("PESACHAMA_PIN_SECRET", format!("{token}{token}")),
        ("PESACHAMA_USSD_CALLBACK_TOKEN", token.clone()),
        ("PESACHAMA_SMS_CALLBACK_TOKEN", token.clone()),
        ("PESACHAMA_MENUS_DIR", dir("menus")),
        ("PESACHAMA_LOCALES_DIR", dir("locales")),
        ("MPESA_API_URL", "https://daraja.example.invalid".into()),
        ("MPESA_CONSUMER_KEY", token.clone()),
        ("MPESA_CONSUMER_SECRET", token.clone()),
        ("MPESA_SHORTCODE", "174379".into()),
        ("MPESA_PASSKEY", token.clone()),
        (
            "MPESA_CALLBACK_URL",
            "https://gateway.example.invalid".into(),
        ),
        ("MPESA_CALLBACK_TOKEN", token.clone()),
        ("AT_API_URL", "https://at.example.invalid".into()),
        ("AT_USERNAME", "sandbox".into()),
        ("AT_API_KEY", token),
    ]
    .into()
}

fn dir(name: &str) -> String {
    format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn pesachama(env: &[(&str, &str)], more: &[(&'static str, String)], name: &str) -> Output {
    command(env, more, name).output().expect("pesachama runs")
}

/// `pesachama <name>` with only the given environment, output captured.
fn command(env: &[(&str, &str)], more: &[(&'static str, String)], name: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pesachama"));
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .envs(more.iter().map(|(k, v)| (*k, v.as_str())))
        .arg(name)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    cmd
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
