//! Fake-only routes on the fake's own listener: the sent messages for a
//! developer (`GET /fake/sms`), counts for benchmarks (`GET /fake/stats`),
//! and failures planned from another process (`POST /fake/fail`).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Failure, FakeSms};

/// Messages listed when the query names no `limit`.
const DEFAULT_LIMIT: usize = 100;
/// Most messages one listing returns.
const MAX_LIMIT: usize = 10_000;

pub(super) fn routes() -> Router<Arc<FakeSms>> {
    Router::new()
        .route("/fake/sms", get(list))
        .route("/fake/stats", get(stats))
        .route("/fake/fail", post(fail))
}

#[derive(Deserialize)]
struct ListQuery {
    limit: Option<usize>,
}

/// The latest messages, newest last, with the full number: this is a
/// developer's own fake.
#[derive(Serialize)]
struct Listing {
    /// Every message accepted so far.
    total: usize,
    messages: Vec<Listed>,
}

#[derive(Serialize)]
struct Listed {
    to: String,
    message: String,
    message_id: String,
    sent_at: DateTime<Utc>,
}

async fn list(State(fake): State<Arc<FakeSms>>, Query(query): Query<ListQuery>) -> Json<Listing> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT).min(MAX_LIMIT);
    let state = fake.lock();
    let total = state.sent.len();
    let messages = state.sent[total.saturating_sub(limit)..]
        .iter()
        .map(|record| Listed {
            to: record.to.clone(),
            message: record.message.to_string(),
            message_id: record.message_id.clone(),
            sent_at: record.sent_at,
        })
        .collect();
    Json(Listing { total, messages })
}

/// What a benchmark checks after a run.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Stats {
    /// Send requests seen, answered or refused.
    pub requests: u64,
    /// Recipients accepted (each one a message sent).
    pub accepted: u64,
    /// Distinct (number, text) pairs among them.
    pub distinct: u64,
    /// Accepted messages whose (number, text) had been accepted before.
    pub duplicates: u64,
    /// Sends answered from the idempotency store, sending nothing.
    pub replays: u64,
}

impl FakeSms {
    /// The counts `/fake/stats` serves.
    pub fn stats(&self) -> Stats {
        let requests = self.requests.load(Ordering::Relaxed);
        let state = self.lock();
        Stats {
            requests,
            accepted: state.sent.len() as u64,
            distinct: state.seen.len() as u64,
            duplicates: state.duplicates,
            replays: state.replays,
        }
    }
}

async fn stats(State(fake): State<Arc<FakeSms>>) -> Json<Stats> {
    Json(fake.stats())
}

#[derive(Deserialize)]
struct FailRequest {
    failure: Failure,
    times: usize,
}

async fn fail(State(fake): State<Arc<FakeSms>>, Json(request): Json<FailRequest>) -> StatusCode {
    fake.fail_next(request.times, request.failure);
    StatusCode::NO_CONTENT
}
