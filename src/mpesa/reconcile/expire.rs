//! The deadline: a request still pending this long after its push is closed
//! as `unknown` for an official, who checks the M-Pesa statement.
//!
//! That includes a request whose push got no answer, so it has no
//! CheckoutRequestID: nobody knows whether a prompt was shown and it cannot
//! be queried. Unless `adopt` paired it with its success callback first, it
//! waits here for the deadline like the rest.

use std::time::Duration;

use serde_json::json;
use sqlx::PgConnection;

use crate::chama::{Actor, record_audit};
use crate::telemetry::MPESA_RECONCILIATIONS;

/// Closes up to `limit` pending requests older than `deadline` and writes
/// an audit row for each, in the caller's transaction; returns how many.
pub(super) async fn close_overdue(
    conn: &mut PgConnection,
    deadline: Duration,
    limit: i64,
) -> Result<usize, sqlx::Error> {
    let closed = sqlx::query!(
        r#"with overdue as (
               select id from mpesa_stk_requests
                where status = 'pending'
                  and coalesce(pushed_at, created_at) <= now() - make_interval(secs => $1)
                order by created_at
                limit $2
                  for update skip locked)
           update mpesa_stk_requests r
              set status = 'unknown', settled_at = now(), settled_by = 'deadline'
             from overdue
            where r.id = overdue.id
           returning r.id, r.chama_id, r.checkout_request_id, r.amount, r.purpose,
                     r.query_attempts"#,
        deadline.as_secs_f64(),
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    for row in &closed {
        let details = json!({
            "checkout_request_id": row.checkout_request_id,
            "amount": row.amount,
            "purpose": row.purpose,
            "query_attempts": row.query_attempts,
        });
        record_audit(
            conn,
            Actor::System,
            "mpesa.stk.unknown",
            Some(row.chama_id),
            Some(&row.id.to_string()),
            details,
        )
        .await?;
    }
    if !closed.is_empty() {
        metrics::counter!(MPESA_RECONCILIATIONS, "result" => "deadline")
            .increment(closed.len() as u64);
        tracing::warn!(
            requests = closed.len(),
            "STK requests closed as unknown at the deadline; see `pesachama mpesa pending`"
        );
    }
    Ok(closed.len())
}
