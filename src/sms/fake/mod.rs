//! `FakeSms`: a fake Africa's Talking that speaks HTTP, for `dev`, the tests
//! and the benchmarks.
//!
//! It serves AT's `POST /version1/messaging` (protocols.md 2.1-2.2) on its
//! own listener: it checks requests as AT does, answers 201 with AT's JSON
//! and per-recipient statuses, honours `Idempotency-Key` (a replay gets the
//! stored answer and sends nothing), can be told to fail, and posts delivery
//! reports to the gateway after a delay. The gateway reaches it through the
//! real [`AtSmsClient`], so every test SMS crosses HTTP. Fake-only routes
//! (`/fake/sms`, `/fake/stats`, `/fake/fail`) list what was sent and steer
//! it from another process. `pesachama fake-at` runs it on its own.
//!
//! - `check.rs`: what AT refuses; `send.rs`: accepting and answering a send;
//!   `routes.rs`: the HTTP mapping; `plan.rs`: failures and delivery plans;
//!   `reports.rs`: the delivery-report poster; `listing.rs`: the fake-only
//!   routes; `standalone.rs`: the `fake-at` command.

mod check;
mod listing;
mod plan;
mod reports;
mod routes;
mod send;
mod standalone;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_failures;
#[cfg(test)]
mod tests_reports;

use std::collections::{HashMap, HashSet};
use std::hash::RandomState;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::serve::ListenerExt;
use chrono::{DateTime, Utc};
use reqwest::Url;
use secrecy::SecretString;
use tokio::sync::broadcast;

use super::AtSmsClient;
use super::client::DEFAULT_REQUEST_TIMEOUT;
use crate::config::AtSettings;
use crate::phone::Msisdn;

pub use listing::Stats;
pub use plan::{DeliveryPlan, Failure, ReportStep};
pub use standalone::{FakeAtArgs, print_sent, run as run_standalone};

use plan::{FailurePlan, Refusal};
use send::AnswerCache;

/// How long the gateway's client waits on the in-process fake: long enough
/// for a loaded test machine, short enough that a planned
/// [`Failure::Timeout`] costs a test two seconds, not thirty.
pub const FAKE_CLIENT_TIMEOUT: Duration = Duration::from_secs(2);

/// How a fake starts.
#[derive(Debug, Clone)]
pub struct FakeAtConfig {
    /// Where it listens; port 0 picks a free one.
    pub addr: SocketAddr,
    /// The AT username it expects in every send.
    pub username: String,
    /// The key it expects in the `apiKey` header.
    pub api_key: String,
    /// Wait between accepting a message and posting its first delivery report.
    pub report_delay: Duration,
    /// How long a [`Failure::Timeout`] holds its answer: longer than the
    /// client waits.
    pub hold: Duration,
    /// No log line per accepted send (benchmarks).
    pub quiet: bool,
}

impl Default for FakeAtConfig {
    fn default() -> FakeAtConfig {
        FakeAtConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            username: "sandbox".into(),
            api_key: "fake-at-key".into(),
            report_delay: Duration::from_secs(2),
            hold: DEFAULT_REQUEST_TIMEOUT + Duration::from_secs(5),
            quiet: false,
        }
    }
}

/// One message the fake accepted for one number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentSms {
    /// Recipient.
    pub to: Msisdn,
    /// The text as given.
    pub message: String,
    /// The id the fake answered with, as AT's `messageId`.
    pub message_id: String,
    /// When the fake accepted it.
    pub sent_at: DateTime<Utc>,
}

/// A running fake Africa's Talking. Share it behind an `Arc`.
pub struct FakeSms {
    url: String,
    username: String,
    api_key: String,
    hold: Duration,
    quiet: bool,
    /// Random per fake, so two fake processes never hand out the same id.
    id_prefix: String,
    next_id: AtomicU64,
    /// Sends seen, answered or not (`/fake/stats`).
    requests: AtomicU64,
    // A std mutex: held only to read or record, never across an await.
    state: Mutex<State>,
    reports: reports::Poster,
    /// Each accepted message, for whoever prints them (`dev`, `fake-at`).
    watchers: broadcast::Sender<SentSms>,
}

/// An accepted message as kept: the text shared by a bulk send's recipients.
struct Record {
    to: String,
    message: Arc<str>,
    message_id: String,
    sent_at: DateTime<Utc>,
}

struct State {
    sent: Vec<Record>,
    /// Hashes of every (number, text) accepted, to count duplicates.
    seen: HashSet<u64>,
    hasher: RandomState,
    duplicates: u64,
    /// Sends answered from the idempotency store.
    replays: u64,
    failing: Option<FailurePlan>,
    refused: HashMap<String, Refusal>,
    delivery: HashMap<String, DeliveryPlan>,
    report_to: Option<Url>,
    answers: AnswerCache,
}

/// Accepted messages a watcher may fall behind by before it misses some.
const WATCH_BUFFER: usize = 1024;

impl FakeSms {
    /// Binds `config.addr` and serves in a spawned task.
    pub async fn start(config: FakeAtConfig) -> std::io::Result<Arc<FakeSms>> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let fake = Arc::new(FakeSms {
            url: format!("http://{addr}"),
            username: config.username,
            api_key: config.api_key,
            hold: config.hold,
            quiet: config.quiet,
            id_prefix: format!("{:08x}", rand::random::<u32>()),
            next_id: AtomicU64::new(1),
            requests: AtomicU64::new(0),
            state: Mutex::new(State {
                sent: Vec::new(),
                seen: HashSet::new(),
                hasher: RandomState::new(),
                duplicates: 0,
                replays: 0,
                failing: None,
                refused: HashMap::new(),
                delivery: HashMap::new(),
                report_to: None,
                answers: send::answer_cache(),
            }),
            reports: reports::Poster::start(config.report_delay),
            watchers: broadcast::channel(WATCH_BUFFER).0,
        });
        let app = routes::router(fake.clone());
        // A kept-alive connection's next answer must not wait on an ACK
        // (Nagle): benchmarks send thousands of small requests a second.
        let listener = listener.tap_io(|tcp| {
            if let Err(error) = tcp.set_nodelay(true) {
                tracing::debug!(%error, "cannot set TCP_NODELAY on a fake AT connection");
            }
        });
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Africa's Talking stopped serving");
            }
        });
        Ok(fake)
    }

    /// Base URL, e.g. `http://127.0.0.1:PORT`: what `AT_API_URL` would be.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// A real AT client pointed at this fake with its credentials, waiting
    /// [`FAKE_CLIENT_TIMEOUT`] for an answer.
    pub fn client(&self) -> anyhow::Result<AtSmsClient> {
        self.client_waiting(FAKE_CLIENT_TIMEOUT)
    }

    /// [`FakeSms::client`] with another request timeout.
    pub fn client_waiting(&self, timeout: Duration) -> anyhow::Result<AtSmsClient> {
        let settings = AtSettings {
            api_url: self.url.parse()?,
            username: self.username.clone(),
            api_key: SecretString::from(self.api_key.clone()),
            sms_sender: None,
        };
        AtSmsClient::with_timeout(&settings, timeout)
    }

    /// Every accepted recipient, oldest first. (A Kenyan number of the right
    /// shape that the numbering plan does not know is accepted, as by AT,
    /// but cannot be an [`Msisdn`]: it shows in `/fake/sms` only. The
    /// gateway never sends one.)
    pub fn sent(&self) -> Vec<SentSms> {
        self.lock()
            .sent
            .iter()
            .filter_map(Record::to_sent)
            .collect()
    }

    /// Makes the next `times` sends fail with `failure`; later sends succeed
    /// again. Replaces any earlier plan; `times == 0` clears it.
    pub fn fail_next(&self, times: usize, failure: Failure) {
        self.lock().failing = FailurePlan::new(times, failure);
    }

    /// From now on every send refuses `number` with AT's per-recipient
    /// `status_code` and `status` (e.g. 406 `UserInBlacklist`).
    pub fn refuse_number(&self, number: &Msisdn, status_code: u16, status: &str) {
        self.lock().refused.insert(
            number.as_e164().to_owned(),
            Refusal {
                status_code,
                status: status.to_owned(),
            },
        );
    }

    /// Where delivery reports go: the gateway's
    /// `/sms/africastalking/delivery` (with `?token=` when it wants one).
    /// Until this is called, none are posted.
    pub fn report_to(&self, url: Url) {
        self.lock().report_to = Some(url);
    }

    /// The delivery reports for messages to `number` from now on.
    pub fn set_delivery(&self, number: &Msisdn, plan: DeliveryPlan) {
        self.lock()
            .delivery
            .insert(number.as_e164().to_owned(), plan);
    }

    /// Every message accepted from now on, as it is accepted. A watcher that
    /// falls [`WATCH_BUFFER`] behind skips the oldest.
    pub fn watch(&self) -> broadcast::Receiver<SentSms> {
        self.watchers.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere while holding the lock leaves plain data behind;
        // keep serving it rather than failing every later request.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A fresh AT-shaped message id: a counter, not a random draw, so a bulk
    /// send costs no entropy per recipient.
    fn next_message_id(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("ATXid_{}{n:024x}", self.id_prefix)
    }
}

impl Record {
    /// As the caller sees it; parsed from the number cache.
    fn to_sent(&self) -> Option<SentSms> {
        Some(SentSms {
            to: Msisdn::parse_recent(&self.to).ok()?,
            message: self.message.to_string(),
            message_id: self.message_id.clone(),
            sent_at: self.sent_at,
        })
    }
}
