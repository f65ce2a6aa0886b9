//! Why a job or a stage failed: [`FailureCode`], the closed set of stable codes recorded on a
//! failed job (`error.code` in the contract), and [`StageError`], what a stage returns when
//! it cannot finish — retryable or not — with the explicit mapping from port errors.

use crate::error::{ErrorCode, PortError};
use crate::wire::string_enum;

string_enum!(
    /// Stable codes of a failed job or stage. The string form never changes once released;
    /// it includes every API [`ErrorCode`] (a scheduled run that no longer validates fails
    /// with the code the API would have answered).
    FailureCode {
        // The API's codes.
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
        // The stages' own.
        /// A queue message that does not parse.
        BadMessage = "ERR_BAD_MESSAGE",
        /// Encoding a message, snapshot or event failed.
        Encode = "ERR_ENCODE",
        /// A port returned data that does not make sense.
        InvalidData = "ERR_INVALID_DATA",
        /// The input snapshot cannot be read back.
        Snapshot = "ERR_SNAPSHOT",
        /// The job's state machine refused the step.
        Transition = "ERR_TRANSITION",
        /// Another worker changed the job first (retryable).
        ConcurrentUpdate = "ERR_CONCURRENT_UPDATE",
        /// Sealing the bundle failed.
        Seal = "ERR_SEAL",
        /// A custom template failed.
        Template = "ERR_TEMPLATE",
        /// A custom template exceeded its time or memory limit.
        TemplateLimit = "ERR_TEMPLATE_LIMIT",
        /// The format × template is not available (or not built into this binary).
        RenderUnsupported = "ERR_RENDER_UNSUPPORTED",
        /// A format's encoder failed.
        RenderEncode = "ERR_RENDER_ENCODE",
        PdfTemplate = "ERR_PDF_TEMPLATE",
        PdfLayout = "ERR_PDF_LAYOUT",
        PdfExport = "ERR_PDF_EXPORT",
        // Port failures that outlived their retries.
        PortNotFound = "PORT_NOT_FOUND",
        PortConditionFailed = "PORT_CONDITION_FAILED",
        PortGone = "PORT_GONE",
        PortUnavailable = "PORT_UNAVAILABLE",
        PortInvalid = "PORT_INVALID",
        PortBackend = "PORT_BACKEND",
    }
);

impl From<ErrorCode> for FailureCode {
    fn from(code: ErrorCode) -> Self {
        match code {
            ErrorCode::MalformedBody => FailureCode::MalformedBody,
            ErrorCode::BadRequest => FailureCode::BadRequest,
            ErrorCode::Unauthenticated => FailureCode::Unauthenticated,
            ErrorCode::Forbidden => FailureCode::Forbidden,
            ErrorCode::NotFound => FailureCode::NotFound,
            ErrorCode::Conflict => FailureCode::Conflict,
            ErrorCode::IdempotencyMismatch => FailureCode::IdempotencyMismatch,
            ErrorCode::NotReady => FailureCode::NotReady,
            ErrorCode::Expired => FailureCode::Expired,
            ErrorCode::PayloadTooLarge => FailureCode::PayloadTooLarge,
            ErrorCode::UnsupportedMediaType => FailureCode::UnsupportedMediaType,
            ErrorCode::ExportValidation => FailureCode::ExportValidation,
            ErrorCode::UnrecognisedDocument => FailureCode::UnrecognisedDocument,
            ErrorCode::Quota => FailureCode::Quota,
            ErrorCode::DataSource => FailureCode::DataSource,
            ErrorCode::Render => FailureCode::Render,
            ErrorCode::Internal => FailureCode::Internal,
            ErrorCode::Unavailable => FailureCode::Unavailable,
            ErrorCode::MethodNotAllowed => FailureCode::MethodNotAllowed,
        }
    }
}

impl PortError {
    /// The code a port failure leaves on a job when it is not mapped to a stage's own.
    pub fn failure_code(&self) -> FailureCode {
        match self {
            PortError::NotFound(_) => FailureCode::PortNotFound,
            PortError::ConditionFailed(_) => FailureCode::PortConditionFailed,
            PortError::Gone(_) => FailureCode::PortGone,
            PortError::Unavailable(_) => FailureCode::PortUnavailable,
            PortError::Invalid(_) => FailureCode::PortInvalid,
            PortError::Backend(_) => FailureCode::PortBackend,
        }
    }
}

/// Why a stage could not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    /// Try again later (storage hiccup, lost a race, dependency down).
    #[error("{code}: {message} (will retry)")]
    Retryable { code: FailureCode, message: String },
    /// Retrying cannot help: the job fails with this error.
    #[error("{code}: {message}")]
    Permanent { code: FailureCode, message: String },
}

impl StageError {
    pub fn permanent(code: FailureCode, message: impl Into<String>) -> Self {
        StageError::Permanent {
            code,
            message: message.into(),
        }
    }

    pub fn retryable(code: FailureCode, message: impl Into<String>) -> Self {
        StageError::Retryable {
            code,
            message: message.into(),
        }
    }

    pub fn is_retryable(&self) -> bool {
        matches!(self, StageError::Retryable { .. })
    }

    pub fn code(&self) -> FailureCode {
        match self {
            StageError::Retryable { code, .. } | StageError::Permanent { code, .. } => *code,
        }
    }

    /// What the failed job records.
    pub fn job_error(&self) -> crate::job::JobError {
        match self {
            StageError::Retryable { code, message } | StageError::Permanent { code, message } => {
                crate::job::JobError::new(*code, message.clone())
            }
        }
    }
}

/// The explicit mapping from port errors: data a port calls invalid, or something it cannot
/// find, will not get better by retrying; everything else (unavailable, a lost condition,
/// a backend error) may.
impl From<PortError> for StageError {
    fn from(e: PortError) -> Self {
        match e {
            PortError::Invalid(m) => StageError::permanent(FailureCode::InvalidData, m),
            PortError::NotFound(m) => StageError::permanent(FailureCode::NotFound, m),
            other => StageError::retryable(other.failure_code(), other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_api_code_is_a_failure_code_with_the_same_string() {
        for (api, failure) in [
            (ErrorCode::NotFound, FailureCode::NotFound),
            (ErrorCode::Quota, FailureCode::Quota),
            (ErrorCode::ExportValidation, FailureCode::ExportValidation),
        ] {
            assert_eq!(FailureCode::from(api), failure);
        }
        for api in ErrorCode::ALL {
            assert_eq!(FailureCode::from(*api).as_str(), api.as_str());
        }
    }

    #[test]
    fn port_errors_map_explicitly() {
        let e = StageError::from(PortError::Unavailable("slow".into()));
        assert!(e.is_retryable());
        assert_eq!(e.code(), FailureCode::PortUnavailable);
        let e = StageError::from(PortError::Invalid("bad".into()));
        assert!(!e.is_retryable());
        assert_eq!(e.code(), FailureCode::InvalidData);
        assert_eq!(
            serde_json::to_string(&FailureCode::ConcurrentUpdate).unwrap(),
            "\"ERR_CONCURRENT_UPDATE\""
        );
    }
}
