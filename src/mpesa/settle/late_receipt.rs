//! A success result for a request that is no longer open.
//!
//! - Booked by a query, so without a receipt: the receipt is entered in the
//!   registry against the query's entry, so no paybill confirmation of the
//!   same payment can book it again, and the no-receipt flag gives way to
//!   any mismatch the callback shows. Nothing is posted. When the receipt is
//!   in the registry already with another entry (a paybill confirmation of
//!   the same payment that could not be tied to the push was booked before
//!   the query), the payment is in the books twice: the request is flagged
//!   for an official, and `ledger check` reports it from the stored callback.
//! - Booked by a query and since given a paybill confirmation's receipt
//!   (`c2b::push_payment`), which the callback now contradicts: that
//!   confirmation was another payment, taken for this one and so in no
//!   entry of its own. Flagged for an official.
//! - Failed (a query said so, and now a callback says paid): the money is
//!   at M-Pesa but not in the books, which only an official can sort out.
//!   The request is flagged; nothing is posted.
//!
//! Either way the caller reports a duplicate: no second booking.

use sqlx::PgConnection;

use super::book;
use super::request::{self, Request};
use super::{Payment, SettleError};
use crate::telemetry::MPESA_STK_FLAGS;

/// Applies what a late success result adds to a closed `request`.
pub(super) async fn attach(
    conn: &mut PgConnection,
    request: &Request,
    payment: &Payment,
) -> Result<(), SettleError> {
    let Some(receipt) = &payment.receipt else {
        return Ok(());
    };
    match (request.status.as_str(), request.journal_entry_id) {
        ("succeeded", Some(entry_id)) => match request.mpesa_receipt.as_deref() {
            None => attach_receipt(conn, request, payment, receipt, entry_id).await,
            Some(attached) if attached != receipt => {
                contradicted(conn, request, attached, receipt).await
            }
            Some(_) => Ok(()),
        },
        ("failed", _) => {
            flag_paid_after_failure(conn, request).await?;
            metrics::counter!(MPESA_STK_FLAGS, "reason" => "paid_after_failure").increment(1);
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn attach_receipt(
    conn: &mut PgConnection,
    request: &Request,
    payment: &Payment,
    receipt: &str,
    entry_id: uuid::Uuid,
) -> Result<(), SettleError> {
    if let Some((road, entry)) = request::registered(conn, receipt).await? {
        if entry != entry_id {
            metrics::counter!(MPESA_STK_FLAGS, "reason" => "booked_twice").increment(1);
            let flag = format!("receipt {receipt} booked twice: by {road} and by the query");
            set_flag(conn, request, &flag).await?;
        }
        return Ok(());
    }
    let booked = request.amount;
    let paid = payment.amount.unwrap_or(booked);
    let flag = (paid != booked).then(|| format!("query booked {booked}, callback says {paid}"));
    if flag.is_some() {
        metrics::counter!(MPESA_STK_FLAGS, "reason" => "amount").increment(1);
    }
    book::register_receipt(conn, request, receipt, booked, entry_id).await?;
    sqlx::query!(
        r#"update mpesa_stk_requests set mpesa_receipt = $2, flag = $3 where id = $1"#,
        request.id,
        receipt,
        flag
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The callback names `receipt`, but the paybill receipt `attached` was
/// taken for this payment; a receipt its own callback registered is left
/// alone (a second callback cannot change what the first booked).
async fn contradicted(
    conn: &mut PgConnection,
    request: &Request,
    attached: &str,
    receipt: &str,
) -> Result<(), SettleError> {
    let Some((road, _)) = request::registered(conn, attached).await? else {
        return Ok(());
    };
    if road == "c2b" {
        metrics::counter!(MPESA_STK_FLAGS, "reason" => "receipt_mismatch").increment(1);
        let flag = format!("callback says receipt {receipt}; paybill {attached} was taken for it");
        set_flag(conn, request, &flag).await?;
    }
    Ok(())
}

async fn flag_paid_after_failure(
    conn: &mut PgConnection,
    request: &Request,
) -> Result<(), sqlx::Error> {
    set_flag(
        conn,
        request,
        "paid per callback after it was marked failed",
    )
    .await
}

async fn set_flag(
    conn: &mut PgConnection,
    request: &Request,
    flag: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update mpesa_stk_requests set flag = $2 where id = $1"#,
        request.id,
        flag
    )
    .execute(conn)
    .await?;
    Ok(())
}
