//! The audit trail: one append-only row per admin or money action. The table
//! refuses updates and deletes itself; this module only ever inserts.

use sqlx::PgConnection;
use uuid::Uuid;

/// Who did something: a channel name (`cli`, `ussd`, `system`) or a user.
#[derive(Debug, Clone, Copy)]
pub enum Actor<'a> {
    /// An operator at the command line.
    Cli,
    /// The daemon itself (seeding, workers).
    System,
    /// A known user, by id.
    User(&'a Uuid),
}

impl Actor<'_> {
    fn label(&self) -> String {
        match self {
            Actor::Cli => "cli".into(),
            Actor::System => "system".into(),
            Actor::User(id) => format!("user:{id}"),
        }
    }
}

/// Appends an audit row inside the caller's transaction.
pub async fn record_audit(
    conn: &mut PgConnection,
    actor: Actor<'_>,
    action: &str,
    chama_id: Option<Uuid>,
    subject: Option<&str>,
    details: serde_json::Value,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into audit_logs (actor, action, chama_id, subject, details)
           values ($1, $2, $3, $4, $5)"#,
        actor.label(),
        action,
        chama_id,
        subject,
        details
    )
    .execute(conn)
    .await?;
    Ok(())
}
