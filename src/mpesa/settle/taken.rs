//! A success result for an open request whose receipt is booked already, by
//! a paybill confirmation or another request: the money is in the books
//! once, and must not be booked again by a later query of this request
//! (which carries no receipt to check). So the request is closed as
//! `unknown` with a flag naming the receipt and the road that booked it,
//! for an official to reconcile; nothing is posted.
//!
//! A query's answer is taken so too when a paybill confirmation booked
//! while the request was pending names it (same chama, amount, payer and
//! time, `c2b::push_payment`): that confirmation is most likely this
//! payment, and if it was not, closing leaves a payment for an official to
//! find where booking would have risked booking one twice.

use serde_json::json;
use sqlx::PgConnection;

use super::request::Request;
use super::{SettleError, SettledBy};
use crate::chama::{Actor, record_audit};

/// Closes the open `request`: its `receipt` was booked by `road`.
pub(super) async fn close(
    conn: &mut PgConnection,
    request: &Request,
    receipt: &str,
    road: &str,
    by: SettledBy,
) -> Result<(), SettleError> {
    let flag = format!("receipt {receipt} already booked ({road})");
    sqlx::query!(
        r#"update mpesa_stk_requests
              set status = 'unknown', result_code = '0', settled_at = now(),
                  settled_by = $2, flag = $3
            where id = $1"#,
        request.id,
        by.as_str(),
        flag
    )
    .execute(&mut *conn)
    .await?;
    record_audit(
        conn,
        Actor::System,
        "mpesa.stk.receipt_taken",
        Some(request.chama_id),
        Some(&request.id.to_string()),
        json!({
            "checkout_request_id": request.checkout_request_id,
            "receipt": receipt,
            "booked_by": road,
            "settled_by": by.as_str(),
        }),
    )
    .await?;
    Ok(())
}
