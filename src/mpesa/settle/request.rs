//! The request row, locked, with what the member's SMS needs.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::i18n::Lang;
use crate::phone::Msisdn;

/// A locked `mpesa_stk_requests` row and its member and chama.
#[derive(Debug, Clone)]
pub(super) struct Request {
    pub id: Uuid,
    pub checkout_request_id: String,
    pub chama_id: Uuid,
    pub chama_name: String,
    pub user_id: Uuid,
    pub purpose: String,
    pub amount: i64,
    /// The phone the prompt went to.
    pub phone: String,
    pub status: String,
    pub mpesa_receipt: Option<String>,
    pub journal_entry_id: Option<Uuid>,
    /// When the push went out, if it did; else when the request was made.
    pub pushed_at: DateTime<Utc>,
    /// The member's registered phone, where their SMS go.
    pub member_phone: Msisdn,
    pub lang: Lang,
}

impl Request {
    /// Whether a result may still settle it. `unknown` is open too: the
    /// deadline closed it for want of an answer, and an answer that comes
    /// after all (a callback days late) is the truth an official would
    /// otherwise look up by hand; the receipt registry still refuses a
    /// payment the official booked meanwhile.
    pub fn is_open(&self) -> bool {
        matches!(self.status.as_str(), "queued" | "pending" | "unknown")
    }
}

/// Locks the request with this CheckoutRequestID until the caller's
/// transaction ends; `None` when no request has it.
pub(super) async fn lock(
    conn: &mut PgConnection,
    checkout_request_id: &str,
) -> Result<Option<Request>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select r.id, r.chama_id, r.user_id, r.purpose, r.amount, r.phone, r.status,
                  r.mpesa_receipt, r.journal_entry_id,
                  coalesce(r.pushed_at, r.created_at) as "pushed_at!",
                  c.name as chama_name, u.phone as member_phone, u.language
             from mpesa_stk_requests r
             join chamas c on c.id = r.chama_id
             join users u on u.id = r.user_id
            where r.checkout_request_id = $1
              for update of r"#,
        checkout_request_id
    )
    .fetch_optional(conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    // The users table's constraint makes the phone E.164: a phone that does
    // not parse is a row that does not decode.
    let member_phone =
        Msisdn::parse(&row.member_phone).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
    Ok(Some(Request {
        id: row.id,
        checkout_request_id: checkout_request_id.to_owned(),
        chama_id: row.chama_id,
        chama_name: row.chama_name,
        user_id: row.user_id,
        purpose: row.purpose,
        amount: row.amount,
        phone: row.phone,
        status: row.status,
        mpesa_receipt: row.mpesa_receipt,
        journal_entry_id: row.journal_entry_id,
        pushed_at: row.pushed_at,
        member_phone,
        lang: Lang::parse(&row.language).unwrap_or_default(),
    }))
}

/// The receipt of the first booked paybill confirmation that names the
/// request as the push it may have paid (`c2b::push_payment`).
pub(super) async fn paybill_naming(
    conn: &mut PgConnection,
    request: Uuid,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select trans_id from mpesa_c2b_receipts
            where stk_request_id = $1 and journal_entry_id is not null
            order by received_at, id
            limit 1"#,
        request
    )
    .fetch_optional(conn)
    .await
}

/// The road (`stk`, `c2b`) and the entry that booked `receipt` already, if
/// one did.
pub(super) async fn registered(
    conn: &mut PgConnection,
    receipt: &str,
) -> Result<Option<(String, Uuid)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select source, journal_entry_id from mpesa_receipts where receipt = $1"#,
        receipt
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.source, r.journal_entry_id)))
}

/// Serialises everything that concerns one CheckoutRequestID until the
/// caller's transaction ends: settling it, and the push worker writing it
/// down. Without it a callback that comes while the push worker is writing
/// the id finds no request, and is kept as unknown only after the worker
/// has looked for early callbacks (`callback::settle_early`).
pub async fn lock_checkout(
    conn: &mut PgConnection,
    checkout_request_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('stk:' || $1, 0))",
        checkout_request_id
    )
    .execute(conn)
    .await?;
    Ok(())
}
