//! A payment that did not happen: the request marked failed with Daraja's
//! code and words, the audit row, the member told why in their language,
//! and the app's event, all in the caller's transaction.

use serde_json::json;
use sqlx::PgConnection;

use super::reason::FailureReason;
use super::request::Request;
use super::{SettleError, SettledBy, notify};
use crate::chama::{Actor, record_audit};
use crate::sms::templates::Templates;

/// Longest `ResultDesc` kept: Daraja's are one sentence; a stranger's may
/// be anything.
const MAX_DESC: usize = 200;

/// Marks the open `request` failed with `code` and `desc`.
pub(super) async fn fail(
    conn: &mut PgConnection,
    texts: &Templates,
    request: &Request,
    code: &str,
    desc: &str,
    by: SettledBy,
) -> Result<(), SettleError> {
    let desc: String = desc.chars().take(MAX_DESC).collect();
    sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'failed', result_code = $2, result_desc = $3,
                  settled_at = now(), settled_by = $4
            where id = $1"#,
        request.id,
        code,
        desc,
        by.as_str()
    )
    .execute(&mut *conn)
    .await?;
    let reason = FailureReason::from_code(code);
    let details = json!({
        "checkout_request_id": request.checkout_request_id,
        "result_code": code,
        "result_desc": desc,
        "reason": reason.key(),
        "amount": request.amount,
        "purpose": request.purpose,
        "settled_by": by.as_str(),
    });
    record_audit(
        conn,
        Actor::System,
        "mpesa.stk.failed",
        Some(request.chama_id),
        Some(&request.id.to_string()),
        details.clone(),
    )
    .await?;
    notify::failed_sms(conn, texts, request, reason).await?;
    notify::app_event(conn, request, "payment.failed", details).await?;
    Ok(())
}
