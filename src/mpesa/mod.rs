//! M-Pesa through Safaricom's Daraja API, behind the [`DarajaClient`] trait.
//!
//! - [`DarajaHttpClient`] is the real client: OAuth token cache refreshed
//!   single-flight, STK push and query, C2B URL registration, Transaction
//!   Status; timeouts on every call, retries only where repeating is safe,
//!   metrics by endpoint and outcome.
//! - [`FakeDaraja`] (`fake/`) is a fake Daraja over HTTP that `dev` and the
//!   tests reach through the real client: it checks requests as Daraja
//!   does, and posts callbacks with outcomes chosen per phone.
//!
//! [`client_for`] picks one from the configured [`Providers`]. What is done
//! with the results:
//!
//! - `callback`: Daraja's STK callback route.
//! - `settle`: an STK request booked or failed once, by callback or query.
//! - `reconcile`: the worker that queries requests whose callback is late.
//! - `push`: the worker that sends the STK pushes USSD hops recorded.
//! - `c2b`: paybill confirmations booked once, and their allocation.
//!
//! Daraja's JSON lives in `wire.rs` and `wire_paybill.rs`, shared by the
//! client and the fake.

mod auth;
pub mod c2b;
pub mod callback;
mod client;
#[cfg(test)]
mod client_tests;
mod dev;
pub mod fake;
mod intent;
mod measure;
mod paybill;
pub mod push;
pub mod reconcile;
mod retry;
mod seen;
pub mod settle;
pub(crate) mod types;
mod wire;
mod wire_paybill;
#[cfg(test)]
mod wire_tests;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;

use crate::config::Providers;

pub use client::DarajaHttpClient;
pub use dev::dev_settings;
pub use fake::{FakeDaraja, FakeDarajaConfig, FakeOutcome, FakePlan, RecordedPush};
pub use intent::{Intent, record_intent};
pub use paybill::{
    C2bRegistered, C2bUrls, TransactionStatusAccepted, TransactionStatusQuery, UnansweredValidation,
};
pub use seen::mark_outcome_seen;
pub use types::{
    MAX_ACCOUNT_REFERENCE, MAX_DESCRIPTION, MAX_STK_AMOUNT, StkPushAccepted, StkPushRequest,
    StkQueryResult, is_mpesa_number,
};

/// Path under `MPESA_CALLBACK_URL` where Daraja posts STK results; the secret
/// callback token is the next path segment.
pub const STK_CALLBACK_PATH: &str = "/mpesa/stk/callback";
/// Paths under `MPESA_CALLBACK_URL` registered as the paybill's C2B URLs,
/// each followed by the callback token. Safaricom refuses C2B URLs that
/// contain "mpesa" (protocols.md 3.5), hence not under `/mpesa/`.
pub const C2B_CONFIRMATION_PATH: &str = "/paybill/c2b/confirmation";
pub const C2B_VALIDATION_PATH: &str = "/paybill/c2b/validation";

/// A boxed future, so that [`DarajaClient`] stays usable as `dyn DarajaClient`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Starts M-Pesa payments and asks how they went.
pub trait DarajaClient: Send + Sync {
    /// Asks Daraja to show the payer a PIN prompt. `Ok` means the prompt was
    /// accepted for sending, not that anyone paid: the result arrives in the
    /// STK callback, or from [`DarajaClient::stk_query`].
    fn stk_push(&self, req: StkPushRequest) -> BoxFuture<'_, Result<StkPushAccepted, MpesaError>>;

    /// Asks Daraja how the push with this `CheckoutRequestID` ended. Daraja
    /// throttles fast polling: query no sooner than a minute after the push.
    fn stk_query<'a>(
        &'a self,
        checkout_request_id: &'a str,
    ) -> BoxFuture<'a, Result<StkQueryResult, MpesaError>>;

    /// Registers our paybill's C2B validation and confirmation URLs. Not
    /// retried: production registers once and refuses a second time.
    fn register_urls<'a>(
        &'a self,
        urls: &'a C2bUrls,
    ) -> BoxFuture<'a, Result<C2bRegistered, MpesaError>>;

    /// Asks how the payment with this receipt went; the answer is posted to
    /// the query's `result_url` later.
    fn transaction_status<'a>(
        &'a self,
        query: &'a TransactionStatusQuery,
    ) -> BoxFuture<'a, Result<TransactionStatusAccepted, MpesaError>>;
}

/// Why a Daraja call failed, by what the caller should do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MpesaError {
    /// The request itself is wrong (`400.002.02` bad field, unknown merchant,
    /// or our own check in [`StkPushRequest::new`]). Final: fix the input.
    #[error("Daraja refused the request: {0}")]
    InvalidRequest(String),
    /// Our consumer key, secret or passkey were refused, even after a fresh
    /// token. A configuration error: alert an operator.
    #[error("Daraja refused our credentials")]
    AuthFailed,
    /// Daraja or the payer's phone is busy: `500.001.1001` "unable to lock
    /// subscriber" / "being processed", `500.003.02` spike arrest or system
    /// busy, `500.003.03` quota. Nothing was started; try again after a
    /// minute or more.
    #[error("Daraja is busy: {0}")]
    Busy(String),
    /// Network error, timeout or a 5xx. **A push may still have been sent**
    /// and the payer may be looking at the prompt: never re-push at once.
    /// Wait for the callback, or query pending pushes, before pushing again.
    #[error("Daraja unreachable or failing: {0}")]
    Transient(String),
    /// Daraja answered in a shape we do not understand. As with `Transient`,
    /// a push may have gone out.
    #[error("unexpected answer from Daraja: {0}")]
    BadResponse(String),
}

impl MpesaError {
    /// A bounded metric label.
    pub fn label(&self) -> &'static str {
        match self {
            MpesaError::InvalidRequest(_) => "invalid_request",
            MpesaError::AuthFailed => "auth_failed",
            MpesaError::Busy(_) => "busy",
            MpesaError::Transient(_) => "transient",
            MpesaError::BadResponse(_) => "bad_response",
        }
    }
}

/// The Daraja client chosen for a deployment, plus the fake when it is one.
pub struct DarajaProvider {
    /// What the daemon pushes and queries through.
    pub client: Arc<dyn DarajaClient>,
    /// The fake Daraja `client` talks to, when it is one, so `dev` and the
    /// tests can choose outcomes and read pushes and callbacks.
    pub fake: Option<Arc<FakeDaraja>>,
}

/// The Daraja client for these providers: the real one for `Live`; for
/// `Fake`, a fresh [`FakeDaraja`] on a free loopback port and the real
/// client pointed at it, Daraja posting callbacks to the gateway at
/// `gateway` (its public listener). Both put `callback_token` in the
/// callback path.
pub async fn client_for(
    providers: &Providers,
    callback_token: &SecretString,
    gateway: SocketAddr,
) -> anyhow::Result<DarajaProvider> {
    match providers {
        Providers::Live(live) => Ok(DarajaProvider {
            client: Arc::new(DarajaHttpClient::new(&live.mpesa, callback_token)?),
            fake: None,
        }),
        Providers::Fake => {
            fake_provider(
                FakeDarajaConfig {
                    quiet: true,
                    ..FakeDarajaConfig::default()
                },
                callback_token,
                gateway,
            )
            .await
        }
    }
}

/// A fresh [`FakeDaraja`] started with `config`, and the real client
/// pointed at it, Daraja posting callbacks to the gateway at `gateway`.
pub async fn fake_provider(
    config: FakeDarajaConfig,
    callback_token: &SecretString,
    gateway: SocketAddr,
) -> anyhow::Result<DarajaProvider> {
    let fake = FakeDaraja::start(config)
        .await
        .map_err(|e| anyhow::anyhow!("cannot start the fake Daraja: {e}"))?;
    // A gateway listening on every interface is reached on loopback.
    let gateway = match gateway.ip().is_unspecified() {
        true => SocketAddr::from(([127, 0, 0, 1], gateway.port())),
        false => gateway,
    };
    let base = reqwest::Url::parse(&format!("http://{gateway}/"))?;
    Ok(DarajaProvider {
        client: Arc::new(fake.client(base, callback_token.clone())?),
        fake: Some(fake),
    })
}
