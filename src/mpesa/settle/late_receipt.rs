//! A success result for a request that is no longer open.
//!
//! - Booked by a query, so without a receipt: the receipt is entered in the
//!   registry against the query's entry, so no paybill confirmation of the
//!   same payment can book it again, and the no-receipt flag gives way to
//!   any mismatch the callback shows. Nothing is posted.
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
        ("succeeded", Some(entry_id)) if request.mpesa_receipt.is_none() => {
            attach_receipt(conn, request, payment, receipt, entry_id).await
        }
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
    if request::receipt_booked_by(conn, receipt).await?.is_some() {
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

async fn flag_paid_after_failure(
    conn: &mut PgConnection,
    request: &Request,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"update mpesa_stk_requests set flag = 'paid per callback after it was marked failed'
            where id = $1"#,
        request.id
    )
    .execute(conn)
    .await?;
    Ok(())
}
