//! Fake-only routes on the fake's own listener: the pushes and callbacks for
//! a developer or a test in another process (`GET /fake/pushes`,
//! `GET /fake/callbacks`), counts for benchmarks (`GET /fake/stats`), and
//! outcomes chosen from outside (`POST /fake/outcome`).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::outcome::{CallbackPlan, FakeOutcome, FakePlan};
use super::{FakeDaraja, PostedCallback};
use crate::phone::Msisdn;

/// Entries listed when the query names no `limit`.
const DEFAULT_LIMIT: usize = 100;
/// Most entries one listing returns.
const MAX_LIMIT: usize = 10_000;
/// Longest decision delay `/fake/outcome` takes.
const MAX_DELAY: Duration = Duration::from_secs(3600);
/// Most copies of one callback.
const MAX_COPIES: u32 = 1000;

pub(super) fn routes() -> Router<Arc<FakeDaraja>> {
    Router::new()
        .route("/fake/pushes", get(pushes))
        .route("/fake/callbacks", get(callbacks))
        .route("/fake/stats", get(stats))
        .route("/fake/outcome", post(outcome))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

/// The last `limit` of `all`, newest last.
fn latest<T: Clone>(all: &[T], limit: Option<usize>) -> Vec<T> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    all[all.len().saturating_sub(limit)..].to_vec()
}

#[derive(Serialize)]
struct ListedPush {
    checkout_request_id: String,
    merchant_request_id: String,
    phone: String,
    amount: i64,
    account_reference: String,
    result_code: i64,
    receipt: Option<String>,
    pushed_at: DateTime<Utc>,
}

async fn pushes(
    State(fake): State<Arc<FakeDaraja>>,
    Query(query): Query<ListQuery>,
) -> Json<serde_json::Value> {
    let all = fake.pushes();
    // The full number: this is a developer's own fake.
    let listed: Vec<ListedPush> = latest(&all, query.limit)
        .into_iter()
        .map(|p| ListedPush {
            checkout_request_id: p.checkout_request_id,
            merchant_request_id: p.merchant_request_id,
            phone: p.request.phone().to_daraja().to_owned(),
            amount: p.request.amount(),
            account_reference: p.request.account_reference().to_owned(),
            result_code: p.outcome.result_code(),
            receipt: p.receipt,
            pushed_at: p.pushed_at,
        })
        .collect();
    Json(json!({"total": all.len(), "pushes": listed}))
}

async fn callbacks(
    State(fake): State<Arc<FakeDaraja>>,
    Query(query): Query<ListQuery>,
) -> Json<serde_json::Value> {
    let all: Vec<PostedCallback> = fake.callbacks();
    Json(json!({"total": all.len(), "callbacks": latest(&all, query.limit)}))
}

/// What a benchmark or a test checks after a run.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Requests seen on Daraja's endpoints, tokens included.
    pub requests: u64,
    /// Token requests among them.
    pub token_requests: u64,
    /// Requests refused (bad token, bad field, bad body).
    pub refused: u64,
    pub pushes: u64,
    pub queries: u64,
    /// Posts made, and those the receiver answered with a 2xx.
    pub callbacks_posted: u64,
    pub callbacks_answered_ok: u64,
}

impl FakeDaraja {
    /// The counts `/fake/stats` serves.
    pub fn stats(&self) -> Stats {
        let counters = &self.counters;
        let state = self.lock();
        Stats {
            requests: counters.requests.load(Ordering::Relaxed),
            token_requests: counters.token_requests.load(Ordering::Relaxed),
            refused: counters.refused.load(Ordering::Relaxed),
            pushes: state.pushes.len() as u64,
            queries: counters.queries.load(Ordering::Relaxed),
            callbacks_posted: state.callbacks.len() as u64,
            callbacks_answered_ok: state
                .callbacks
                .iter()
                .filter(|c| c.status.is_some_and(|s| (200..300).contains(&s)))
                .count() as u64,
        }
    }
}

async fn stats(State(fake): State<Arc<FakeDaraja>>) -> Json<Stats> {
    Json(fake.stats())
}

/// `POST /fake/outcome`: the plan for one phone, or the default without one.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OutcomeRequest {
    phone: Option<String>,
    result_code: i64,
    #[serde(default)]
    delay_ms: u64,
    #[serde(default = "one")]
    copies: u32,
    #[serde(default)]
    concurrent: bool,
    #[serde(default)]
    after_query: bool,
    #[serde(default)]
    amount_delta: i64,
}

fn one() -> u32 {
    1
}

async fn outcome(
    State(fake): State<Arc<FakeDaraja>>,
    request: Result<Json<OutcomeRequest>, JsonRejection>,
) -> Response {
    let request = match request {
        Ok(Json(request)) => request,
        Err(rejection) => return refused(&rejection.body_text()),
    };
    let Some(outcome) = FakeOutcome::from_result_code(request.result_code) else {
        let known: Vec<i64> = FakeOutcome::ALL.iter().map(|o| o.result_code()).collect();
        return refused(&format!("result_code must be one of {known:?}"));
    };
    let decide_after = Duration::from_millis(request.delay_ms);
    if decide_after > MAX_DELAY || request.copies > MAX_COPIES {
        return refused("delay_ms at most an hour, copies at most 1000");
    }
    let plan = FakePlan {
        outcome,
        decide_after,
        callback: CallbackPlan {
            copies: request.copies,
            concurrent: request.concurrent,
            after_query: request.after_query,
            amount_delta: request.amount_delta,
        },
        answer_after: Duration::ZERO,
    };
    match request.phone.as_deref().map(Msisdn::parse) {
        None => fake.set_default_plan(plan),
        Some(Ok(phone)) => fake.set_plan_for(&phone, plan),
        Some(Err(_)) => return refused("phone is not a phone number"),
    }
    StatusCode::NO_CONTENT.into_response()
}

fn refused(reason: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": reason}))).into_response()
}
