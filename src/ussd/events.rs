//! `POST /ussd/africastalking/events`: how a session ended, as Africa's
//! Talking reports it. Recorded once per session (a replayed event changes
//! nothing); a session that ended on a `CON` screen is kept for resuming.
//! Each event reads the session store and writes PostgreSQL, so events have
//! their own per-source rate limit (see `guard`), apart from the hops'.

use std::net::SocketAddr;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::api::ApiError;
use crate::session::{SessionId, SessionStore};
use crate::state::AppState;
use crate::telemetry::{USSD_DROPOFF, USSD_SESSIONS_ENDED};

use super::record::SessionRecord;
use super::resume;

/// The event form; only `sessionId` and `status` are required.
#[derive(Debug, Deserialize)]
pub struct RawEvent {
    #[serde(rename = "sessionId")]
    session_id: Option<String>,
    #[serde(rename = "serviceCode")]
    service_code: Option<String>,
    status: Option<String>,
    #[serde(rename = "durationInMillis")]
    duration_ms: Option<String>,
    #[serde(rename = "hopsCount")]
    hops: Option<String>,
    #[serde(rename = "errorMessage")]
    error_message: Option<String>,
}

/// How Africa's Talking says a session ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EndStatus {
    Success,
    Incomplete,
    Failed,
}

impl EndStatus {
    fn parse(value: &str) -> Option<EndStatus> {
        match value {
            "Success" => Some(EndStatus::Success),
            "Incomplete" => Some(EndStatus::Incomplete),
            "Failed" => Some(EndStatus::Failed),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            EndStatus::Success => "success",
            EndStatus::Incomplete => "incomplete",
            EndStatus::Failed => "failed",
        }
    }
}

fn bad_request(reason: &str) -> Response {
    ApiError::BadRequest(reason.to_owned()).into_response()
}

/// Parses a count that AT sends as a string; junk counts as unknown.
fn count(value: Option<&str>) -> Option<i64> {
    value
        .and_then(|v| v.trim().parse::<i64>().ok())
        .filter(|n| *n >= 0)
}

/// The events callback.
pub async fn session_ended(
    State(app): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    form: Result<Form<RawEvent>, FormRejection>,
) -> Response {
    if app.ussd_limits.check_events(peer.ip()).is_err() {
        // 429, not 200: the event was not recorded, and the sender should
        // know it is worth sending again later.
        return ApiError::TooManyRequests.into_response();
    }
    let event = match form {
        Ok(Form(event)) => event,
        Err(rejection) => return ApiError::from(rejection).into_response(),
    };
    let Some(id) = event
        .session_id
        .as_deref()
        .and_then(|id| SessionId::parse(id).ok())
    else {
        return bad_request("missing or malformed field sessionId");
    };
    let Some(raw_status) = event.status.as_deref() else {
        return bad_request("missing field status");
    };
    let Some(status) = EndStatus::parse(raw_status) else {
        // Answer 200 so AT does not retry a value we will never understand.
        tracing::warn!(
            status = raw_status,
            "USSD end event with an unknown status ignored"
        );
        metrics::counter!(USSD_SESSIONS_ENDED, "status" => "unknown").increment(1);
        return (StatusCode::OK, "OK").into_response();
    };
    match record_end(&app, &id, &event, status).await {
        Ok(()) => (StatusCode::OK, "OK").into_response(),
        // 500 (logged once by `ApiError`) so Africa's Talking tries again
        // later: the end row is written last, so the retry does the whole
        // job again.
        Err(error) => {
            ApiError::Internal(error.context("cannot record a USSD end event")).into_response()
        }
    }
}

/// Records how a session ended. The end row is written last: a replayed
/// event finds it and changes nothing, and an event that failed half-way
/// (say the resume state could not be kept) left no row, so its retry keeps
/// the state and writes the row then.
async fn record_end(
    app: &AppState,
    id: &SessionId,
    event: &RawEvent,
    status: EndStatus,
) -> anyhow::Result<()> {
    let recorded = sqlx::query_scalar!(
        r#"select exists(select 1 from ussd_session_ends where session_id = $1) as "recorded!""#,
        id.as_str()
    )
    .fetch_one(&app.db)
    .await?;
    if recorded {
        return Ok(());
    }
    let record: Option<SessionRecord> = match app.sessions.load(id).await? {
        Some(stored) => serde_json::from_str(&stored.data).ok(),
        None => None,
    };
    let last_screen = record.as_ref().map(|r| r.engine.screen.clone());
    let resumable = status == EndStatus::Incomplete
        && record
            .as_ref()
            .is_some_and(|r| r.user.is_some() && !r.last_reply.end);
    let error_message: Option<String> = event
        .error_message
        .as_deref()
        .map(|m| m.chars().take(500).collect());
    let service_code: String = event
        .service_code
        .as_deref()
        .unwrap_or("")
        .chars()
        .take(32)
        .collect();
    if resumable {
        if let Some(record) = &record {
            resume::remember_interrupted(app, record).await?;
        }
    }
    let inserted = sqlx::query!(
        r#"insert into ussd_session_ends
             (session_id, service_code, user_id, status, duration_ms, hops, last_screen, error_message, resumable)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict (session_id) do nothing"#,
        id.as_str(),
        service_code,
        record.as_ref().and_then(|r| r.user),
        status.as_str(),
        count(event.duration_ms.as_deref()),
        count(event.hops.as_deref()).map(|h| h.min(i64::from(i32::MAX)) as i32),
        last_screen,
        error_message,
        resumable
    )
    .execute(&app.db)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(());
    }
    metrics::counter!(USSD_SESSIONS_ENDED, "status" => status.as_str()).increment(1);
    if status != EndStatus::Success {
        let screen = last_screen.unwrap_or_else(|| "unknown".into());
        metrics::counter!(USSD_DROPOFF, "screen" => app.menus.screen_label(&screen)).increment(1);
    }
    Ok(())
}
