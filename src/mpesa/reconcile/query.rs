//! One claimed request asked about, and what its answer does: a final
//! answer settles it through [`crate::mpesa::settle`] (`settled_by =
//! 'query'`); anything else counts the attempt and waits, backing off.

use std::time::Duration;

use crate::mpesa::settle::{self, Payment, SettledBy, StkResult};
use crate::mpesa::{MpesaError, StkQueryResult};
use crate::sms::dispatch::backoff;
use crate::state::AppState;
use crate::telemetry::MPESA_RECONCILIATIONS;

use super::claim::{self, Claimed};

/// Daraja's query result code for "still under processing" (newer API
/// versions answer it with a 200 instead of the 500 error body).
const STILL_PROCESSING: i64 = 4999;

/// What one query came to; also the metric label.
fn label(answer: &Result<StkQueryResult, MpesaError>) -> &'static str {
    match answer {
        Ok(StkQueryResult::Pending) => "still_processing",
        Ok(StkQueryResult::Completed { result_code, .. }) if *result_code == STILL_PROCESSING => {
            "still_processing"
        }
        Ok(StkQueryResult::Completed { result_code: 0, .. }) => "paid",
        Ok(StkQueryResult::Completed { .. }) => "failed",
        Err(MpesaError::Busy(_)) => "busy",
        Err(MpesaError::Transient(_) | MpesaError::BadResponse(_)) => "transient",
        Err(MpesaError::InvalidRequest(_)) => "refused",
        Err(MpesaError::AuthFailed) => "auth",
    }
}

/// The result a final answer settles with, or `None` to ask again later.
fn final_result(answer: &Result<StkQueryResult, MpesaError>) -> Option<StkResult> {
    match answer {
        Ok(StkQueryResult::Completed {
            result_code,
            result_desc,
        }) if *result_code != STILL_PROCESSING => Some(match result_code {
            0 => StkResult::Paid(Payment::default()),
            code => StkResult::Failed {
                code: code.to_string(),
                desc: result_desc.clone(),
            },
        }),
        _ => None,
    }
}

/// Queries `request` and settles or reschedules it.
pub(super) async fn query_one(app: &AppState, request: &Claimed) -> Result<(), anyhow::Error> {
    let answer = app.daraja.stk_query(&request.checkout_request_id).await;
    let label = label(&answer);
    metrics::counter!(MPESA_RECONCILIATIONS, "result" => label).increment(1);
    let mut tx = app.db.begin().await?;
    match final_result(&answer) {
        Some(result) => {
            let settled = settle::settle(
                &mut tx,
                &app.sms_texts,
                &request.checkout_request_id,
                &result,
                SettledBy::Query,
            )
            .await?;
            claim::record_attempt(&mut tx, request.id, None).await?;
            tracing::info!(
                outcome = settled.as_str(),
                query = label,
                "STK request settled by query"
            );
        }
        None => {
            let wait = next_wait(app, request.query_attempts + 1);
            claim::record_attempt(&mut tx, request.id, Some(wait)).await?;
            if let Err(error) = &answer {
                tracing::warn!(%error, query = label, "STK query gave no answer; asking again later");
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Exponential back-off from `MPESA_QUERY_AFTER_SECS` up to its cap, with
/// jitter so requests that failed together do not come back together. A
/// floor of a few seconds keeps a zero draw from hammering Daraja.
fn next_wait(app: &AppState, attempts: i32) -> Duration {
    const FLOOR: Duration = Duration::from_secs(5);
    let stk = &app.settings.stk;
    let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
    backoff::delay(attempts, stk.query_after, stk.query_backoff_max).max(FLOOR)
}
