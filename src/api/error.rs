//! `ApiError`: the one error type at the HTTP edge. Client errors carry a
//! message that is safe to show; server errors are logged once here and answered
//! with a generic body. Bodies are RFC 9457 `application/problem+json`.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

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
    /// 409: a replay or duplicate refused on purpose.
    #[error("{0}")]
    Conflict(String),
    /// 503: a dependency is down; retrying later may work.
    #[error("{0}")]
    Unavailable(String),
    /// 500: details are logged, never returned.
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
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
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
            header::HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}
