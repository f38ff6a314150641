//! The HTTP surfaces: every module's `router()` merged in one place, and the
//! layers every request passes through (request id, trace span, metrics,
//! problem bodies; on the public listener also timeout and body limit). The
//! operator listener (`/metrics`) is built here too, with the same edge.

mod error;
mod health;

pub use error::{ApiError, PROBLEM_JSON};

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;
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
    let limits = ServiceBuilder::new()
        // Both limits: the layer refuses a declared or streamed oversized body
        // before it is read, the extractor limit covers bodies axum buffers.
        .layer(RequestBodyLimitLayer::new(settings.body_limit))
        .layer(DefaultBodyLimit::max(settings.body_limit))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ));

    let routes = Router::new()
        .merge(health::router())
        .merge(crate::ussd::router(state.clone()))
        .merge(crate::sms::callbacks::router(state.clone()))
        .merge(crate::mpesa::callback::router())
        .merge(crate::mpesa::c2b::router())
        .fallback(not_found)
        .layer(limits)
        .with_state(state);
    with_edge(routes)
}

/// The operator router: `/metrics`, and problem 404s for anything else.
pub fn admin_router(metrics: PrometheusHandle) -> Router {
    let routes = Router::new()
        .route("/metrics", get(move || async move { metrics.render() }))
        .fallback(not_found);
    with_edge(routes)
}

/// The layers of both listeners, outermost last. `Router::layer` wraps each
/// route and the fallback after routing, so the span and the metrics see the
/// matched route (`unmatched` for the fallback) and count 404s, 405s and the
/// limits' 413s like any other answer.
fn with_edge(routes: Router) -> Router {
    routes
        .layer(middleware::map_response(problem_for_bare_errors))
        .layer(middleware::from_fn(telemetry::track_http))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(TraceLayer::new_for_http().make_span_with(make_span))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// axum's method router (405) and tower-http's body limit (413) and timeout
/// (408) answer with a plain or empty body of their own; this gives them the
/// problem body every other error has, keeping their headers (`Allow`).
async fn problem_for_bare_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t == PROBLEM_JSON);
    if !(status.is_client_error() || status.is_server_error()) || is_problem {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let problem = ApiError::from_status(status).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    for (name, value) in problem.headers() {
        parts.headers.insert(name, value.clone());
    }
    Response::from_parts(parts, problem.into_body())
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

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::HeaderValue;

    use super::*;

    async fn problem_of(response: Response) -> (Response, serde_json::Value) {
        let converted = problem_for_bare_errors(response).await;
        let (parts, body) = converted.into_parts();
        let bytes = axum::body::to_bytes(body, usize::MAX).await.unwrap();
        let problem = serde_json::from_slice(&bytes).unwrap();
        (Response::from_parts(parts, Body::empty()), problem)
    }

    #[tokio::test]
    async fn the_timeout_layers_empty_408_becomes_a_problem() {
        let bare = StatusCode::REQUEST_TIMEOUT.into_response();
        let (response, problem) = problem_of(bare).await;
        assert_eq!(response.status(), StatusCode::REQUEST_TIMEOUT);
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(problem["status"], 408);
        assert_eq!(problem["title"], "Request Timeout");
    }

    #[tokio::test]
    async fn a_bare_405_keeps_its_allow_header_and_loses_its_stale_length() {
        let mut bare = (StatusCode::METHOD_NOT_ALLOWED, "x").into_response();
        bare.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        bare.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1"));
        let (response, problem) = problem_of(bare).await;
        assert_eq!(response.headers()[header::ALLOW], "POST");
        assert!(!response.headers().contains_key(header::CONTENT_LENGTH));
        assert_eq!(response.headers()[header::CONTENT_TYPE], PROBLEM_JSON);
        assert_eq!(problem["status"], 405);
    }

    #[tokio::test]
    async fn success_and_existing_problems_pass_untouched() {
        let ok = (StatusCode::OK, "END Goodbye").into_response();
        let passed = problem_for_bare_errors(ok).await;
        assert_eq!(
            passed.headers()[header::CONTENT_TYPE],
            "text/plain; charset=utf-8"
        );
        let conflict = ApiError::Conflict("already booked".into()).into_response();
        let (_, problem) = problem_of(conflict).await;
        assert_eq!(problem["detail"], "already booked");
    }
}
