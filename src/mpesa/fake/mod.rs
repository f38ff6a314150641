//! `FakeDaraja`: a fake Safaricom Daraja that speaks HTTP, for `dev`, the
//! tests and the benchmarks.
//!
//! It serves Daraja's endpoints on its own listener (protocols.md 3): OAuth
//! tokens that expire, STK push and query checked as Daraja checks them, C2B
//! URL registration and Transaction Status. It then behaves as Safaricom
//! does afterwards: posts each push's callback to its `CallBackURL` after a
//! delay, with an outcome chosen per phone (any result code, duplicate
//! copies, none at all, a late one, a wrong amount), posts C2B validation and
//! confirmation for payments made with `POST /fake/c2b`, and posts
//! Transaction Status results. The gateway reaches it through the real
//! [`DarajaHttpClient`], so every test payment crosses HTTP. `/fake/...`
//! routes list what it did and steer it from another process;
//! `pesachama fake-daraja` runs it on its own.
//!
//! - `check.rs`: what Daraja refuses; `token.rs`: OAuth; `stk.rs`: push and
//!   query; `outcome.rs`: outcomes and callback plans; `poster.rs`: posting
//!   callbacks; `c2b.rs`: paybill payments; `status.rs`: Transaction Status;
//!   `listing.rs`: the fake-only routes; `steer.rs`: the same from inside
//!   the process; `standalone.rs`: `fake-daraja`.

mod c2b;
mod check;
mod listing;
mod outcome;
mod poster;
mod standalone;
mod status;
mod steer;
mod stk;
#[cfg(test)]
mod tests;
mod token;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use chrono::{DateTime, Utc};
use rand::Rng;
use secrecy::SecretString;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::DarajaHttpClient;
use crate::config::MpesaSettings;

pub use c2b::{C2bPayment, C2bPaymentResult};
pub use listing::Stats;
pub use outcome::{CallbackPlan, FakeOutcome, FakePlan, RecordedPush};
pub use poster::{CallbackKind, PostedCallback};
pub use standalone::{FakeDarajaArgs, run as run_standalone};

/// Daraja's public sandbox paybill and its published passkey.
pub const SANDBOX_SHORTCODE: &str = "174379";
pub const SANDBOX_PASSKEY: &str =
    "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";
/// Daraja's token lifetime (protocols.md 3.1).
pub const DARAJA_TOKEN_LIFETIME: Duration = Duration::from_secs(3599);
/// How long the gateway's client waits on the in-process fake: long enough
/// for a loaded test machine, short enough for a test to see a timeout.
pub const FAKE_CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest request body the fake reads; Daraja's requests are under 1 KB.
const MAX_BODY: usize = 16 * 1024;

/// How a fake starts.
#[derive(Debug, Clone)]
pub struct FakeDarajaConfig {
    /// Where it listens; port 0 picks a free one.
    pub addr: SocketAddr,
    pub consumer_key: String,
    pub consumer_secret: String,
    /// The paybill it serves, and its Lipa Na M-Pesa Online passkey.
    pub shortcode: String,
    pub passkey: String,
    /// How long an issued token is accepted.
    pub token_lifetime: Duration,
    /// External validation of C2B payments (off by default at Safaricom).
    pub c2b_validation: bool,
    /// No log line per push or callback (benchmarks).
    pub quiet: bool,
}

impl Default for FakeDarajaConfig {
    fn default() -> FakeDarajaConfig {
        FakeDarajaConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            consumer_key: "fake-consumer-key".into(),
            consumer_secret: "fake-consumer-secret".into(),
            shortcode: SANDBOX_SHORTCODE.into(),
            passkey: SANDBOX_PASSKEY.into(),
            token_lifetime: DARAJA_TOKEN_LIFETIME,
            c2b_validation: false,
            quiet: false,
        }
    }
}

/// A running fake Daraja. Share it behind an `Arc`.
pub struct FakeDaraja {
    url: String,
    config: FakeDarajaConfig,
    /// Posts callbacks; its own timeout, like Safaricom's.
    http: reqwest::Client,
    /// No log line per push or callback; starts as `config.quiet`.
    quiet: AtomicBool,
    counters: Counters,
    // A std mutex: held only to read or record, never across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    token_requests: AtomicU64,
    refused: AtomicU64,
    queries: AtomicU64,
    serial: AtomicU64,
}

#[derive(Default)]
struct State {
    /// The one valid token: each token request invalidates the previous
    /// one (protocols.md 3.1).
    token: Option<(String, Instant)>,
    pushes: Vec<Push>,
    default_plan: FakePlan,
    per_phone: HashMap<String, FakePlan>,
    callbacks: Vec<PostedCallback>,
    /// Registered C2B URLs by shortcode.
    c2b_urls: HashMap<String, c2b::Registration>,
    /// Every receipt issued (STK and C2B), for Transaction Status.
    receipts: HashMap<String, Receipt>,
    c2b_validation: bool,
    /// Sum of the C2B payments completed, for `OrgAccountBalance`.
    paybill_balance: i64,
}

/// A push as the fake keeps it.
struct Push {
    record: RecordedPush,
    plan: FakePlan,
    /// From then on the query reports the outcome.
    decided_at: Instant,
    /// Told when a query has reported the outcome (for late callbacks).
    queried: Arc<Notify>,
}

/// A payment the fake completed, by receipt.
#[derive(Debug, Clone)]
struct Receipt {
    amount: i64,
    /// `2547…`, as Daraja writes a payer.
    phone: String,
    at: DateTime<Utc>,
}

impl FakeDaraja {
    /// Binds `config.addr` and serves in a spawned task.
    pub async fn start(config: FakeDarajaConfig) -> std::io::Result<Arc<FakeDaraja>> {
        let listener = tokio::net::TcpListener::bind(config.addr).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(poster::POST_TIMEOUT)
            .build()
            .map_err(std::io::Error::other)?;
        let fake = Arc::new(FakeDaraja {
            url: format!("http://{addr}"),
            http,
            quiet: AtomicBool::new(config.quiet),
            counters: Counters::default(),
            state: Mutex::new(State {
                c2b_validation: config.c2b_validation,
                ..State::default()
            }),
            config,
        });
        let app = router(fake.clone());
        tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                tracing::error!(%error, "fake Daraja stopped serving");
            }
        });
        Ok(fake)
    }

    /// Base URL, e.g. `http://127.0.0.1:PORT`: what `MPESA_API_URL` would be.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Settings that reach this fake with its credentials, Daraja posting to
    /// `callback_url` with `callback_token` in the path.
    pub fn settings(
        &self,
        callback_url: reqwest::Url,
        callback_token: SecretString,
    ) -> anyhow::Result<MpesaSettings> {
        Ok(MpesaSettings {
            api_url: self.url.parse()?,
            consumer_key: SecretString::from(self.config.consumer_key.clone()),
            consumer_secret: SecretString::from(self.config.consumer_secret.clone()),
            shortcode: self.config.shortcode.clone(),
            passkey: SecretString::from(self.config.passkey.clone()),
            callback_url,
            callback_token,
        })
    }

    /// The real client pointed at this fake, waiting [`FAKE_CLIENT_TIMEOUT`].
    pub fn client(
        &self,
        callback_url: reqwest::Url,
        callback_token: SecretString,
    ) -> anyhow::Result<DarajaHttpClient> {
        DarajaHttpClient::with_timeout(
            &self.settings(callback_url, callback_token)?,
            FAKE_CLIENT_TIMEOUT,
        )
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Plain data: a panic elsewhere leaves nothing half-updated worth refusing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether each push and callback is logged.
    fn chatty(&self) -> bool {
        !self.quiet.load(Ordering::Relaxed)
    }

    fn next_serial(&self) -> u64 {
        self.counters.serial.fetch_add(1, Ordering::Relaxed) + 1
    }
}

impl State {
    fn find(&self, checkout_request_id: &str) -> Option<&Push> {
        self.pushes
            .iter()
            .find(|p| p.record.checkout_request_id == checkout_request_id)
    }

    /// A receipt number not yet issued by this fake, like `NLJ7RT61SV`.
    fn new_receipt(&self, rng: &mut impl Rng) -> String {
        const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
        const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
        loop {
            // Real receipts start with a letter (the year's letter, e.g. `S…`).
            let mut receipt = String::with_capacity(10);
            receipt.push(LETTERS[rng.random_range(0..LETTERS.len())] as char);
            receipt.extend((0..9).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char));
            if !self.receipts.contains_key(&receipt) {
                return receipt;
            }
        }
    }
}

fn router(fake: Arc<FakeDaraja>) -> Router {
    Router::new()
        .merge(token::routes())
        .merge(stk::routes())
        .merge(c2b::routes())
        .merge(status::routes())
        .merge(listing::routes())
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(fake)
}
