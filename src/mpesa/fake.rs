//! `FakeDaraja`: an in-process Daraja sandbox for `dev` and the tests.
//!
//! It builds the same JSON as the real client (`wire.rs`), checks it as
//! Daraja does, answers with Daraja-shaped ids, and settles each push with an
//! outcome chosen per phone (or a default) that [`DarajaClient::stk_query`]
//! reports once a configurable delay has passed. [`FakeDaraja::callback_payload`]
//! writes the callback Daraja would post, for whoever plays the callback.
//! Errors travel as Daraja's error bodies through the real parser, so a
//! caller sees exactly the [`MpesaError`] the real client would give.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use reqwest::{StatusCode, Url};
use secrecy::SecretString;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::client::callback_url;
use super::fake_check::{self as check, Refusal};
use super::fake_push::{FakeOutcome, RecordedPush, callback_json};
use super::wire::{self, EAT, Merchant};
use super::{BoxFuture, DarajaClient, MpesaError, StkPushAccepted, StkPushRequest, StkQueryResult};
use crate::phone::Msisdn;

/// Daraja's public sandbox paybill and its published passkey.
const SANDBOX_SHORTCODE: &str = "174379";
const SANDBOX_PASSKEY: &str = "bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919";

/// The in-process Daraja. Share it behind an `Arc`.
pub struct FakeDaraja {
    merchant: Merchant,
    /// `/mpesa/stk/callback/{token}`: where the callback is to be posted.
    callback_path: String,
    // A std mutex: held only to read or push, never across an await.
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    pushes: Vec<(RecordedPush, Instant)>,
    default_outcome: FakeOutcome,
    per_phone: HashMap<Msisdn, FakeOutcome>,
    query_delay: Duration,
}

impl FakeDaraja {
    /// A sandbox that settles every push as paid, immediately.
    pub fn new(callback_token: &SecretString) -> anyhow::Result<FakeDaraja> {
        // Only the path matters to us; the host stands in for MPESA_CALLBACK_URL.
        let url = callback_url(&Url::parse("http://localhost/")?, callback_token)?;
        Ok(FakeDaraja {
            callback_path: url.path().to_owned(),
            merchant: Merchant {
                shortcode: SANDBOX_SHORTCODE.into(),
                passkey: SecretString::from(SANDBOX_PASSKEY),
                callback_url: SecretString::from(url.to_string()),
            },
            state: Mutex::new(State::default()),
        })
    }

    /// Our endpoint's path, token included, for posting [`Self::callback_payload`].
    pub fn callback_path(&self) -> &str {
        &self.callback_path
    }

    /// Every accepted push, oldest first.
    pub fn pushes(&self) -> Vec<RecordedPush> {
        self.lock().pushes.iter().map(|(p, _)| p.clone()).collect()
    }

    /// How pushes to phones without their own outcome end (from the next push on).
    pub fn set_default_outcome(&self, outcome: FakeOutcome) {
        self.lock().default_outcome = outcome;
    }

    /// How pushes to `phone` end (from the next push on).
    pub fn set_outcome_for(&self, phone: &Msisdn, outcome: FakeOutcome) {
        self.lock().per_phone.insert(phone.clone(), outcome);
    }

    /// How long after a push `stk_query` keeps answering "being processed"
    /// (from the next push on). Tokio time, so paused-clock tests can skip it.
    pub fn set_query_delay(&self, delay: Duration) {
        self.lock().query_delay = delay;
    }

    /// The JSON Daraja would post to our callback URL for this push
    /// (protocols.md 3.3), or `None` for an id the fake never issued.
    pub fn callback_payload(&self, checkout_request_id: &str) -> Option<Value> {
        let state = self.lock();
        let (push, _) = state
            .pushes
            .iter()
            .find(|(p, _)| p.checkout_request_id == checkout_request_id)?;
        callback_json(push)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // Plain data: a panic elsewhere leaves nothing half-updated worth refusing.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push_now(&self, req: StkPushRequest) -> Result<StkPushAccepted, MpesaError> {
        let now = Utc::now();
        let body = wire::push_body(&self.merchant, &req, now);
        check::push_body(&self.merchant, &body).map_err(daraja_error)?;
        let mut state = self.lock();
        let serial = state.pushes.len() + 1;
        let mut rng = rand::rng();
        let (merchant_request_id, checkout_request_id) = new_ids(serial, now, &mut rng);
        let outcome = state
            .per_phone
            .get(req.phone())
            .copied()
            .unwrap_or(state.default_outcome);
        let receipt = (outcome == FakeOutcome::Success).then(|| new_receipt(&state, &mut rng));
        let settles_at = Instant::now() + state.query_delay;
        state.pushes.push((
            RecordedPush {
                request: req,
                merchant_request_id: merchant_request_id.clone(),
                checkout_request_id: checkout_request_id.clone(),
                outcome,
                receipt,
                pushed_at: now,
            },
            settles_at,
        ));
        let answer = json!({
            "MerchantRequestID": merchant_request_id,
            "CheckoutRequestID": checkout_request_id,
            "ResponseCode": "0",
            "ResponseDescription": "Success. Request accepted for processing",
            "CustomerMessage": "Success. Request accepted for processing",
        });
        wire::push_accepted(StatusCode::OK, answer.to_string().as_bytes())
    }

    fn query_now(&self, checkout_request_id: &str) -> Result<StkQueryResult, MpesaError> {
        let body = wire::query_body(&self.merchant, checkout_request_id, Utc::now());
        check::password(&self.merchant, &body).map_err(daraja_error)?;
        let state = self.lock();
        let Some((push, settles_at)) = state
            .pushes
            .iter()
            .find(|(p, _)| p.checkout_request_id == checkout_request_id)
        else {
            return Err(daraja_error(check::bad_request(
                "Invalid CheckoutRequestID",
            )));
        };
        if Instant::now() < *settles_at {
            // Daraja's "not finished yet" is an HTTP 500 error body.
            let pending = Refusal::busy("The transaction is being processed");
            return wire::query_result(pending.status, &pending.to_json());
        }
        let answer = json!({
            "ResponseCode": "0",
            "ResponseDescription": "The service request has been accepted successfully",
            "MerchantRequestID": push.merchant_request_id,
            "CheckoutRequestID": push.checkout_request_id,
            "ResultCode": push.outcome.result_code().to_string(),
            "ResultDesc": push.outcome.result_desc(),
        });
        wire::query_result(StatusCode::OK, answer.to_string().as_bytes())
    }
}

/// Daraja-shaped ids, made unique by the push's serial number:
/// `29115-34620561-1` and `ws_CO_<DDMMYYYYHHmmss><digits>`.
fn new_ids(serial: usize, now: DateTime<Utc>, rng: &mut impl Rng) -> (String, String) {
    let stamp = now.with_timezone(&EAT).format("%d%m%Y%H%M%S");
    let merchant = format!(
        "{:05}-{:08}-{serial}",
        rng.random_range(0..100_000),
        rng.random_range(0..100_000_000)
    );
    let checkout = format!(
        "ws_CO_{stamp}{serial:04}{:08}",
        rng.random_range(0..100_000_000)
    );
    (merchant, checkout)
}

/// A receipt number not yet issued by this fake.
fn new_receipt(state: &State, rng: &mut impl Rng) -> String {
    const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    loop {
        // Real receipts start with a letter (the year's letter, e.g. `S…`).
        let mut receipt = String::with_capacity(10);
        receipt.push(LETTERS[rng.random_range(0..LETTERS.len())] as char);
        receipt.extend((0..9).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char));
        if !state
            .pushes
            .iter()
            .any(|(p, _)| p.receipt.as_deref() == Some(&receipt))
        {
            return receipt;
        }
    }
}

/// Sends a refusal through the real error parser, as the real client would see it.
fn daraja_error(refusal: Refusal) -> MpesaError {
    wire::error_from(refusal.status, &refusal.to_json())
}

impl DarajaClient for FakeDaraja {
    fn stk_push(&self, req: StkPushRequest) -> BoxFuture<'_, Result<StkPushAccepted, MpesaError>> {
        Box::pin(async move { self.push_now(req) })
    }

    fn stk_query<'a>(
        &'a self,
        checkout_request_id: &'a str,
    ) -> BoxFuture<'a, Result<StkQueryResult, MpesaError>> {
        Box::pin(async move { self.query_now(checkout_request_id) })
    }
}
