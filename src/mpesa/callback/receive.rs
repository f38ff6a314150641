//! `POST /mpesa/stk/callback/{token}`: Daraja's STK result, settled once and
//! kept.
//!
//! Refused: a peer outside `MPESA_CALLBACK_ALLOWED_SOURCES` (403) and a
//! wrong token (404, as for any unknown path). Everything else is answered
//! in Daraja's accepted shape once it is stored, malformed bodies and
//! unknown CheckoutRequestIDs included: Daraja retrying them would say the
//! same. Only a failure of our own (the database) answers 500, so Daraja
//! may try again and the reconciliation worker asks if it does not.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{ConnectInfo, Path, State};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde_json::json;
use sqlx::PgPool;

use super::parse::{self, Callback, Malformed};
use super::store::{self, Stored};
use crate::api::ApiError;
use crate::mpesa::settle::{self, SettleError, SettledBy, Settlement};
use crate::state::AppState;
use crate::telemetry::MPESA_CALLBACK_REFUSED;
use crate::ussd::guard::{same, source_allowed};

fn refused(reason: &'static str, error: ApiError) -> Response {
    metrics::counter!(MPESA_CALLBACK_REFUSED, "reason" => reason).increment(1);
    tracing::warn!(reason, "STK callback refused");
    error.into_response()
}

/// Daraja's "we have it" (protocols.md 3.3).
fn accepted() -> Response {
    Json(json!({"ResultCode": 0, "ResultDesc": "Accepted"})).into_response()
}

pub async fn callback(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(token): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !source_allowed(&app.settings.stk.allowed_sources, peer.ip()) {
        return refused("source", ApiError::Forbidden);
    }
    if !same(&token, app.mpesa_callback_token.expose_secret()) {
        return refused("token", ApiError::NotFound);
    }
    let outcome = match body {
        Ok(body) => match parse::parse(&body) {
            Ok(callback) => settle_and_store(&app, &callback, &body).await,
            Err(malformed) => store_malformed(&app.db, &malformed, store::raw_json(&body))
                .await
                .map_err(SettleError::from),
        },
        Err(rejection) => {
            let malformed = Malformed {
                reason: rejection.body_text(),
                checkout_request_id: None,
            };
            let raw = json!({ "unread": rejection.body_text() });
            store_malformed(&app.db, &malformed, raw)
                .await
                .map_err(SettleError::from)
        }
    };
    match outcome {
        Ok(()) => accepted(),
        Err(error) => {
            tracing::error!(%error, "STK callback not recorded; Daraja may retry, the reconciliation worker will ask");
            ApiError::Internal(anyhow::anyhow!("STK callback not recorded")).into_response()
        }
    }
}

async fn store_malformed(
    db: &PgPool,
    malformed: &Malformed,
    raw: serde_json::Value,
) -> Result<(), sqlx::Error> {
    metrics::counter!(MPESA_CALLBACK_REFUSED, "reason" => "malformed").increment(1);
    tracing::warn!(reason = %malformed.reason, "malformed STK callback stored; nothing settled");
    let mut conn = db.acquire().await?;
    store::append(
        &mut conn,
        Stored {
            checkout_request_id: malformed.checkout_request_id.as_deref(),
            result_code: None,
            matched: false,
            outcome: "malformed",
            raw,
        },
    )
    .await
}

async fn settle_once(
    app: &AppState,
    conn: &mut sqlx::PgConnection,
    callback: &Callback,
) -> Result<Settlement, SettleError> {
    settle::settle(
        conn,
        &app.sms_texts,
        &callback.checkout_request_id,
        &callback.result,
        SettledBy::Callback,
    )
    .await
}

/// Settles and stores in one transaction. A receipt another transaction
/// booked while this one ran rolls this one back; settling again then finds
/// the receipt booked and closes the request without booking, so that a
/// later query cannot book it either.
async fn settle_and_store(
    app: &AppState,
    callback: &Callback,
    body: &[u8],
) -> Result<(), SettleError> {
    let mut tx = app.db.begin().await?;
    let settled = settle_once(app, &mut tx, callback).await;
    let settlement = match settled {
        Err(SettleError::ReceiptTaken) => {
            tx.rollback().await?;
            tx = app.db.begin().await?;
            settle_once(app, &mut tx, callback).await?
        }
        other => other?,
    };
    tracing::info!(
        outcome = settlement.as_str(),
        result_code = %callback.result_code,
        "STK callback"
    );
    store::append(
        &mut tx,
        Stored {
            checkout_request_id: Some(&callback.checkout_request_id),
            result_code: Some(&callback.result_code),
            matched: settlement != Settlement::Unknown,
            outcome: settlement.as_str(),
            raw: store::raw_json(body),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
