//! STK push and STK query (protocols.md 3.2, 3.4): checked as Daraja checks
//! them, answered in Daraja's shapes, and consistent with each other: a
//! query says "being processed" until the push's outcome is decided, then
//! reports that outcome, whatever happened to the callback.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::check::{self, Refusal, text};
use super::outcome::{FakeOutcome, RecordedPush};
use super::token::{Authorised, refuse};
use super::{FakeDaraja, Push, Receipt};
use crate::mpesa::StkPushRequest;
use crate::mpesa::wire::EAT;
use crate::phone::Msisdn;

pub(super) fn routes() -> Router<Arc<FakeDaraja>> {
    Router::new()
        .route("/mpesa/stkpush/v1/processrequest", post(push))
        .route("/mpesa/stkpushquery/v1/query", post(query))
}

async fn push(State(fake): State<Arc<FakeDaraja>>, Authorised(body): Authorised) -> Response {
    let now = Utc::now();
    let request = check::password(&fake.config.shortcode, &fake.config.passkey, &body, now)
        .and_then(|()| check::push_body(&fake.config.shortcode, &body))
        .and_then(|()| request_of(&body));
    let request = match request {
        Ok(request) => request,
        Err(refusal) => return refuse(&fake, refusal),
    };
    let (merchant_request_id, checkout_request_id, answer_after) =
        accept(&fake, request, &body, now);
    tokio::time::sleep(answer_after).await;
    Json(json!({
        "MerchantRequestID": merchant_request_id,
        "CheckoutRequestID": checkout_request_id,
        "ResponseCode": "0",
        "ResponseDescription": "Success. Request accepted for processing",
        "CustomerMessage": "Success. Request accepted for processing",
    }))
    .into_response()
}

/// The checked body as a request; what `StkPushRequest` refuses beyond
/// Daraja's own checks (a number outside the numbering plan, a reference
/// that is not letters and digits) is refused as a bad field.
fn request_of(body: &Value) -> Result<StkPushRequest, Refusal> {
    let phone = Msisdn::parse(&text(body, "PhoneNumber"))
        .map_err(|_| check::bad_request("Invalid PhoneNumber"))?;
    StkPushRequest::new(
        phone,
        body["Amount"].as_i64().unwrap_or_default(),
        &text(body, "AccountReference"),
        &text(body, "TransactionDesc"),
    )
    .map_err(|e| check::bad_request(&e.to_string()))
}

/// Records the push under its plan, schedules its callback, and returns its
/// ids and how long the answer takes.
fn accept(
    fake: &Arc<FakeDaraja>,
    request: StkPushRequest,
    body: &Value,
    now: DateTime<Utc>,
) -> (String, String, Duration) {
    let serial = fake.next_serial();
    let mut rng = rand::rng();
    let (merchant_request_id, checkout_request_id) = new_ids(serial, now, &mut rng);
    let mut state = fake.lock();
    let plan = state
        .per_phone
        .get(request.phone().to_daraja())
        .copied()
        .unwrap_or(state.default_plan);
    let receipt = (plan.outcome == FakeOutcome::Success).then(|| state.new_receipt(&mut rng));
    if let Some(receipt) = &receipt {
        let paid = Receipt {
            amount: request.amount(),
            phone: request.phone().to_daraja().to_owned(),
            at: now,
        };
        state.receipts.insert(receipt.clone(), paid);
    }
    let record = RecordedPush {
        request,
        merchant_request_id: merchant_request_id.clone(),
        checkout_request_id: checkout_request_id.clone(),
        outcome: plan.outcome,
        receipt,
        pushed_at: now,
        callback_url: text(body, "CallBackURL"),
    };
    let queried = Arc::new(Notify::new());
    state.pushes.push(Push {
        record: record.clone(),
        plan,
        decided_at: Instant::now() + plan.decide_after,
        queried: queried.clone(),
    });
    drop(state);
    if fake.chatty() {
        tracing::info!(
            checkout_request_id,
            phone = %record.request.phone(),
            amount = record.request.amount(),
            result_code = plan.outcome.result_code(),
            "fake Daraja accepted an STK push"
        );
    }
    fake.schedule_stk_callback(record, plan, queried);
    (merchant_request_id, checkout_request_id, plan.answer_after)
}

async fn query(State(fake): State<Arc<FakeDaraja>>, Authorised(body): Authorised) -> Response {
    fake.counters.queries.fetch_add(1, Ordering::Relaxed);
    let checked = check::password(
        &fake.config.shortcode,
        &fake.config.passkey,
        &body,
        Utc::now(),
    );
    if let Err(refusal) = checked {
        return refuse(&fake, refusal);
    }
    let id = text(&body, "CheckoutRequestID");
    let state = fake.lock();
    let Some(push) = state.find(&id) else {
        drop(state);
        return refuse(&fake, check::bad_request("Invalid CheckoutRequestID"));
    };
    if Instant::now() < push.decided_at {
        // Daraja's "not finished yet" is an HTTP 500 error body.
        return Refusal::code_1001("The transaction is being processed").into_response();
    }
    let answer = json!({
        "ResponseCode": "0",
        "ResponseDescription": "The service request has been accepted successfully",
        "MerchantRequestID": push.record.merchant_request_id,
        "CheckoutRequestID": push.record.checkout_request_id,
        "ResultCode": push.record.outcome.result_code().to_string(),
        "ResultDesc": push.record.outcome.result_desc(),
    });
    // A late callback waits for this moment.
    push.queried.notify_one();
    Json(answer).into_response()
}

/// Daraja-shaped ids, made unique by the push's serial number:
/// `29115-34620561-1` and `ws_CO_<DDMMYYYYHHmmss><digits>`.
fn new_ids(serial: u64, now: DateTime<Utc>, rng: &mut impl Rng) -> (String, String) {
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
