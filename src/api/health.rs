//! Liveness and readiness probes for load balancers and systemd watchdogs.

use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use crate::app::AppState;

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
    status: &'static str,
    postgres: &'static str,
    redis: &'static str,
}

/// PostgreSQL and Redis both answer; otherwise 503 naming what failed.
async fn readyz(State(app): State<AppState>) -> impl IntoResponse {
    let (postgres, redis) = tokio::join!(probe_postgres(&app), probe_redis(&app));
    let ready = postgres && redis;
    let verdict = |ok| if ok { "ok" } else { "unreachable" };
    let body = Readiness {
        status: if ready { "ready" } else { "not ready" },
        postgres: verdict(postgres),
        redis: verdict(redis),
    };
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(body))
}

async fn probe_postgres(app: &AppState) -> bool {
    let ping = sqlx::query("select 1").execute(&app.db);
    matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_)))
}

async fn probe_redis(app: &AppState) -> bool {
    let mut conn = app.redis.clone();
    let cmd = redis::cmd("PING");
    let ping = cmd.query_async::<String>(&mut conn);
    matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_)))
}
