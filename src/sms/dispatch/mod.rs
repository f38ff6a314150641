//! The dispatcher: background workers on every node that send the outbox.
//!
//! A worker claims due rows in batches ([`claim`]), groups identical texts
//! into bulk requests, sends them at the node's pace ([`rate`]) with a bounded
//! number in flight, and writes each request's outcome back in one statement
//! ([`writeback`]). Rows a dead node left in `sending` are taken back
//! ([`reclaim`]). What an answer means for a row is in [`outcome`].

pub(crate) mod backoff;
mod claim;
pub mod depth;
mod outcome;
mod rate;
mod reclaim;
mod send;
mod writeback;

use std::sync::Arc;
use std::time::Duration;

use sqlx::PgPool;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::config::SmsSettings;
use crate::labels::BoundedLabels;
use crate::sms::SmsClient;
use crate::telemetry::SMS_RECLAIMED;

pub use reclaim::Reclaimed;

/// Pause between claims when the last one found less than a full batch.
const POLL_INTERVAL: Duration = Duration::from_millis(200);
/// Pause after a claim failed (the database is down or failing over), so
/// the log gets a line every few seconds, not five a second.
const ERROR_PAUSE: Duration = Duration::from_secs(5);
/// How often the depth gauges are refreshed.
const DEPTH_INTERVAL: Duration = Duration::from_secs(15);
/// Longest pause between looks for rows left by a dead node.
const RECLAIM_INTERVAL: Duration = Duration::from_secs(30);
/// Distinct template names that get their own metric label. Templates come
/// from the locale files, a few dozen; a surprise beyond that is `other`.
const TEMPLATE_LABELS: usize = 64;

/// The node's SMS dispatcher. Cheap to clone; clones share the pace and the
/// in-flight limit.
#[derive(Clone)]
pub struct Dispatcher {
    inner: Arc<Inner>,
}

struct Inner {
    db: PgPool,
    client: Arc<dyn SmsClient>,
    settings: SmsSettings,
    pace: rate::Pace,
    in_flight: Arc<Semaphore>,
    templates: BoundedLabels,
}

/// What one claim did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Claimed {
    pub rows: usize,
    pub requests: usize,
}

impl Dispatcher {
    /// A dispatcher sending `db`'s outbox through `client`.
    pub fn new(db: PgPool, client: Arc<dyn SmsClient>, settings: SmsSettings) -> Dispatcher {
        Dispatcher {
            inner: Arc::new(Inner {
                pace: rate::Pace::new(settings.rate_per_sec),
                in_flight: Arc::new(Semaphore::new(settings.concurrency.max(1) as usize)),
                templates: BoundedLabels::new(TEMPLATE_LABELS),
                db,
                client,
                settings,
            }),
        }
    }

    /// Sends until `shutdown`, then lets the requests in flight finish and
    /// write their outcome. Database trouble is logged and waited out.
    ///
    /// `claimers` loops claim side by side: a claim is one statement that
    /// PostgreSQL runs on one core, and with a single loop the claims, not
    /// the provider, bounded a bulk send. Skip-locked claims never overlap.
    /// One more loop takes back rows of dead nodes and publishes the depth.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut claimers = JoinSet::new();
        for _ in 0..self.inner.settings.claimers.max(1) {
            claimers.spawn(self.clone().claim_loop(shutdown.clone()));
        }
        tokio::select! {
            _ = self.upkeep(&shutdown) => {}
            // A claim loop ends only on shutdown; one that ends early (a
            // panic) ends the dispatcher, which the supervisor reports.
            Some(ended) = claimers.join_next() => {
                shutdown.cancel();
                if let Err(error) = ended {
                    if error.is_panic() {
                        std::panic::resume_unwind(error.into_panic());
                    }
                }
            }
        }
        while claimers.join_next().await.is_some() {}
    }

    /// Takes back rows of dead nodes and refreshes the depth gauges until
    /// shutdown.
    async fn upkeep(&self, shutdown: &CancellationToken) {
        let reclaim_every = (self.inner.settings.sending_timeout / 4).min(RECLAIM_INTERVAL);
        let mut reclaim = tokio::time::interval(reclaim_every);
        let mut depth = tokio::time::interval(DEPTH_INTERVAL);
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = reclaim.tick() => {
                    if let Err(error) = self.reclaim().await {
                        tracing::warn!(%error, "cannot take back stuck SMS rows");
                    }
                }
                _ = depth.tick() => self.publish_depth().await,
            }
        }
    }

    /// Claims and sends until shutdown, then waits for its requests.
    async fn claim_loop(self, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        while !shutdown.is_cancelled() {
            let pause = match self.claim_and_spawn(&mut tasks).await {
                Ok(claimed) if claimed.rows >= self.claim_limit() => None,
                Ok(_) => Some(POLL_INTERVAL),
                Err(error) => {
                    tracing::warn!(%error, "cannot claim SMS rows");
                    Some(ERROR_PAUSE)
                }
            };
            while tasks.try_join_next().is_some() {}
            if let Some(pause) = pause {
                tokio::select! {
                    _ = shutdown.cancelled() => {}
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
        while tasks.join_next().await.is_some() {}
    }

    /// Claims and sends until nothing is due, waiting for every answer. For
    /// tests and tools; the running node uses [`Dispatcher::run`].
    pub async fn drain_once(&self) -> Result<Claimed, sqlx::Error> {
        let mut total = Claimed::default();
        loop {
            let mut tasks = JoinSet::new();
            let claimed = self.claim_and_spawn(&mut tasks).await?;
            while let Some(done) = tasks.join_next().await {
                if let Err(error) = done {
                    tracing::error!(%error, "an SMS request task failed");
                }
            }
            if claimed.rows == 0 {
                return Ok(total);
            }
            total.rows += claimed.rows;
            total.requests += claimed.requests;
        }
    }

    /// Takes back rows stuck in `sending` beyond the sending timeout.
    pub async fn reclaim(&self) -> Result<Reclaimed, sqlx::Error> {
        let mut conn = self.inner.db.acquire().await?;
        let reclaimed = reclaim::reclaim(&mut conn, self.inner.settings.sending_timeout).await?;
        if reclaimed != Reclaimed::default() {
            metrics::counter!(SMS_RECLAIMED, "to" => "queued").increment(reclaimed.requeued);
            metrics::counter!(SMS_RECLAIMED, "to" => "parked").increment(reclaimed.parked);
            tracing::warn!(
                requeued = reclaimed.requeued,
                parked = reclaimed.parked,
                "took back SMS rows a node left in sending"
            );
        }
        Ok(reclaimed)
    }

    /// Claims one batch and starts its requests; each waits for an in-flight
    /// slot here, so a slow provider slows the claims instead of piling up
    /// claimed rows. One writer per claim writes back whatever requests have
    /// finished since its last write, in one statement.
    async fn claim_and_spawn(&self, tasks: &mut JoinSet<()>) -> Result<Claimed, sqlx::Error> {
        let rows = {
            let mut conn = self.inner.db.acquire().await?;
            claim::claim(&mut conn, Uuid::new_v4(), self.claim_limit() as i64).await?
        };
        let rows_claimed = rows.len();
        let (requests, unreadable) = claim::group(rows);
        self.sender().fail_unreadable(&unreadable).await?;
        let claimed = Claimed {
            rows: rows_claimed,
            requests: requests.len(),
        };
        let (answers, finished) = mpsc::unbounded_channel();
        for request in requests {
            let Ok(permit) = self.inner.in_flight.clone().acquire_owned().await else {
                break;
            };
            let this = self.clone();
            let answers = answers.clone();
            tasks.spawn(async move {
                this.inner.pace.take(request.recipients.len()).await;
                let settled = this.sender().send(request).await;
                drop(permit);
                // The writer outlives every sender of its claim.
                let _ = answers.send(settled);
            });
        }
        drop(answers);
        let this = self.clone();
        tasks.spawn(async move { this.write_back(finished).await });
        Ok(claimed)
    }

    /// Writes the outcomes of one claim's requests as they finish: all that
    /// are ready at once in one statement.
    async fn write_back(&self, mut finished: mpsc::UnboundedReceiver<Vec<send::Settlement>>) {
        while let Some(mut settled) = finished.recv().await {
            while let Ok(more) = finished.try_recv() {
                settled.extend(more);
            }
            if let Err(error) = self.sender().write(&settled).await {
                tracing::warn!(%error, "cannot write SMS outcomes; the rows will be taken back");
            }
        }
    }

    fn claim_limit(&self) -> usize {
        let s = &self.inner.settings;
        rate::claim_limit(s.batch_size, s.rate_per_sec, s.sending_timeout) as usize
    }

    fn sender(&self) -> send::Sender<'_> {
        let s = &self.inner.settings;
        send::Sender {
            db: &self.inner.db,
            client: self.inner.client.as_ref(),
            policy: writeback::RetryPolicy {
                max_attempts: s.max_attempts,
                base: s.retry_base,
                max: s.retry_max,
            },
            templates: &self.inner.templates,
        }
    }

    async fn publish_depth(&self) {
        let depth = match self.inner.db.acquire().await {
            Ok(mut conn) => depth::read(&mut conn).await,
            Err(error) => Err(error),
        };
        match depth {
            Ok(depth) => depth::publish(&depth),
            Err(error) => tracing::debug!(%error, "cannot read the outbox depth"),
        }
    }
}
