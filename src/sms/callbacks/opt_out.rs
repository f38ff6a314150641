//! `STOP`/`ACHA` and `START`/`ANZA`: a member's opt-out of reminders and
//! notices (`users.sms_opt_out_at`, read through `SmsKind::respects_opt_out`),
//! set and cleared in the transaction that stores the message, audited, and
//! counted. A repeat changes nothing and is not audited again.

use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::chama::{Actor, record_audit};
use crate::telemetry::SMS_OPT_CHANGES;

/// `STOP`/`ACHA`: no more reminders or notices (see `SmsKind::respects_opt_out`).
/// A second `STOP` keeps the first date and writes no second audit row.
pub async fn opt_out(
    conn: &mut PgConnection,
    user_id: Uuid,
    provider_id: &str,
) -> sqlx::Result<()> {
    let changed = sqlx::query!(
        "update users set sms_opt_out_at = now() where id = $1 and sms_opt_out_at is null",
        user_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 1 {
        audit(conn, user_id, "sms.opt_out", provider_id).await?;
        metrics::counter!(SMS_OPT_CHANGES, "change" => "out").increment(1);
    }
    Ok(())
}

/// `START`/`ANZA`: reminders again.
pub async fn opt_in(conn: &mut PgConnection, user_id: Uuid, provider_id: &str) -> sqlx::Result<()> {
    let changed = sqlx::query!(
        "update users set sms_opt_out_at = null where id = $1 and sms_opt_out_at is not null",
        user_id
    )
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if changed == 1 {
        audit(conn, user_id, "sms.opt_in", provider_id).await?;
        metrics::counter!(SMS_OPT_CHANGES, "change" => "in").increment(1);
    }
    Ok(())
}

async fn audit(
    conn: &mut PgConnection,
    user_id: Uuid,
    action: &str,
    provider_id: &str,
) -> sqlx::Result<()> {
    record_audit(
        conn,
        Actor::User(&user_id),
        action,
        None,
        Some(&user_id.to_string()),
        json!({ "channel": "sms", "inbound_id": provider_id }),
    )
    .await
}
