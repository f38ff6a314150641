//! The fake's HTTP face: AT's `POST /version1/messaging` mapped to
//! [`FakeSms::accept`], with AT's answers for what it refuses, plus the
//! fake-only routes of `listing.rs`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::check::{self, Refused, SendForm};
use super::plan::FailurePlan;
use super::{Failure, FakeSms, listing};

/// Longest `Idempotency-Key` kept: a UUID or a hash is far shorter, and the
/// store is bounded by answers, not by key size.
const MAX_KEY_LEN: usize = 200;

pub(super) fn router(fake: Arc<FakeSms>) -> Router {
    Router::new()
        .route("/version1/messaging", post(messaging))
        .merge(listing::routes())
        .with_state(fake)
}

async fn messaging(
    State(fake): State<Arc<FakeSms>>,
    headers: HeaderMap,
    form: Result<Form<SendForm>, FormRejection>,
) -> Response {
    fake.requests.fetch_add(1, Ordering::Relaxed);
    // AT checks the key before it reads the body.
    if !check::authorised(&headers, &fake.api_key) {
        return unauthorised();
    }
    let form = match form {
        Ok(Form(form)) => form,
        // Too large keeps its 413; anything else unreadable is AT's 400.
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return rejection.into_response();
        }
        Err(rejection) => return bad_request(&rejection.body_text()),
    };
    let request = match check::request(form, &fake.username) {
        Ok(request) => request,
        Err(Refused::Unauthorized) => return unauthorised(),
        Err(Refused::Missing(field)) => {
            return bad_request(&format!("Request is missing required form field '{field}'"));
        }
    };
    let key = match headers.get("idempotency-key").map(|k| k.to_str()) {
        None => None,
        Some(Ok(key)) if !key.is_empty() && key.len() <= MAX_KEY_LEN => Some(key),
        Some(_) => return bad_request("Invalid Idempotency-Key"),
    };
    let failure = FailurePlan::take(&mut fake.lock().failing);
    match failure {
        Some(Failure::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
        Some(Failure::Throttled) => {
            return (StatusCode::TOO_MANY_REQUESTS, "Too Many Requests").into_response();
        }
        Some(Failure::Unauthorized) => return unauthorised(),
        Some(Failure::InsufficientBalance | Failure::Timeout) | None => {}
    }
    let answer = fake.accept(&request, key, failure == Some(Failure::InsufficientBalance));
    if failure == Some(Failure::Timeout) {
        // Sent, and the answer lost: the client gives up before this ends.
        tokio::time::sleep(fake.hold).await;
    }
    (
        StatusCode::CREATED,
        [(header::CONTENT_TYPE, "application/json")],
        answer.to_json(),
    )
        .into_response()
}

/// AT's answer to a wrong key or username: plain text, 401.
fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        "The supplied authentication is invalid",
    )
        .into_response()
}

fn bad_request(text: &str) -> Response {
    (StatusCode::BAD_REQUEST, text.to_owned()).into_response()
}
