//! Settling an STK request once, whoever tells us how it ended: Daraja's
//! callback or the reconciliation worker's query.
//!
//! [`settle`] runs in the caller's transaction: it locks the request row
//! (`for update`), and only while the request is open does it book or fail
//! it. Every copy of a callback that waits on the lock finds the request
//! settled when it gets it, and answers [`Settlement::Duplicate`]. The
//! receipt registry (`mpesa_receipts`, shared with paybill receipts) is the
//! second guard: a receipt booked by any road is never booked again.
//!
//! - `request`: the locked row and what the SMS needs about its member.
//! - `book`: a payment: journal entry, receipt, audit, SMS and app event.
//! - `fail`: a refusal: status, audit, SMS with the reason, app event.
//! - `late_receipt`: the receipt of a request a query already booked.
//! - `taken`: a paid request whose receipt another road booked first (for
//!   a query's answer: a paybill confirmation naming the request).
//! - `notify`: the member's SMS and the app's event row.
//! - `reason`: what a result code means to the member, and its metric label.

mod book;
mod fail;
mod late_receipt;
mod notify;
mod reason;
mod request;
mod taken;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::ledger::PostingError;
use crate::phone::Msisdn;
use crate::sms::templates::{RenderError, Templates};
use crate::telemetry::{MPESA_STK_CALLBACK_DELAY, MPESA_STK_FLAGS, MPESA_STK_RESULTS};

pub use reason::{FailureReason, result_code_label};
pub use request::lock_checkout;

/// What Daraja said about a push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StkResult {
    /// Result code 0: the payer paid.
    Paid(Payment),
    /// Any other result code: nobody paid. The code is kept as Daraja sent
    /// it (`1032`, or `SFC_IC0003`).
    Failed { code: String, desc: String },
}

/// What a successful result carries. A callback carries all of it; a query
/// carries none of it (Daraja's query answer has no receipt, amount or
/// phone), and the request's own amount is booked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payment {
    /// `MpesaReceiptNumber`.
    pub receipt: Option<String>,
    /// Whole shillings received.
    pub amount: Option<i64>,
    /// The phone that paid.
    pub phone: Option<Msisdn>,
    /// `TransactionDate`.
    pub paid_at: Option<DateTime<Utc>>,
}

/// Who settled a request; the `settled_by` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettledBy {
    Callback,
    Query,
}

impl SettledBy {
    pub fn as_str(self) -> &'static str {
        match self {
            SettledBy::Callback => "callback",
            SettledBy::Query => "query",
        }
    }
}

/// What [`settle`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settlement {
    /// Booked now; `flagged` when what was received differs from what was
    /// asked, or the receipt is not known yet.
    Booked { flagged: bool },
    /// Marked failed now; the member is told why.
    Failed,
    /// Already settled (or the receipt already booked): nothing booked.
    Duplicate,
    /// No request of ours has that CheckoutRequestID.
    Unknown,
}

impl Settlement {
    /// The `mpesa_stk_callbacks.outcome` and metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Settlement::Booked { .. } => "booked",
            Settlement::Failed => "failed",
            Settlement::Duplicate => "duplicate",
            Settlement::Unknown => "unknown",
        }
    }
}

/// Why a settlement could not be written. The caller's transaction must
/// roll back.
#[derive(Debug, thiserror::Error)]
pub enum SettleError {
    /// Another transaction booked the receipt while this one ran. Roll
    /// back and settle again: the receipt is then seen, and the request is
    /// closed as a duplicate without booking.
    #[error("M-Pesa receipt already booked")]
    ReceiptTaken,
    /// The journal holds an entry for this CheckoutRequestID although the
    /// request is open: the books and the request disagree; nothing is
    /// written until someone looks.
    #[error("a journal entry for this STK request exists, but the request is open")]
    EntryExists,
    #[error(transparent)]
    Posting(#[from] PostingError),
    /// A template changed without this caller: a bug its tests catch.
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Settles the request with `checkout_request_id` from `result`, in the
/// caller's transaction, and counts the outcome.
pub async fn settle(
    conn: &mut PgConnection,
    texts: &Templates,
    checkout_request_id: &str,
    result: &StkResult,
    by: SettledBy,
) -> Result<Settlement, SettleError> {
    request::lock_checkout(conn, checkout_request_id).await?;
    let settlement = settle_locked(conn, texts, checkout_request_id, result, by).await?;
    let code = match result {
        StkResult::Paid(_) => "0",
        StkResult::Failed { code, .. } => result_code_label(code),
    };
    metrics::counter!(
        MPESA_STK_RESULTS,
        "via" => by.as_str(),
        "outcome" => settlement.as_str(),
        "result_code" => code
    )
    .increment(1);
    Ok(settlement)
}

async fn settle_locked(
    conn: &mut PgConnection,
    texts: &Templates,
    checkout_request_id: &str,
    result: &StkResult,
    by: SettledBy,
) -> Result<Settlement, SettleError> {
    let Some(request) = request::lock(conn, checkout_request_id).await? else {
        return Ok(Settlement::Unknown);
    };
    if !request.is_open() {
        if let StkResult::Paid(payment) = result {
            late_receipt::attach(conn, &request, payment).await?;
        }
        return Ok(Settlement::Duplicate);
    }
    match result {
        StkResult::Paid(payment) => {
            if let Some((receipt, road)) = booked_already(conn, &request, payment).await? {
                taken::close(conn, &request, &receipt, &road, by).await?;
                metrics::counter!(MPESA_STK_FLAGS, "reason" => "receipt_taken").increment(1);
                return Ok(Settlement::Duplicate);
            }
            let flags = book::book(conn, texts, &request, payment, by).await?;
            record_delay(&request, by);
            for flag in &flags {
                metrics::counter!(MPESA_STK_FLAGS, "reason" => flag.label()).increment(1);
            }
            Ok(Settlement::Booked {
                flagged: !flags.is_empty(),
            })
        }
        StkResult::Failed { code, desc } => {
            fail::fail(conn, texts, &request, code, desc, by).await?;
            record_delay(&request, by);
            Ok(Settlement::Failed)
        }
    }
}

/// The receipt and road that booked this payment already, if one did: the
/// callback's receipt in the registry, or, for a query's answer (which
/// names no receipt), a paybill confirmation booked while the request was
/// pending that names it (`c2b::push_payment`).
async fn booked_already(
    conn: &mut PgConnection,
    request: &request::Request,
    payment: &Payment,
) -> Result<Option<(String, String)>, sqlx::Error> {
    Ok(match &payment.receipt {
        Some(receipt) => request::registered(conn, receipt)
            .await?
            .map(|(road, _)| (receipt.clone(), road)),
        None => request::paybill_naming(conn, request.id)
            .await?
            .map(|receipt| (receipt, "c2b".to_owned())),
    })
}

/// Time from the push to the callback that settled it.
fn record_delay(request: &request::Request, by: SettledBy) {
    if by == SettledBy::Callback {
        let delay = (Utc::now() - request.pushed_at).num_milliseconds().max(0) as f64 / 1000.0;
        metrics::histogram!(MPESA_STK_CALLBACK_DELAY).record(delay);
    }
}
