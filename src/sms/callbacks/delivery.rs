//! `POST /sms/africastalking/delivery`: a delivery report (protocols.md 2.4)
//! mapped onto the outbox row with its `messageId`, and appended to
//! `sms_delivery_reports` whether a row matched or not.
//!
//! Always 200 once the form is read, unknown ids and statuses included: AT
//! retries anything else, and a retry would say the same. The same report
//! twice changes nothing more: it is neither stored nor applied again.

use axum::Form;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::api::ApiError;
use crate::state::AppState;
use crate::telemetry::SMS_DELIVERY_REPORTS;

use super::form::{optional, required};
use super::status::{DeliveryStatus, Outcome, reason_label};

/// The report form. `phoneNumber` is not read: the row already has it, and
/// a phone number is kept nowhere it is not needed.
#[derive(Debug, Deserialize)]
pub struct RawReport {
    id: Option<String>,
    status: Option<String>,
    #[serde(rename = "failureReason")]
    failure_reason: Option<String>,
    #[serde(rename = "networkCode")]
    network_code: Option<String>,
}

/// A report as it will be stored.
struct Report {
    message_id: String,
    /// As AT wrote it (an unknown status is kept as is).
    raw_status: String,
    status: DeliveryStatus,
    failure_reason: Option<String>,
    network_code: Option<String>,
}

/// What one report did, also its metric label.
#[derive(Debug, Clone, Copy)]
enum Effect {
    /// The row took the new state.
    Applied,
    /// The row is already final: stored, not applied.
    Stale,
    /// An unknown status: stored, the row left alone.
    Kept,
    /// No row of ours has that id: stored as unmatched.
    Unmatched,
    /// AT posted this very report before: nothing written.
    Duplicate,
}

impl Effect {
    fn as_str(self) -> &'static str {
        match self {
            Effect::Applied => "applied",
            Effect::Stale => "stale",
            Effect::Kept => "kept",
            Effect::Unmatched => "unmatched",
            Effect::Duplicate => "duplicate",
        }
    }
}

fn parse(raw: &RawReport) -> Result<Report, ApiError> {
    // Lengths are the table's.
    let raw_status = required(raw.status.as_deref(), "status", 40)?;
    Ok(Report {
        message_id: required(raw.id.as_deref(), "id", 100)?,
        status: DeliveryStatus::parse(&raw_status),
        raw_status,
        failure_reason: optional(raw.failure_reason.as_deref(), "failureReason", 100)?,
        network_code: optional(raw.network_code.as_deref(), "networkCode", 20)?,
    })
}

/// The delivery report callback.
pub async fn report(
    State(app): State<AppState>,
    form: Result<Form<RawReport>, FormRejection>,
) -> Response {
    let report = match form
        .map_err(ApiError::from)
        .and_then(|Form(raw)| parse(&raw))
    {
        Ok(report) => report,
        Err(error) => return error.into_response(),
    };
    let applied = match record(&app.db, &report).await {
        Ok(applied) => applied,
        // 500 so AT posts it again; nothing was committed.
        Err(error) => {
            return ApiError::Internal(
                anyhow::Error::new(error).context("cannot record a delivery report"),
            )
            .into_response();
        }
    };
    match applied {
        Effect::Unmatched => tracing::warn!(
            message_id = %report.message_id,
            status = %report.raw_status,
            "SMS delivery report for a message we do not know"
        ),
        Effect::Kept => tracing::warn!(
            message_id = %report.message_id,
            status = %report.raw_status,
            "SMS delivery report with an unknown status kept, not applied"
        ),
        _ => {}
    }
    metrics::counter!(
        SMS_DELIVERY_REPORTS,
        "status" => report.status.as_str(),
        "reason" => reason_label(report.failure_reason.as_deref()),
        "outcome" => applied.as_str(),
    )
    .increment(1);
    (StatusCode::OK, "OK").into_response()
}

async fn record(db: &PgPool, report: &Report) -> Result<Effect, sqlx::Error> {
    let mut tx = db.begin().await?;
    // Serialises reports about one message (also about one we do not know,
    // which has no row to lock), so a duplicate posted twice at once is
    // seen as one.
    lock_message(&mut tx, &report.message_id).await?;
    if already_reported(&mut tx, report).await? {
        return Ok(Effect::Duplicate);
    }
    let row = outbox_row(&mut tx, &report.message_id).await?;
    insert_report(&mut tx, report, row.is_some()).await?;
    let applied = match row {
        None => Effect::Unmatched,
        Some((_, current))
            if current
                .as_deref()
                .is_some_and(|c| DeliveryStatus::parse(c).is_final()) =>
        {
            Effect::Stale
        }
        Some(_) if report.status == DeliveryStatus::Unknown => Effect::Kept,
        Some((id, _)) => {
            apply(&mut tx, id, report).await?;
            Effect::Applied
        }
    };
    tx.commit().await?;
    Ok(applied)
}

async fn lock_message(conn: &mut PgConnection, message_id: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('sms-dlr:' || $1, 0))",
        message_id
    )
    .execute(conn)
    .await?;
    Ok(())
}

async fn already_reported(conn: &mut PgConnection, report: &Report) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists (select 1 from sms_delivery_reports
                           where provider_message_id = $1 and status = $2
                             and failure_reason is not distinct from $3) as "exists!""#,
        report.message_id,
        report.raw_status,
        report.failure_reason
    )
    .fetch_one(conn)
    .await
}

/// The outbox row with this message id and its latest delivery status,
/// locked against the dispatcher's own writes.
async fn outbox_row(
    conn: &mut PgConnection,
    message_id: &str,
) -> Result<Option<(Uuid, Option<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        "select id, delivery_status from sms_outbox where provider_message_id = $1 for update",
        message_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| (r.id, r.delivery_status)))
}

async fn insert_report(
    conn: &mut PgConnection,
    report: &Report,
    matched: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        r#"insert into sms_delivery_reports
               (provider_message_id, status, failure_reason, network_code, matched)
           values ($1, $2, $3, $4, $5)"#,
        report.message_id,
        report.raw_status,
        report.failure_reason,
        report.network_code,
        matched
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves a row that is not final yet to the report's state.
async fn apply(conn: &mut PgConnection, id: Uuid, report: &Report) -> Result<(), sqlx::Error> {
    let (status, reason) = match report.status.outcome() {
        Outcome::Pending => (None, None),
        Outcome::Delivered => (Some("delivered"), None),
        // Expired comes without a reason: the status is the reason.
        Outcome::Failed => (
            Some("failed"),
            Some(
                report
                    .failure_reason
                    .clone()
                    .unwrap_or_else(|| report.raw_status.clone()),
            ),
        ),
    };
    sqlx::query!(
        r#"update sms_outbox
              set delivery_status = $2,
                  status = coalesce($3, status),
                  failure_reason = coalesce($4, failure_reason),
                  delivered_at = case when $3 = 'delivered' then now() else delivered_at end,
                  updated_at = now()
            where id = $1"#,
        id,
        report.raw_status,
        status,
        reason
    )
    .execute(conn)
    .await?;
    Ok(())
}
