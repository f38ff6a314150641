//! `POST /paybill/c2b/validation/{token}` and `/paybill/c2b/confirmation/{token}`:
//! Daraja's paybill callbacks, protected like the STK one (the source
//! allow-list, 403; the secret path token compared in constant time, 404).
//! Not under `/mpesa/`: Safaricom refuses C2B URLs that contain the word
//! (protocols.md 3.5).
//!
//! A confirmation is answered `Success` once it is stored and booked, or when
//! it cannot be read at all (Daraja would only send it again; it is logged,
//! without the body, which names the payer). Only a failure of our own
//! answers 500, so Daraja may try again.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::confirm::{ConfirmError, Confirmed, confirm};
use super::payment::{Malformed, Payment, WirePayment};
use super::validation::{Verdict, decide};
use crate::api::ApiError;
use crate::mpesa::{C2B_CONFIRMATION_PATH, C2B_VALIDATION_PATH};
use crate::state::AppState;
use crate::telemetry::{MPESA_C2B_PAYMENTS, MPESA_C2B_VALIDATIONS, MPESA_CALLBACK_REFUSED};
use crate::ussd::guard::{same, source_allowed};

/// A paybill callback is under a kilobyte.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// Both paybill routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            &format!("{C2B_VALIDATION_PATH}/{{token}}"),
            post(validation),
        )
        .route(
            &format!("{C2B_CONFIRMATION_PATH}/{{token}}"),
            post(confirmation),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
}

/// The refusal for a caller who may not post here, if they may not.
fn refusal(app: &AppState, peer: SocketAddr, token: &str) -> Option<Response> {
    let refused = |reason: &'static str, error: ApiError| {
        metrics::counter!(MPESA_CALLBACK_REFUSED, "reason" => reason).increment(1);
        tracing::warn!(reason, "paybill callback refused");
        error.into_response()
    };
    if !source_allowed(&app.settings.stk.allowed_sources, peer.ip()) {
        return Some(refused("source", ApiError::Forbidden));
    }
    if !same(token, app.mpesa_callback_token.expose_secret()) {
        return Some(refused("token", ApiError::NotFound));
    }
    None
}

/// The body as a payment and as the JSON kept with it.
fn read(body: Result<Bytes, BytesRejection>) -> Result<(Payment, Value), Malformed> {
    let unreadable = Malformed {
        field: "body",
        problem: "not a JSON object of Daraja's paybill fields",
    };
    let body = body.map_err(|_| unreadable.clone())?;
    let raw: Value = serde_json::from_slice(&body).map_err(|_| unreadable.clone())?;
    let wire: WirePayment = serde_json::from_value(raw.clone()).map_err(|_| unreadable)?;
    Ok((Payment::read(wire)?, raw))
}

async fn validation(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(refused) = refusal(&app, peer, &token) {
        return refused;
    }
    let payment = read(body).map(|(p, _)| p);
    let verdict = match app.db.acquire().await {
        Ok(mut conn) => decide(&mut conn, payment.as_ref()).await,
        Err(e) => Err(e),
    };
    let verdict = match verdict {
        Ok(v) => v,
        Err(error) => {
            // Daraja then applies the shortcode's ResponseType.
            tracing::error!(%error, "paybill validation could not be decided");
            return ApiError::Internal(anyhow::anyhow!("validation failed")).into_response();
        }
    };
    metrics::counter!(MPESA_C2B_VALIDATIONS, "verdict" => verdict.label()).increment(1);
    let desc = match verdict {
        Verdict::Accept => "Accepted",
        Verdict::Reject(_) => "Rejected",
    };
    Json(json!({ "ResultCode": verdict.code(), "ResultDesc": desc })).into_response()
}

async fn confirmation(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if let Some(refused) = refusal(&app, peer, &token) {
        return refused;
    }
    let (payment, raw) = match read(body) {
        Ok(read) => read,
        Err(malformed) => {
            metrics::counter!(MPESA_C2B_PAYMENTS, "outcome" => "malformed").increment(1);
            tracing::warn!(%malformed, "malformed paybill confirmation; nothing booked");
            return success();
        }
    };
    match book(&app, &payment, &raw).await {
        Ok(outcome) => {
            metrics::counter!(MPESA_C2B_PAYMENTS, "outcome" => outcome.label()).increment(1);
            success()
        }
        Err(error) => {
            tracing::error!(%error, "paybill confirmation not booked; Daraja may retry");
            ApiError::Internal(anyhow::anyhow!("confirmation not booked")).into_response()
        }
    }
}

/// Books in one transaction; a receipt another road booked meanwhile rolls
/// it back, and confirming again finds that booking.
async fn book(app: &AppState, payment: &Payment, raw: &Value) -> Result<Confirmed, ConfirmError> {
    for _ in 0..2 {
        let mut tx = app.db.begin().await?;
        let window = app.settings.stk.c2b_match_window;
        match confirm(&mut tx, &app.sms_texts, payment, raw, window).await {
            Ok(outcome) => {
                tx.commit().await?;
                return Ok(outcome);
            }
            Err(ConfirmError::Raced) => tx.rollback().await?,
            Err(other) => return Err(other),
        }
    }
    Err(ConfirmError::Raced)
}

/// Daraja's confirmation acknowledgement.
fn success() -> Response {
    Json(json!({ "ResultCode": 0, "ResultDesc": "Success" })).into_response()
}
