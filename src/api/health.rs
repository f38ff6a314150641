//! Liveness and readiness probes for load balancers and systemd watchdogs.
//!
//! Readiness follows what the node can serve: without PostgreSQL nothing
//! (503); without Redis everything, with sessions on PostgreSQL (200,
//! reported as degraded). A load balancer that pulled every node during a
//! Redis outage would turn a degraded service into none.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use crate::session::ActiveStore;
use crate::state::AppState;

/// A readiness probe must answer even when a dependency hangs.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `/healthz` and `/readyz`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

/// The process is up and serving HTTP.
async fn healthz() -> &'static str {
    "ok"
}

#[derive(Serialize)]
struct Readiness {
    /// `ready`, `degraded` (serving, Redis down) or `not ready`.
    status: &'static str,
    postgres: &'static str,
    redis: &'static str,
    /// The store serving USSD sessions now: `redis` or `postgres`.
    sessions: &'static str,
}

/// 200 while PostgreSQL answers, `degraded` when Redis does not; 503 only
/// without PostgreSQL.
async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let (postgres, redis) = tokio::join!(probe_postgres(&app), app.sessions.redis_answers());
    let verdict = |ok| if ok { "ok" } else { "unreachable" };
    let sessions = match (redis, app.sessions.active_store()) {
        (true, ActiveStore::Redis) => "redis",
        _ => "postgres",
    };
    let (status, code) = match (postgres, redis) {
        (false, _) => ("not ready", StatusCode::SERVICE_UNAVAILABLE),
        (true, false) => ("degraded", StatusCode::OK),
        (true, true) => ("ready", StatusCode::OK),
    };
    let body = Readiness {
        status,
        postgres: verdict(postgres),
        redis: verdict(redis),
        sessions,
    };
    (code, Json(body))
}

async fn probe_postgres(app: &AppState) -> bool {
    let ping = sqlx::query("select 1").execute(&app.db);
    matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_)))
}
