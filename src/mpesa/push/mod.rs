//! The STK push worker: sends the M-Pesa prompts that members' confirm hops
//! recorded as `queued` intents (`mpesa::record_intent`).
//!
//! Every node runs one. A round takes over intents a dead node left claimed
//! ([`claim::take_over_stuck`]), claims due intents with one `update …
//! for update skip locked` ([`claim::claim_due`]), pushes each through the
//! [`DarajaClient`] and writes the answer back ([`writeback`]):
//!
//! | Daraja's answer | the intent becomes |
//! | --- | --- |
//! | accepted | `pending` with its CheckoutRequestID, queried after `MPESA_QUERY_AFTER_SECS` |
//! | `InvalidRequest` | `failed` (settled by the push), payment-failed SMS queued |
//! | `Busy`, `AuthFailed` | `queued` again after a doubling wait; `failed` after the last attempt |
//! | `Transient`, `BadResponse` | `pending` without ids: the push may have gone out, so it is queried or closed, never pushed again |
//!
//! A hop that records an intent wakes this node's worker at once; the poll
//! finds intents recorded on other nodes.

mod claim;
mod failed_sms;
mod writeback;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::config::MpesaPushSettings;
use crate::phone::Msisdn;
use crate::sms::templates::Templates;
use crate::telemetry::MPESA_STK_PUSHES;

use super::{DarajaClient, MpesaError, StkPushRequest, callback};

pub use claim::Claimed;
pub use failed_sms::Reason;

/// Pause between rounds that found less than a full batch, unless a hop
/// wakes the worker first.
const POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Pause after a round failed (the database is down or failing over).
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// Intents one round claims and pushes side by side.
const BATCH: i64 = 16;
/// Longest wait before pushing again after "busy".
const MAX_BUSY_WAIT: Duration = Duration::from_secs(600);

/// The node's push worker. Cheap to clone.
#[derive(Clone)]
pub struct Pusher {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    client: Arc<dyn DarajaClient>,
    texts: Arc<Templates>,
    settings: MpesaPushSettings,
}

/// What one round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Round {
    /// Intents taken over from a dead node.
    pub taken_over: u64,
    /// Intents claimed and pushed.
    pub pushed: usize,
}

impl Pusher {
    pub fn new(
        db: PgPool,
        client: Arc<dyn DarajaClient>,
        texts: Arc<Templates>,
        settings: MpesaPushSettings,
    ) -> Pusher {
        Pusher {
            inner: Arc::new(Inner {
                db,
                client,
                texts,
                settings,
            }),
        }
    }

    /// Pushes until `shutdown`; a round under way finishes and writes back
    /// first. Database trouble is logged and waited out.
    pub async fn run(self, wake: Arc<Notify>, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            let pause = match self.push_due().await {
                Ok(round) if round.pushed as i64 == BATCH => continue,
                Ok(_) => POLL_INTERVAL,
                Err(error) => {
                    tracing::warn!(%error, "STK push round failed; trying again shortly");
                    ERROR_PAUSE
                }
            };
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = wake.notified() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }

    /// One round: takes over stuck claims, then claims and pushes what is due.
    pub async fn push_due(&self) -> Result<Round, sqlx::Error> {
        let settings = &self.inner.settings;
        let mut conn = self.inner.db.acquire().await?;
        let taken_over =
            claim::take_over_stuck(&mut conn, settings.claim_timeout, settings.query_after).await?;
        if taken_over > 0 {
            tracing::warn!(
                taken_over,
                "STK pushes left claimed by a dead node are now pending"
            );
            metrics::counter!(MPESA_STK_PUSHES, "outcome" => "stuck").increment(taken_over);
        }
        let claimed = claim::claim_due(&mut conn, BATCH).await?;
        drop(conn);
        let pushed = claimed.len();
        let mut pushes = JoinSet::new();
        for row in claimed {
            let pusher = self.clone();
            pushes.spawn(async move { pusher.push_one(row).await });
        }
        while let Some(done) = pushes.join_next().await {
            match done {
                Ok(Ok(())) => {}
                // The row stays claimed and is taken over as stuck: the
                // push may have gone out.
                Ok(Err(error)) => tracing::warn!(%error, "cannot write back an STK push"),
                Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
                Err(_) => {}
            }
        }
        Ok(Round { taken_over, pushed })
    }

    /// Pushes one claimed intent and writes what Daraja said.
    async fn push_one(&self, row: Claimed) -> Result<(), sqlx::Error> {
        let settings = &self.inner.settings;
        let answer = match request(&row) {
            Ok(request) => self.inner.client.stk_push(request).await,
            Err(refused) => Err(refused),
        };
        let mut tx = self.inner.db.begin().await?;
        let mut accepted = None;
        let outcome = match answer {
            Ok(ids) => {
                // A callback for this id waits until the id is written.
                crate::mpesa::settle::lock_checkout(&mut tx, &ids.checkout_request_id).await?;
                writeback::accepted(&mut tx, row.id, &ids, settings.query_after).await?;
                accepted = Some(ids.checkout_request_id);
                "accepted"
            }
            Err(MpesaError::InvalidRequest(why)) => {
                tracing::info!(request.id = %row.id, %why, "Daraja refused an STK push");
                self.fail(&mut tx, &row, &why, Reason::Refused).await?;
                "refused"
            }
            Err(error @ (MpesaError::Busy(_) | MpesaError::AuthFailed)) => {
                if matches!(error, MpesaError::AuthFailed) {
                    tracing::error!(%error, "Daraja refused our credentials; STK pushes wait");
                }
                if row.push_attempts >= settings.max_busy_attempts as i32 {
                    self.fail(&mut tx, &row, &error.to_string(), Reason::Busy)
                        .await?;
                    "gave_up"
                } else {
                    let wait = busy_wait(settings.busy_backoff, row.push_attempts);
                    writeback::retry_later(&mut tx, row.id, wait).await?;
                    "busy"
                }
            }
            Err(error @ (MpesaError::Transient(_) | MpesaError::BadResponse(_))) => {
                tracing::warn!(request.id = %row.id, %error, "STK push unanswered; it will be queried, not pushed again");
                writeback::unsure(&mut tx, row.id, settings.query_after).await?;
                "unsure"
            }
        };
        tx.commit().await?;
        metrics::counter!(MPESA_STK_PUSHES, "outcome" => outcome).increment(1);
        if let Some(checkout) = accepted {
            self.settle_early(&checkout).await;
        }
        Ok(())
    }

    /// Settles the push from a callback that came before its id was
    /// written, if one did. A failure here only leaves the request to the
    /// reconciliation query.
    async fn settle_early(&self, checkout: &str) {
        let settled = async {
            let mut tx = self.inner.db.begin().await?;
            let early = callback::settle_early(&mut tx, &self.inner.texts, checkout).await?;
            tx.commit().await?;
            Ok::<_, crate::mpesa::settle::SettleError>(early)
        };
        match settled.await {
            Ok(Some(settlement)) => {
                tracing::info!(
                    outcome = settlement.as_str(),
                    "STK push settled from a callback that came first"
                );
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "an early STK callback could not be applied; the query will settle the push");
            }
        }
    }

    async fn fail(
        &self,
        tx: &mut sqlx::PgConnection,
        row: &Claimed,
        why: &str,
        reason: Reason,
    ) -> Result<(), sqlx::Error> {
        let why: String = why.chars().take(MAX_REASON).collect();
        if writeback::failed(tx, row.id, &why).await? {
            failed_sms::queue_failed_sms(tx, &self.inner.texts, row.id, reason).await?;
        }
        Ok(())
    }
}

/// Longest reason kept on a failed request.
const MAX_REASON: usize = 200;

/// The push Daraja is asked for, or why it would refuse it.
fn request(row: &Claimed) -> Result<StkPushRequest, MpesaError> {
    let phone = Msisdn::parse(&row.phone)
        .map_err(|_| MpesaError::InvalidRequest("the payer's phone does not parse".into()))?;
    StkPushRequest::new(
        phone,
        row.amount,
        &row.account_reference,
        description(&row.purpose),
    )
}

/// Daraja's `TransactionDesc` (at most 13 characters) for a purpose.
fn description(purpose: &str) -> &'static str {
    match purpose {
        "contribution" => "Contribution",
        "fine" => "Fine",
        "loan_repayment" => "Loan repay",
        _ => "Payment",
    }
}

/// The wait after the `attempt`-th push found Daraja busy: doubling from
/// `base`, at most [`MAX_BUSY_WAIT`].
fn busy_wait(base: Duration, attempt: i32) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(16);
    base.saturating_mul(1 << doublings).min(MAX_BUSY_WAIT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_fits_daraja() {
        for purpose in ["contribution", "fine", "loan_repayment", "welfare"] {
            assert!(
                description(purpose).len() <= crate::mpesa::MAX_DESCRIPTION,
                "{purpose}"
            );
        }
    }

    #[test]
    fn the_busy_wait_doubles_up_to_its_cap() {
        let base = Duration::from_secs(30);
        assert_eq!(busy_wait(base, 1), Duration::from_secs(30));
        assert_eq!(busy_wait(base, 2), Duration::from_secs(60));
        assert_eq!(busy_wait(base, 3), Duration::from_secs(120));
        assert_eq!(busy_wait(base, 40), MAX_BUSY_WAIT);
        assert_eq!(busy_wait(base, 0), Duration::from_secs(30));
    }
}
