//! Errors on their way out. Handlers and extractors fail with [`ApiFailure`] (an
//! [`ApiError`] and nothing else); the trace layer ([`crate::trace_middleware`]) turns it into
//! the contract's error body with the request's trace id, so no handler threads the id.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use ec_domain::{ApiError, ErrorCode};

/// Per-request id, echoed as `X-Request-Id` and in every error body.
#[derive(Debug, Clone)]
pub struct TraceId(pub String);

/// A failed request, before the trace layer gives it its body.
#[derive(Debug)]
pub struct ApiFailure(pub ApiError);

impl<E: Into<ApiError>> From<E> for ApiFailure {
    fn from(e: E) -> Self {
        ApiFailure(e.into())
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        let mut resp = StatusCode::INTERNAL_SERVER_ERROR.into_response();
        resp.extensions_mut().insert(self.0);
        resp
    }
}

/// An error with its trace id: the contract's error body.
pub struct HttpError {
    pub error: ApiError,
    pub trace_id: String,
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.error.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        if status.is_server_error() {
            tracing::error!(trace_id = %self.trace_id, code = self.error.code.as_str(), message = %self.error.message, "request failed");
        }
        let body = self.error.body(&self.trace_id, ec_domain::time::now());
        let mut resp = (status, Json(body)).into_response();
        if self.error.code == ErrorCode::Quota {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        }
        resp
    }
}
