//! Chamas and their members: creation, membership and the register, each
//! admin action written to the audit trail in the same transaction.

mod audit;
mod code;

pub use audit::{Actor, record_audit};
pub use code::ChamaCode;

use sqlx::PgConnection;
use uuid::Uuid;

use crate::db::is_violation;
use crate::phone::Msisdn;

/// A member's office in a chama. Officers approve payouts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Member,
    Chairperson,
    Treasurer,
    Secretary,
}

impl Role {
    /// The value stored in `chama_members.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Member => "member",
            Role::Chairperson => "chairperson",
            Role::Treasurer => "treasurer",
            Role::Secretary => "secretary",
        }
    }

    /// Parses the stored value.
    pub fn from_db(value: &str) -> Option<Role> {
        Some(match value {
            "member" => Role::Member,
            "chairperson" => Role::Chairperson,
            "treasurer" => Role::Treasurer,
            "secretary" => Role::Secretary,
            _ => return None,
        })
    }

    /// Chairperson, treasurer and secretary see the officials' menu.
    pub fn is_officer(self) -> bool {
        self != Role::Member
    }
}

/// A chama as created.
#[derive(Debug, Clone)]
pub struct Chama {
    pub id: Uuid,
    pub code: ChamaCode,
    pub name: String,
}

/// One line of the member register.
#[derive(Debug, Clone)]
pub struct Member {
    pub user_id: Uuid,
    pub member_no: i32,
    pub name: String,
    pub phone: String,
    pub role: Role,
    pub status: String,
}

/// Why a chama or membership change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChamaError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("a chama with code {0} already exists")]
    CodeTaken(ChamaCode),
    #[error("no chama has the code {0}")]
    UnknownChama(String),
    #[error("this phone is already a member of {0}")]
    AlreadyMember(ChamaCode),
    #[error("{0} already has an active {1}; change that member's role first")]
    OfficeTaken(ChamaCode, &'static str),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Longest chama or member name we store (matches the database check).
pub const MAX_NAME_LEN: usize = 100;

fn clean_name(name: &str) -> Result<&str, ChamaError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_LEN {
        return Err(ChamaError::InvalidInput(format!(
            "a name must have 1 to {MAX_NAME_LEN} characters"
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(ChamaError::InvalidInput(
            "a name cannot contain control characters".into(),
        ));
    }
    Ok(name)
}

/// Creates a chama with the standard chart of accounts. The caller owns the
/// transaction, so the audit row and the accounts land with the chama or not at all.
pub async fn create_chama(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    name: &str,
    code: &ChamaCode,
) -> Result<Chama, ChamaError> {
    let name = clean_name(name)?;
    let id = sqlx::query_scalar!(
        r#"insert into chamas (code, name) values ($1, $2) returning id"#,
        code.as_str(),
        name
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_violation(&e, "chamas_code_key") {
            ChamaError::CodeTaken(code.clone())
        } else {
            e.into()
        }
    })?;
    sqlx::query!("select seed_chart_of_accounts($1)", id)
        .fetch_one(&mut *conn)
        .await?;
    record_audit(
        conn,
        actor,
        "chama.create",
        Some(id),
        Some(code.as_str()),
        serde_json::json!({ "name": name }),
    )
    .await?;
    Ok(Chama {
        id,
        code: code.clone(),
        name: name.to_owned(),
    })
}

/// Finds a chama by code.
pub async fn find_chama(conn: &mut PgConnection, code: &str) -> Result<Chama, ChamaError> {
    let unknown = || ChamaError::UnknownChama(code.to_owned());
    let code = ChamaCode::parse(code).map_err(|_| unknown())?;
    let row = sqlx::query!("select id, name from chamas where code = $1", code.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(unknown)?;
    Ok(Chama {
        id: row.id,
        code,
        name: row.name,
    })
}

/// Finds a chama by code and locks its row, so member numbers are handed out
/// one at a time.
async fn find_chama_for_update(conn: &mut PgConnection, code: &str) -> Result<Chama, ChamaError> {
    let unknown = || ChamaError::UnknownChama(code.to_owned());
    let code = ChamaCode::parse(code).map_err(|_| unknown())?;
    let row = sqlx::query!(
        "select id, name from chamas where code = $1 for update",
        code.as_str()
    )
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(unknown)?;
    Ok(Chama {
        id: row.id,
        code,
        name: row.name,
    })
}

/// Finds the user with this phone or creates one; an existing user keeps the
/// name they already have.
async fn upsert_user(
    conn: &mut PgConnection,
    phone: &Msisdn,
    name: &str,
) -> Result<Uuid, sqlx::Error> {
    sqlx::query_scalar!(
        r#"insert into users (phone, name) values ($1, $2)
           on conflict (phone) do update set phone = excluded.phone
           returning id"#,
        phone.as_e164(),
        name
    )
    .fetch_one(conn)
    .await
}

/// Adds a member to a chama and returns their register entry.
pub async fn add_member(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    chama_code: &str,
    phone: &Msisdn,
    name: &str,
    role: Role,
) -> Result<Member, ChamaError> {
    let name = clean_name(name)?;
    let chama = find_chama_for_update(conn, chama_code).await?;
    let user_id = upsert_user(conn, phone, name).await?;
    let member_no = sqlx::query_scalar!(
        r#"insert into chama_members (chama_id, user_id, role, member_no)
           select $1, $2, $3, coalesce(max(member_no), 0) + 1
             from chama_members where chama_id = $1
           returning member_no"#,
        chama.id,
        user_id,
        role.as_str()
    )
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_violation(&e, "chama_members_pkey") {
            ChamaError::AlreadyMember(chama.code.clone())
        } else if is_violation(&e, "chama_members_one_active_officer") {
            ChamaError::OfficeTaken(chama.code.clone(), role.as_str())
        } else {
            e.into()
        }
    })?;
    record_audit(
        conn,
        actor,
        "member.add",
        Some(chama.id),
        Some(&user_id.to_string()),
        serde_json::json!({ "member_no": member_no, "role": role.as_str() }),
    )
    .await?;
    let name = sqlx::query_scalar!("select name from users where id = $1", user_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Member {
        user_id,
        member_no,
        name,
        phone: phone.as_e164().to_owned(),
        role,
        status: "active".into(),
    })
}

/// The register of a chama, by member number.
pub async fn list_members(
    conn: &mut PgConnection,
    chama_code: &str,
) -> Result<Vec<Member>, ChamaError> {
    let chama = find_chama(conn, chama_code).await?;
    let rows = sqlx::query!(
        r#"select m.user_id, m.member_no, u.name, u.phone, m.role, m.status
             from chama_members m join users u on u.id = m.user_id
            where m.chama_id = $1
            order by m.member_no"#,
        chama.id
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Member {
            user_id: r.user_id,
            member_no: r.member_no,
            name: r.name,
            phone: r.phone,
            role: Role::from_db(&r.role).unwrap_or(Role::Member),
            status: r.status,
        })
        .collect())
}
