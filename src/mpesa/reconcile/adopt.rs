//! Orphans: pending requests whose push went out but whose CheckoutRequestID
//! was never written (the node died waiting for Daraja's answer, or the
//! answer was lost). They cannot be queried, and their success callback
//! named an id we never learnt, so it was kept as `unknown`.
//!
//! A success callback says who paid and how much (`PhoneNumber`, `Amount`),
//! so an orphan is paired with a kept callback of its phone and amount that
//! came after its push and names no request of ours. Only a pair that is
//! alone on both sides is adopted: the orphan takes the callback's id
//! (unique, so no callback is adopted twice) and is settled from it as a
//! late callback would have been. Two orphans or two callbacks that fit
//! each other are left to the deadline and an official. A failure callback
//! carries neither phone nor amount, and nobody paid: its orphan is closed
//! as `unknown` at the deadline like before.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::chama::{Actor, record_audit};
use crate::mpesa::callback::{self, Callback};
use crate::mpesa::settle::{self, SettleError, Settlement, StkResult};
use crate::phone::Msisdn;
use crate::sms::templates::Templates;
use crate::state::AppState;
use crate::telemetry::MPESA_RECONCILIATIONS;

/// A pending request without a CheckoutRequestID.
#[derive(Debug, Clone)]
struct Orphan {
    id: Uuid,
    chama_id: Uuid,
    phone: Option<Msisdn>,
    amount: i64,
    since: DateTime<Utc>,
}

/// A kept success callback naming no request of ours.
#[derive(Debug, Clone)]
struct Kept {
    checkout_request_id: String,
    phone: Msisdn,
    amount: i64,
    received_at: DateTime<Utc>,
}

impl Kept {
    fn fits(&self, orphan: &Orphan) -> bool {
        orphan.phone.as_ref() == Some(&self.phone)
            && orphan.amount == self.amount
            && self.received_at >= orphan.since
    }
}

/// Adopts what can be adopted among up to `limit` orphans; returns how
/// many were settled. Callbacks older than `deadline` (plus a margin) are
/// not looked at: their orphans are closed by then.
pub(super) async fn adopt_orphans(
    app: &AppState,
    deadline: Duration,
    limit: i64,
) -> Result<usize, SettleError> {
    let mut conn = app.db.acquire().await?;
    let orphans = orphans(&mut conn, limit).await?;
    if orphans.is_empty() {
        return Ok(0);
    }
    let kept = kept_callbacks(&mut conn, deadline * 2).await?;
    drop(conn);
    let mut adopted = 0;
    for (orphan, callback) in pairs(&orphans, &kept) {
        if adopt_one(app, orphan, callback).await? {
            adopted += 1;
        }
    }
    Ok(adopted)
}

/// The pairs alone on both sides.
fn pairs<'a>(orphans: &'a [Orphan], kept: &'a [Kept]) -> Vec<(&'a Orphan, &'a Kept)> {
    orphans
        .iter()
        .filter_map(|orphan| {
            let mut fits = kept.iter().filter(|k| k.fits(orphan));
            let (Some(only), None) = (fits.next(), fits.next()) else {
                return None;
            };
            let claimants = orphans.iter().filter(|o| only.fits(o)).count();
            (claimants == 1).then_some((orphan, only))
        })
        .collect()
}

/// Writes the callback's id on the orphan and settles it from the kept
/// callback, in one transaction; false when the orphan moved on meanwhile
/// (its worker wrote an id, or the deadline closed it).
async fn adopt_one(app: &AppState, orphan: &Orphan, kept: &Kept) -> Result<bool, SettleError> {
    let mut tx = app.db.begin().await?;
    let adopted = match adopt_in(&mut tx, &app.sms_texts, orphan, kept).await {
        Err(SettleError::ReceiptTaken) => {
            // Another road booked the receipt meanwhile: settling again
            // sees it and closes the orphan without booking.
            tx.rollback().await?;
            tx = app.db.begin().await?;
            adopt_in(&mut tx, &app.sms_texts, orphan, kept).await?
        }
        other => other?,
    };
    if !adopted {
        return Ok(false);
    }
    tx.commit().await?;
    metrics::counter!(MPESA_RECONCILIATIONS, "result" => "adopted").increment(1);
    tracing::warn!(
        request.id = %orphan.id,
        "STK request without its CheckoutRequestID settled from the callback that named it"
    );
    Ok(true)
}

async fn adopt_in(
    conn: &mut PgConnection,
    texts: &Templates,
    orphan: &Orphan,
    kept: &Kept,
) -> Result<bool, SettleError> {
    let id = &kept.checkout_request_id;
    settle::lock_checkout(conn, id).await?;
    if !write_id(conn, orphan.id, id).await? {
        return Ok(false);
    }
    let settled = callback::settle_early(conn, texts, id).await?;
    record_audit(
        conn,
        Actor::System,
        "mpesa.stk.callback_adopted",
        Some(orphan.chama_id),
        Some(&orphan.id.to_string()),
        json!({
            "checkout_request_id": id,
            "amount": kept.amount,
            "outcome": settled.map_or("none", Settlement::as_str),
        }),
    )
    .await?;
    Ok(true)
}

/// Gives the orphan `checkout_request_id` while it is still an orphan.
async fn write_id(
    conn: &mut PgConnection,
    orphan: Uuid,
    checkout_request_id: &str,
) -> Result<bool, sqlx::Error> {
    let written = sqlx::query!(
        r#"update mpesa_stk_requests
              set checkout_request_id = $2, pushed_at = coalesce(pushed_at, claimed_at, created_at)
            where id = $1 and status = 'pending' and checkout_request_id is null"#,
        orphan,
        checkout_request_id
    )
    .execute(conn)
    .await?;
    Ok(written.rows_affected() == 1)
}

async fn orphans(conn: &mut PgConnection, limit: i64) -> Result<Vec<Orphan>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, chama_id, phone, amount, coalesce(claimed_at, created_at) as "since!"
             from mpesa_stk_requests
            where status = 'pending' and checkout_request_id is null
            order by created_at
            limit $1"#,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Orphan {
            id: r.id,
            chama_id: r.chama_id,
            phone: Msisdn::from_stored(&r.phone).ok(),
            amount: r.amount,
            since: r.since,
        })
        .collect())
}

/// Success callbacks of the last `within` that named no request of ours.
async fn kept_callbacks(
    conn: &mut PgConnection,
    within: Duration,
) -> Result<Vec<Kept>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select distinct on (c.checkout_request_id) c.raw, c.received_at
             from mpesa_stk_callbacks c
            where c.outcome = 'unknown' and c.result_code = '0'
              and c.received_at > now() - make_interval(secs => $1)
              and not exists (select 1 from mpesa_stk_requests r
                               where r.checkout_request_id = c.checkout_request_id)
            order by c.checkout_request_id, c.id"#,
        within.as_secs_f64()
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let Callback {
                checkout_request_id,
                result: StkResult::Paid(payment),
                ..
            } = callback::parse(r.raw.to_string().as_bytes()).ok()?
            else {
                return None;
            };
            Some(Kept {
                checkout_request_id,
                phone: payment.phone?,
                amount: payment.amount?,
                received_at: r.received_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(n: u32) -> Msisdn {
        Msisdn::parse(&format!("07110000{n:02}")).unwrap()
    }

    fn orphan(n: u32, amount: i64) -> Orphan {
        Orphan {
            id: Uuid::new_v4(),
            chama_id: Uuid::nil(),
            phone: Some(phone(n)),
            amount,
            since: DateTime::UNIX_EPOCH,
        }
    }

    fn kept(id: &str, n: u32, amount: i64) -> Kept {
        Kept {
            checkout_request_id: id.into(),
            phone: phone(n),
            amount,
            received_at: DateTime::UNIX_EPOCH + chrono::TimeDelta::seconds(5),
        }
    }

    #[test]
    fn only_pairs_alone_on_both_sides_are_adopted() {
        let orphans = [
            orphan(1, 700),
            orphan(2, 500),
            orphan(2, 500),
            orphan(3, 100),
        ];
        let kept = [
            kept("a", 1, 700),
            kept("b", 2, 500),
            kept("c", 3, 100),
            kept("d", 3, 100),
            kept("e", 4, 700),
        ];
        let pairs: Vec<_> = pairs(&orphans, &kept)
            .into_iter()
            .map(|(o, k)| (o.id, k.checkout_request_id.as_str()))
            .collect();
        assert_eq!(pairs, [(orphans[0].id, "a")]);
    }

    #[test]
    fn a_callback_before_the_push_or_of_another_amount_does_not_fit() {
        let mut late = orphan(1, 700);
        late.since = DateTime::UNIX_EPOCH + chrono::TimeDelta::seconds(10);
        assert!(!kept("a", 1, 700).fits(&late));
        assert!(!kept("a", 1, 701).fits(&orphan(1, 700)));
        assert!(!kept("a", 2, 700).fits(&orphan(1, 700)));
        assert!(kept("a", 1, 700).fits(&orphan(1, 700)));
    }
}
