//! Booking a paybill confirmation once: the row as it came, the entry, the
//! receipt registry, the audit row and the member's receipt SMS, in the
//! caller's transaction. A confirmation of an STK push already booked (by
//! its callback, or by a query without its receipt) books nothing; one
//! booked while such a push is pending names it, so its query books nothing.

use std::time::Duration;

use serde_json::{Value, json};
use sqlx::PgConnection;
use uuid::Uuid;

use super::matching::{self, Match, Member};
use super::payment::Payment;
use super::push_payment::{self, Push};
use super::receipts;
use crate::chama::{Actor, record_audit};
use crate::i18n::{Lang, Vars, format_kes};
use crate::ledger::{self, PostingError, accounts};
use crate::phone::Msisdn;
use crate::sms::outbox::{self, QueuedSms};
use crate::sms::templates::Templates;

/// What a confirmation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Confirmed {
    /// Booked to a member's savings; `how` they were found.
    Member { how: &'static str },
    /// Booked to the named chama's suspense account.
    Suspense,
    /// Kept, booked nowhere: no chama is named.
    Unallocated,
    /// This TransID was confirmed before: nothing changed.
    Duplicate,
    /// The receipt was already booked by its STK push: kept, not booked again.
    AlreadyBooked,
    /// The payment of an STK push a query booked without its receipt: the
    /// receipt is attached to that push's entry, nothing booked again.
    ReceiptAttached,
}

impl Confirmed {
    /// A bounded label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Confirmed::Member { .. } => "matched",
            Confirmed::Suspense => "suspense",
            Confirmed::Unallocated => "unallocated",
            Confirmed::Duplicate => "duplicate",
            Confirmed::AlreadyBooked => "already_booked",
            Confirmed::ReceiptAttached => "receipt_attached",
        }
    }
}

/// Why a confirmation could not be booked now.
#[derive(Debug, thiserror::Error)]
pub enum ConfirmError {
    /// Another road booked the same receipt meanwhile: roll back and confirm
    /// again, which then finds it booked.
    #[error("receipt booked concurrently")]
    Raced,
    #[error(transparent)]
    Posting(#[from] PostingError),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Stores and books `payment`. `raw` is the body as posted, kept for audit.
/// `match_window` bounds how far from an STK push a payment may be to be
/// taken for that push's ([`push_payment`]).
pub async fn confirm(
    conn: &mut PgConnection,
    texts: &Templates,
    payment: &Payment,
    raw: &Value,
    match_window: Duration,
) -> Result<Confirmed, ConfirmError> {
    let Some(row) = receipts::insert(conn, payment, raw).await? else {
        return Ok(Confirmed::Duplicate);
    };
    if let Some((chama_id, entry)) = receipts::booked_entry(conn, &payment.trans_id).await? {
        receipts::link(conn, row, Some(chama_id), None, Some(entry), None).await?;
        return Ok(Confirmed::AlreadyBooked);
    }
    let pending = match push_payment::find(conn, payment, match_window).await? {
        Some(Push::QueryBooked(push)) => {
            push_payment::attach(conn, row, &push, payment).await?;
            return Ok(Confirmed::ReceiptAttached);
        }
        Some(Push::Pending(request)) => Some(request),
        None => None,
    };
    let found = matching::find(conn, payment).await?;
    let (chama_id, member, how) = match found {
        Match::Nobody => {
            receipts::link(conn, row, None, None, None, Some("none")).await?;
            audit(conn, None, payment, "mpesa.c2b.unallocated").await?;
            return Ok(Confirmed::Unallocated);
        }
        Match::ChamaOnly { chama_id } => (chama_id, None, "chama_only"),
        Match::Member {
            chama_id,
            member,
            how,
        } => (chama_id, Some(member), how),
    };
    let credit = match &member {
        Some(m) => (accounts::SAVINGS, Some(m.user_id)),
        None => (accounts::SUSPENSE, None),
    };
    let entry = book(conn, chama_id, payment, credit).await?;
    let user = member.as_ref().map(|m| m.user_id);
    receipts::link(conn, row, Some(chama_id), user, Some(entry), Some(how)).await?;
    if let Some(request) = pending {
        push_payment::name_pending(conn, row, request).await?;
    }
    audit(conn, Some(chama_id), payment, "mpesa.c2b.booked").await?;
    match member {
        Some(member) => {
            receipt_sms(conn, texts, chama_id, &member, payment).await?;
            Ok(Confirmed::Member { how })
        }
        None => Ok(Confirmed::Suspense),
    }
}

/// Debits cash at M-Pesa and credits `credit`, and registers the receipt
/// with the entry. Returns the entry.
pub async fn book(
    conn: &mut PgConnection,
    chama_id: Uuid,
    payment: &Payment,
    credit: (i32, Option<Uuid>),
) -> Result<Uuid, ConfirmError> {
    let amount = payment.amount.shillings();
    let lines = ledger::mpesa_receipt_lines(amount, credit.0, credit.1);
    let key = format!("c2b:{}:{}", payment.shortcode, payment.trans_id);
    let when = payment.time.unwrap_or_else(chrono::Utc::now);
    let description = format!("Paybill payment {}", payment.trans_id);
    let ledger::Posting::Posted(entry) =
        ledger::post_entry(conn, chama_id, &key, &description, when, &lines).await?
    else {
        return Err(ConfirmError::Raced);
    };
    if !receipts::register(conn, &payment.trans_id, chama_id, amount, entry).await? {
        return Err(ConfirmError::Raced);
    }
    Ok(entry)
}

async fn audit(
    conn: &mut PgConnection,
    chama_id: Option<Uuid>,
    payment: &Payment,
    action: &str,
) -> Result<(), sqlx::Error> {
    record_audit(
        conn,
        Actor::System,
        action,
        chama_id,
        Some(&payment.trans_id),
        json!({
            "amount": payment.amount.shillings(),
            "shortcode": payment.shortcode,
            "bill_ref": payment.bill_ref,
        }),
    )
    .await
}

/// The member's receipt, in their language, with their savings after it.
async fn receipt_sms(
    conn: &mut PgConnection,
    texts: &Templates,
    chama_id: Uuid,
    member: &Member,
    payment: &Payment,
) -> Result<(), ConfirmError> {
    let phone = Msisdn::from_stored(&member.phone).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    let name = sqlx::query_scalar!("select name from chamas where id = $1", chama_id)
        .fetch_one(&mut *conn)
        .await?;
    let balance = ledger::member_balance(conn, chama_id, member.user_id).await?;
    let lang = Lang::parse(&member.language).unwrap_or_default();
    let vars: Vars = [
        ("chama", name),
        ("amount", format_kes(payment.amount.shillings())),
        ("receipt", payment.trans_id.clone()),
        ("balance", format_kes(balance.savings)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let rendered = texts
        .render(lang, "sms-receipt", &vars)
        .map_err(|e| sqlx::Error::Encode(Box::new(e)))?;
    let dedupe = format!("c2b-receipt:{}:{}", payment.shortcode, payment.trans_id);
    outbox::queue(
        conn,
        QueuedSms {
            chama_id: Some(chama_id),
            user_id: Some(member.user_id),
            phone: &phone,
            message: &rendered.text,
            template: "sms-receipt",
            kind: rendered.kind,
            dedupe_key: &dedupe,
        },
    )
    .await?;
    Ok(())
}
