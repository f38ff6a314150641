//! A paybill confirmation that is an STK push's payment. Safaricom may
//! confirm an STK payment to the paybill's confirmation URL as well as
//! calling back, and when the push has no receipt yet the registry cannot
//! tell the two apart: the callback was lost, and a query (which names no
//! receipt) booked the push or will.
//!
//! So a confirmation first looks for such a push: same chama (the push's
//! account reference is the chama's code), same amount, the member number
//! (if typed) the push's member's, paid by the phone the prompt went to
//! as far as the confirmation's MSISDN can say (C2B v2 masks all but five
//! digits, which must fit), its
//! `TransTime` between the push and the query that booked it (or now),
//! give or take the configured window. Every such push is locked, oldest
//! first:
//!
//! - the oldest one a query booked without its receipt takes the receipt:
//!   registered against its entry, its receipt filled and its no-receipt
//!   flag cleared, as `settle::late_receipt` does for the late callback.
//!   Nothing is posted.
//! - else the confirmation is booked as its own payment, naming the oldest
//!   push still pending (`stk_request_id`): a query that later says that
//!   push was paid books nothing and closes it as paid by this receipt
//!   (`settle::taken`).
//!
//! The push's row lock orders a confirmation against the callback and the
//! query of that push, which lock the same row first: whichever comes
//! second sees what the first did. A callback that registered the receipt
//! first drops the push from the receipt-less ones (the confirmation then
//! tries to book, meets the receipt in the registry, and confirms again as
//! already booked); a query that booked first leaves a push to attach to; a
//! confirmation that named the pending push first is seen by the query.

use std::time::Duration;

use chrono::Utc;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::confirm::ConfirmError;
use super::matching;
use super::payer::Payer;
use super::payment::Payment;
use super::receipts;
use crate::chama::{Actor, record_audit};
use crate::phone::Msisdn;

/// A push booked on a query's word, locked until the caller's transaction ends.
#[derive(Debug, Clone)]
pub struct QueryBooked {
    pub id: Uuid,
    pub checkout_request_id: String,
    pub chama_id: Uuid,
    pub user_id: Uuid,
    pub entry: Uuid,
}

/// The push a confirmation may be the payment of.
#[derive(Debug, Clone)]
pub enum Push {
    /// Booked by a query without its receipt: the confirmation is its receipt.
    QueryBooked(QueryBooked),
    /// Still waiting for its callback or query (this request id).
    Pending(Uuid),
}

/// The push `payment` may be the payment of, locked.
pub async fn find(
    conn: &mut PgConnection,
    payment: &Payment,
    window: Duration,
) -> Result<Option<Push>, sqlx::Error> {
    let Some(account) = &payment.account else {
        return Ok(None);
    };
    let Some(chama_id) = matching::chama_id(conn, account.chama.as_str()).await? else {
        return Ok(None);
    };
    // Every candidate is locked, in push order, so two confirmations of the
    // same amount queue rather than deadlock; the row lock's recheck drops a
    // push whose receipt was attached meanwhile.
    let candidates = sqlx::query!(
        r#"select r.id, r.status, r.checkout_request_id as "checkout_request_id!", r.user_id,
                  r.phone, r.journal_entry_id, m.member_no
             from mpesa_stk_requests r
             join chama_members m on m.chama_id = r.chama_id and m.user_id = r.user_id
            where r.chama_id = $1 and r.amount = $2 and r.checkout_request_id is not null
              and (r.status = 'pending'
                   or (r.status = 'succeeded' and r.settled_by = 'query'
                       and r.mpesa_receipt is null and r.journal_entry_id is not null
                       and r.paid_amount is null))
              and $3 between coalesce(r.pushed_at, r.created_at) - $4 * interval '1 second'
                         and coalesce(r.settled_at, now()) + $4 * interval '1 second'
            order by coalesce(r.pushed_at, r.created_at), r.id
              for update of r"#,
        chama_id,
        payment.amount.shillings(),
        payment.time.unwrap_or_else(Utc::now),
        window.as_secs_f64()
    )
    .fetch_all(conn)
    .await?;
    let payer = &payment.payer;
    let fits: Vec<_> = candidates
        .into_iter()
        .filter(|c| {
            let member_ok = account.member_no.is_none_or(|no| c.member_no == no);
            let payer_ok = Msisdn::from_stored(&c.phone)
                .map_or(*payer == Payer::Unknown, |p| payer.could_be(&p));
            member_ok && payer_ok
        })
        .collect();
    let booked = fits.iter().find_map(|c| {
        let entry = c.journal_entry_id.filter(|_| c.status == "succeeded")?;
        Some(Push::QueryBooked(QueryBooked {
            id: c.id,
            checkout_request_id: c.checkout_request_id.clone(),
            chama_id,
            user_id: c.user_id,
            entry,
        }))
    });
    Ok(booked.or_else(|| fits.first().map(|c| Push::Pending(c.id))))
}

/// Registers the confirmation's receipt with `push`'s entry, fills the
/// push's receipt and clears its flag, and links the confirmation `row` to
/// the same entry.
pub async fn attach(
    conn: &mut PgConnection,
    row: Uuid,
    push: &QueryBooked,
    payment: &Payment,
) -> Result<(), ConfirmError> {
    let amount = payment.amount.shillings();
    if !receipts::register(conn, &payment.trans_id, push.chama_id, amount, push.entry).await? {
        return Err(ConfirmError::Raced);
    }
    sqlx::query!(
        r#"update mpesa_stk_requests set mpesa_receipt = $2, flag = null where id = $1"#,
        push.id,
        payment.trans_id
    )
    .execute(&mut *conn)
    .await?;
    receipts::link(
        conn,
        row,
        Some(push.chama_id),
        Some(push.user_id),
        Some(push.entry),
        Some("stk_query"),
    )
    .await?;
    record_audit(
        conn,
        Actor::System,
        "mpesa.c2b.receipt_attached",
        Some(push.chama_id),
        Some(&payment.trans_id),
        json!({
            "amount": amount,
            "shortcode": payment.shortcode,
            "checkout_request_id": push.checkout_request_id,
            "request_id": push.id,
        }),
    )
    .await?;
    Ok(())
}

/// Names the pending push the booked confirmation `row` may be the payment of.
pub async fn name_pending(
    conn: &mut PgConnection,
    row: Uuid,
    request: Uuid,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update mpesa_c2b_receipts set stk_request_id = $2 where id = $1",
        row,
        request
    )
    .execute(conn)
    .await?;
    Ok(())
}
