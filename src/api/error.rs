//! `ApiError`: the one error type at the HTTP edge. Client errors carry a
//! message that is safe to show; server errors are logged once here and answered
//! with a generic body. Bodies are RFC 9457 `application/problem+json`.

use axum::Json;
use axum::extract::rejection::FormRejection;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// What went wrong with a request, by how the client should react.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the input failed parsing; the message says which part.
    #[error("{0}")]
    BadRequest(String),
    /// 403: the caller may not do this.
    #[error("forbidden")]
    Forbidden,
    /// 404: no such resource.
    #[error("not found")]
    NotFound,
    /// 405: the route exists but not with this method; the router adds the
    /// `Allow` header.
    #[error("method not allowed on this route; the Allow header lists the allowed ones")]
    MethodNotAllowed,
    /// 408: the request took longer than the configured timeout.
    #[error("the request took too long")]
    Timeout,
    /// 409: a replay or duplicate refused on purpose.
    #[error("{0}")]
    Conflict(String),
    /// 413: the body, declared or streamed, is over the configured limit.
    #[error("request body over the size limit")]
    PayloadTooLarge,
    /// 415: the body is not of the media type the route reads.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 429: a rate limit refused the request; sending it later may work.
    #[error("too many requests; try again later")]
    TooManyRequests,
    /// 503: a dependency is down; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500: details are logged, never returned.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
    /// Any other error status a layer or the router answered with on its own.
    #[error("{}", .0.canonical_reason().unwrap_or("error"))]
    Other(StatusCode),
}

#[derive(Serialize)]
struct Problem<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    title: &'a str,
    status: u16,
    detail: String,
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Timeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Other(status) => *status,
        }
    }

    /// The error for a status that axum's router or a tower-http layer
    /// answered with a plain or empty body (405, 408, 413).
    pub fn from_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::NotFound,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::REQUEST_TIMEOUT => ApiError::Timeout,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::TOO_MANY_REQUESTS => ApiError::TooManyRequests,
            other => ApiError::Other(other),
        }
    }
}

impl From<FormRejection> for ApiError {
    /// A form that could not be read: over the limit (413, also when it
    /// arrived chunked), not a form at all (415), or malformed (400).
    fn from(rejection: FormRejection) -> ApiError {
        match rejection.status() {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ApiError::UnsupportedMediaType(rejection.body_text())
            }
            _ => ApiError::BadRequest(rejection.body_text()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(error) = &self {
            tracing::error!(error = format!("{error:#}"), "request failed");
        }
        let problem = Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("error"),
            status: status.as_u16(),
            detail: self.to_string(),
        };
        let mut response = (status, Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static(PROBLEM_JSON),
        );
        response
    }
}
