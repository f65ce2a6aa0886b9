//! Errors that cross the API boundary, with the stable codes of the contract's error body.

use serde::{Deserialize, Serialize};

/// Stable, documented error codes. The string form never changes once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ErrorCode {
    #[serde(rename = "ERR_MALFORMED_BODY")]
    MalformedBody,
    #[serde(rename = "ERR_BAD_REQUEST")]
    BadRequest,
    #[serde(rename = "ERR_UNAUTHENTICATED")]
    Unauthenticated,
    #[serde(rename = "ERR_FORBIDDEN")]
    Forbidden,
    #[serde(rename = "ERR_NOT_FOUND")]
    NotFound,
    #[serde(rename = "ERR_CONFLICT")]
    Conflict,
    #[serde(rename = "ERR_IDEMPOTENCY_MISMATCH")]
    IdempotencyMismatch,
    #[serde(rename = "ERR_NOT_READY")]
    NotReady,
    #[serde(rename = "ERR_EXPIRED")]
    Expired,
    #[serde(rename = "ERR_PAYLOAD_TOO_LARGE")]
    PayloadTooLarge,
    #[serde(rename = "ERR_UNSUPPORTED_MEDIA_TYPE")]
    UnsupportedMediaType,
    #[serde(rename = "ERR_EXPORT_VALIDATION")]
    ExportValidation,
    #[serde(rename = "ERR_UNRECOGNISED_DOCUMENT")]
    UnrecognisedDocument,
    #[serde(rename = "ERR_QUOTA")]
    Quota,
    #[serde(rename = "ERR_DATA_SOURCE")]
    DataSource,
    #[serde(rename = "ERR_RENDER")]
    Render,
    #[serde(rename = "ERR_INTERNAL")]
    Internal,
    #[serde(rename = "ERR_UNAVAILABLE")]
    Unavailable,
    #[serde(rename = "ERR_METHOD_NOT_ALLOWED")]
    MethodNotAllowed,
}

impl ErrorCode {
    /// The HTTP status the contract assigns to this code.
    pub fn status(self) -> u16 {
        match self {
            ErrorCode::MalformedBody | ErrorCode::BadRequest => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::Conflict | ErrorCode::IdempotencyMismatch | ErrorCode::NotReady => 409,
            ErrorCode::Expired => 410,
            ErrorCode::PayloadTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::ExportValidation | ErrorCode::UnrecognisedDocument => 422,
            ErrorCode::Quota => 429,
            ErrorCode::DataSource | ErrorCode::Render | ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::MethodNotAllowed => 405,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MalformedBody => "ERR_MALFORMED_BODY",
            ErrorCode::BadRequest => "ERR_BAD_REQUEST",
            ErrorCode::Unauthenticated => "ERR_UNAUTHENTICATED",
            ErrorCode::Forbidden => "ERR_FORBIDDEN",
            ErrorCode::NotFound => "ERR_NOT_FOUND",
            ErrorCode::Conflict => "ERR_CONFLICT",
            ErrorCode::IdempotencyMismatch => "ERR_IDEMPOTENCY_MISMATCH",
            ErrorCode::NotReady => "ERR_NOT_READY",
            ErrorCode::Expired => "ERR_EXPIRED",
            ErrorCode::PayloadTooLarge => "ERR_PAYLOAD_TOO_LARGE",
            ErrorCode::UnsupportedMediaType => "ERR_UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::ExportValidation => "ERR_EXPORT_VALIDATION",
            ErrorCode::UnrecognisedDocument => "ERR_UNRECOGNISED_DOCUMENT",
            ErrorCode::Quota => "ERR_QUOTA",
            ErrorCode::DataSource => "ERR_DATA_SOURCE",
            ErrorCode::Render => "ERR_RENDER",
            ErrorCode::Internal => "ERR_INTERNAL",
            ErrorCode::Unavailable => "ERR_UNAVAILABLE",
            ErrorCode::MethodNotAllowed => "ERR_METHOD_NOT_ALLOWED",
        }
    }
}

/// One field-level problem, as listed in the error body's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub field: String,
    pub reason: String,
}

/// An error meant for the caller: a code, a sentence, and optional field details.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<ErrorDetail>,
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
            details: Vec::new(),
        }
    }

    pub fn with_detail(mut self, field: impl Into<String>, reason: impl Into<String>) -> Self {
        self.details.push(ErrorDetail {
            field: field.into(),
            reason: reason.into(),
        });
        self
    }

    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        let field = field.into();
        let reason = reason.into();
        ApiError::new(
            ErrorCode::ExportValidation,
            format!("invalid {field}: {reason}"),
        )
        .with_detail(field, reason)
    }

    pub fn not_found(what: &str) -> Self {
        ApiError::new(ErrorCode::NotFound, format!("{what} not found"))
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError::new(ErrorCode::Internal, message)
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The contract's error body.
    pub fn body(&self, trace_id: &str, timestamp: time::OffsetDateTime) -> ErrorBody {
        ErrorBody {
            code: self.code,
            message: self.message.clone(),
            details: self.details.clone(),
            trace_id: trace_id.to_string(),
            timestamp: crate::time::rfc3339(timestamp),
        }
    }
}

/// Error body for every 4xx and 5xx answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorBody {
    pub code: ErrorCode,
    pub message: String,
    pub details: Vec<ErrorDetail>,
    pub trace_id: String,
    pub timestamp: String,
}

/// Failures of a port (storage, queue, table, remote service). Handlers decide what they mean.
#[derive(Debug, thiserror::Error)]
pub enum PortError {
    #[error("not found: {0}")]
    NotFound(String),
    /// A conditional write lost: someone else changed the record first.
    #[error("condition failed: {0}")]
    ConditionFailed(String),
    /// The peer is gone for good (a closed WebSocket connection).
    #[error("gone: {0}")]
    Gone(String),
    /// Worth retrying later: the backend is slow or unreachable.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("invalid data: {0}")]
    Invalid(String),
    #[error("backend error: {0}")]
    Backend(String),
}

impl PortError {
    pub fn backend(e: impl std::fmt::Display) -> Self {
        PortError::Backend(e.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            PortError::NotFound(_) => "PORT_NOT_FOUND",
            PortError::ConditionFailed(_) => "PORT_CONDITION_FAILED",
            PortError::Gone(_) => "PORT_GONE",
            PortError::Unavailable(_) => "PORT_UNAVAILABLE",
            PortError::Invalid(_) => "PORT_INVALID",
            PortError::Backend(_) => "PORT_BACKEND",
        }
    }
}

impl From<PortError> for ApiError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::NotFound(what) => ApiError::not_found(&what),
            PortError::ConditionFailed(m) => ApiError::new(ErrorCode::Conflict, m),
            PortError::Unavailable(m) => ApiError::new(ErrorCode::Unavailable, m),
            other => ApiError::internal(other.to_string()),
        }
    }
}
