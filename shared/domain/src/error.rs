//! Errors that cross the API boundary, with the stable codes of the contract's error body.

use serde::{Deserialize, Serialize};

use crate::wire::string_enum;

string_enum!(
    /// Stable, documented error codes. The string form never changes once released.
    ErrorCode {
        MalformedBody = "ERR_MALFORMED_BODY",
        BadRequest = "ERR_BAD_REQUEST",
        Unauthenticated = "ERR_UNAUTHENTICATED",
        Forbidden = "ERR_FORBIDDEN",
        NotFound = "ERR_NOT_FOUND",
        Conflict = "ERR_CONFLICT",
        IdempotencyMismatch = "ERR_IDEMPOTENCY_MISMATCH",
        NotReady = "ERR_NOT_READY",
        Expired = "ERR_EXPIRED",
        PayloadTooLarge = "ERR_PAYLOAD_TOO_LARGE",
        UnsupportedMediaType = "ERR_UNSUPPORTED_MEDIA_TYPE",
        ExportValidation = "ERR_EXPORT_VALIDATION",
        UnrecognisedDocument = "ERR_UNRECOGNISED_DOCUMENT",
        Quota = "ERR_QUOTA",
        DataSource = "ERR_DATA_SOURCE",
        Render = "ERR_RENDER",
        Internal = "ERR_INTERNAL",
        Unavailable = "ERR_UNAVAILABLE",
        MethodNotAllowed = "ERR_METHOD_NOT_ALLOWED",
    }
);

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
}

/// One field-level problem, as listed in the error body's `details`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDetail {
    pub field: String,
    pub reason: String,
    /// Where in an uploaded source the problem is (`line`, `column`, from 1): template
    /// syntax errors.
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub at: Option<SourcePosition>,
}

/// A place in a text: line and column, both from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    pub line: u32,
    pub column: u32,
}

impl ErrorDetail {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> ErrorDetail {
        ErrorDetail {
            field: field.into(),
            reason: reason.into(),
            at: None,
        }
    }
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
        self.details
            .push(ErrorDetail::new(field.into(), reason.into()));
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
        self.failure_code().as_str()
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
