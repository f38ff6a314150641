//! OAuth (protocols.md 3.1): tokens for the configured consumer key and
//! secret, each one invalidating the one before and dying after the
//! configured lifetime; and the gate every API call passes first: a live
//! bearer token, then a JSON object body.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use tokio::time::Instant;

use super::FakeDaraja;
use super::check::{self, Refusal};

pub(super) fn routes() -> Router<Arc<FakeDaraja>> {
    Router::new().route("/oauth/v1/generate", get(generate))
}

#[derive(Deserialize)]
struct Grant {
    grant_type: Option<String>,
}

async fn generate(
    State(fake): State<Arc<FakeDaraja>>,
    headers: HeaderMap,
    Query(grant): Query<Grant>,
) -> Response {
    fake.counters.requests.fetch_add(1, Ordering::Relaxed);
    fake.counters.token_requests.fetch_add(1, Ordering::Relaxed);
    let Some(basic) = header_value(&headers).and_then(|v| v.strip_prefix("Basic ")) else {
        return refuse(
            &fake,
            oauth_refusal("400.008.01", "Invalid Authentication passed"),
        );
    };
    if grant.grant_type.as_deref() != Some("client_credentials") {
        return refuse(
            &fake,
            oauth_refusal("400.008.02", "Invalid grant type passed"),
        );
    }
    let expected = STANDARD.encode(format!(
        "{}:{}",
        fake.config.consumer_key, fake.config.consumer_secret
    ));
    if !bool::from(basic.as_bytes().ct_eq(expected.as_bytes())) {
        // Daraja answers wrong credentials with an empty 400.
        fake.counters.refused.fetch_add(1, Ordering::Relaxed);
        return StatusCode::BAD_REQUEST.into_response();
    }
    let token = uuid::Uuid::new_v4().simple().to_string();
    let lifetime = fake.config.token_lifetime;
    fake.lock().token = Some((token.clone(), Instant::now() + lifetime));
    // `expires_in` as a string, as Daraja really sends it.
    Json(json!({"access_token": token, "expires_in": lifetime.as_secs().to_string()}))
        .into_response()
}

fn oauth_refusal(code: &'static str, message: &str) -> Refusal {
    Refusal {
        status: StatusCode::BAD_REQUEST,
        code,
        message: message.to_owned(),
    }
}

fn header_value(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()
}

/// Counts a refused request and answers it.
pub(super) fn refuse(fake: &FakeDaraja, refusal: Refusal) -> Response {
    fake.counters.refused.fetch_add(1, Ordering::Relaxed);
    refusal.into_response()
}

/// The body of an API call that passed what every call passes first, in
/// Daraja's order: a live token, then a JSON object body.
pub(super) struct Authorised(pub Value);

impl FromRequest<Arc<FakeDaraja>> for Authorised {
    type Rejection = Response;

    async fn from_request(request: Request, fake: &Arc<FakeDaraja>) -> Result<Self, Response> {
        let (parts, body) = request.into_parts();
        let headers = parts.headers.clone();
        let json = Json::<Value>::from_request(Request::from_parts(parts, body), fake).await;
        gate(fake, &headers, json)
            .map(Authorised)
            .map_err(|refused| *refused)
    }
}

fn gate(
    fake: &FakeDaraja,
    headers: &HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Value, Box<Response>> {
    fake.counters.requests.fetch_add(1, Ordering::Relaxed);
    let Some(bearer) = header_value(headers).and_then(|v| v.strip_prefix("Bearer ")) else {
        return Err(Box::new(refuse(
            fake,
            unauthorised("404.001.04", "Invalid Authentication passed"),
        )));
    };
    let live = fake.lock().token.as_ref().is_some_and(|(token, until)| {
        Instant::now() < *until && bool::from(token.as_bytes().ct_eq(bearer.as_bytes()))
    });
    if !live {
        return Err(Box::new(refuse(
            fake,
            unauthorised("404.001.03", "Invalid Access Token"),
        )));
    }
    match body {
        Ok(Json(value)) if value.is_object() => Ok(value),
        // Too large keeps its 413, as Daraja's gateway sends.
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            fake.counters.refused.fetch_add(1, Ordering::Relaxed);
            Err(Box::new(rejection.into_response()))
        }
        _ => Err(Box::new(refuse(fake, check::invalid_payload()))),
    }
}

fn unauthorised(code: &'static str, message: &str) -> Refusal {
    Refusal {
        status: StatusCode::UNAUTHORIZED,
        code,
        message: message.to_owned(),
    }
}
