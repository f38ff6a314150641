//! The public HTTP surface: every module's `router()` merged in one place, and
//! the layers every request passes through (request id, trace span, metrics,
//! timeout, body limit).

mod error;
mod health;

pub use error::ApiError;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;
use crate::telemetry;

/// Header carrying the request id; reused from the client when present so a
/// request can be followed across a proxy.
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The public router with all layers applied.
pub fn router(state: AppState) -> Router {
    let settings = &state.settings;
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // Both limits: the layer refuses a declared or streamed oversized body
        // before it is read, the extractor limit covers bodies axum buffers.
        .layer(RequestBodyLimitLayer::new(settings.body_limit))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ));

    Router::new()
        .merge(health::router())
        .merge(crate::ussd::router(state.clone()))
        .route_layer(middleware::from_fn(telemetry::track_http))
        .fallback(not_found)
        .layer(layers)
        .with_state(state)
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// One span per request with its id and route template; never the query string
/// or body, which may hold a phone number.
fn make_span(request: &Request) -> tracing::Span {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched");
    tracing::info_span!(
        "http",
        request.id = %request_id,
        http.method = %request.method(),
        http.route = %route,
    )
}
