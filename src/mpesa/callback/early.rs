//! A callback that arrived before its push was written down. Daraja can
//! call back before the push worker has stored the CheckoutRequestID its
//! answer carried (a payer quicker than our write, or a slow database); the
//! callback was then kept as `unknown`. Once the push worker has stored the
//! id, it settles the request from that kept callback, so the member is not
//! left waiting for the reconciliation query.

use sqlx::PgConnection;

use super::parse;
use super::store::{self, Stored};
use crate::mpesa::settle::{self, SettleError, SettledBy, Settlement};
use crate::sms::templates::Templates;

/// Settles the request `checkout_request_id` from a callback kept before
/// its push was written, if there is one. Runs in the caller's transaction.
pub async fn settle_early(
    conn: &mut PgConnection,
    texts: &Templates,
    checkout_request_id: &str,
) -> Result<Option<Settlement>, SettleError> {
    let kept = sqlx::query_scalar!(
        r#"select raw from mpesa_stk_callbacks
            where checkout_request_id = $1 and outcome = 'unknown'
            order by id
            limit 1"#,
        checkout_request_id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(raw) = kept else {
        return Ok(None);
    };
    let Ok(callback) = parse::parse(raw.to_string().as_bytes()) else {
        return Ok(None);
    };
    let settlement = settle::settle(
        conn,
        texts,
        &callback.checkout_request_id,
        &callback.result,
        SettledBy::Callback,
    )
    .await?;
    store::append(
        conn,
        Stored {
            checkout_request_id: Some(&callback.checkout_request_id),
            result_code: Some(&callback.result_code),
            matched: settlement != Settlement::Unknown,
            outcome: settlement.as_str(),
            raw,
        },
    )
    .await?;
    Ok(Some(settlement))
}
