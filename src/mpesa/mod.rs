//! M-Pesa through Safaricom's Daraja API, behind the [`DarajaClient`] trait.
//!
//! - [`DarajaHttpClient`] is the real client: OAuth token cache, STK push,
//!   STK query.
//! - [`FakeDaraja`] is the in-process sandbox that `dev` and the tests use: it
//!   validates pushes as Daraja does, settles them with a chosen outcome, and
//!   writes the callback Daraja would post.
//!
//! [`client_for`] picks one from the configured [`Providers`]. What is done
//! with the results:
//!
//! - `callback`: Daraja's STK callback route.
//! - `settle`: an STK request booked or failed once, by callback or query.
//! - `reconcile`: the worker that queries requests whose callback is late.
//!
//! Daraja's JSON lives in `wire.rs`, shared by both clients.

mod auth;
pub mod c2b;
pub mod callback;
mod client;
#[cfg(test)]
mod client_tests;
mod fake;
mod fake_check;
mod fake_push;
#[cfg(test)]
mod fake_tests;
mod intent;
pub mod push;
pub mod reconcile;
mod seen;
pub mod settle;
mod types;
mod wire;
#[cfg(test)]
mod wire_tests;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use secrecy::SecretString;

use crate::config::Providers;

pub use client::DarajaHttpClient;
pub use fake::FakeDaraja;
pub use fake_push::{FakeOutcome, RecordedPush};
pub use intent::{Intent, record_intent};
pub use seen::mark_outcome_seen;
pub use types::{
    MAX_ACCOUNT_REFERENCE, MAX_DESCRIPTION, StkPushAccepted, StkPushRequest, StkQueryResult,
    is_mpesa_number,
};

/// Path under `MPESA_CALLBACK_URL` where Daraja posts STK results; the secret
/// callback token is the next path segment.
pub const STK_CALLBACK_PATH: &str = "/mpesa/stk/callback";

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

/// The Daraja client chosen for a deployment, plus the fake itself when it is one.
pub struct DarajaProvider {
    /// What the daemon pushes and queries through.
    pub client: Arc<dyn DarajaClient>,
    /// The same object as `client` when it is the fake, so `dev` and the
    /// tests can choose outcomes and read pushes and callbacks.
    pub fake: Option<Arc<FakeDaraja>>,
}

/// The Daraja client for these providers: the real one for `Live`, a fresh
/// [`FakeDaraja`] for `Fake`. Both put `callback_token` in the callback path.
pub fn client_for(
    providers: &Providers,
    callback_token: &SecretString,
) -> anyhow::Result<DarajaProvider> {
    Ok(match providers {
        Providers::Live(live) => DarajaProvider {
            client: Arc::new(DarajaHttpClient::new(&live.mpesa, callback_token)?),
            fake: None,
        },
        Providers::Fake => {
            let fake = Arc::new(FakeDaraja::new(callback_token)?);
            DarajaProvider {
                client: fake.clone(),
                fake: Some(fake),
            }
        }
    })
}
