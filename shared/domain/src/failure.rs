//! Why a job or a stage failed: [`FailureCode`], the closed set of stable codes recorded on a
//! failed job (`error.code` in the contract), and [`StageError`], what a stage returns when
//! it cannot finish — retryable or not — with the explicit mapping from port errors.

use crate::error::{ErrorCode, PortError};
use crate::wire::string_enum;

string_enum!(
    /// The stages' own failure codes (the API's are [`ErrorCode`]s).
    StageCode {
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

/// Stable code of a failed job or stage (`error.code` in the contract): one of the API's
/// [`ErrorCode`]s (a scheduled run that no longer validates fails with the code the API
/// would have answered) or a stage's own [`StageCode`]. On the wire it is the code's string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureCode {
    Api(ErrorCode),
    Stage(StageCode),
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::Api(c) => c.as_str(),
            FailureCode::Stage(c) => c.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<FailureCode> {
        ErrorCode::parse(s)
            .map(FailureCode::Api)
            .or_else(|| StageCode::parse(s).map(FailureCode::Stage))
    }
}

impl From<ErrorCode> for FailureCode {
    fn from(code: ErrorCode) -> Self {
        FailureCode::Api(code)
    }
}

impl From<StageCode> for FailureCode {
    fn from(code: StageCode) -> Self {
        FailureCode::Stage(code)
    }
}

impl std::fmt::Display for FailureCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for FailureCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for FailureCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        FailureCode::parse(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown failure code {s:?}")))
    }
}

impl PortError {
    /// The code a port failure leaves on a job when it is not mapped to a stage's own.
    pub fn failure_code(&self) -> StageCode {
        match self {
            PortError::NotFound(_) => StageCode::PortNotFound,
            PortError::ConditionFailed(_) => StageCode::PortConditionFailed,
            PortError::Gone(_) => StageCode::PortGone,
            PortError::Unavailable(_) => StageCode::PortUnavailable,
            PortError::Invalid(_) => StageCode::PortInvalid,
            PortError::Backend(_) => StageCode::PortBackend,
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
    pub fn permanent(code: impl Into<FailureCode>, message: impl Into<String>) -> Self {
        StageError::Permanent {
            code: code.into(),
            message: message.into(),
        }
    }

    pub fn retryable(code: impl Into<FailureCode>, message: impl Into<String>) -> Self {
        StageError::Retryable {
            code: code.into(),
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

    pub fn message(&self) -> &str {
        match self {
            StageError::Retryable { message, .. } | StageError::Permanent { message, .. } => {
                message
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
            PortError::Invalid(m) => StageError::permanent(StageCode::InvalidData, m),
            PortError::NotFound(m) => StageError::permanent(ErrorCode::NotFound, m),
            other => StageError::retryable(other.failure_code(), other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_from_their_strings() {
        for api in ErrorCode::ALL {
            let code = FailureCode::from(*api);
            assert_eq!(FailureCode::parse(code.as_str()), Some(code));
        }
        for stage in StageCode::ALL {
            let code = FailureCode::from(*stage);
            let json = serde_json::to_string(&code).unwrap();
            assert_eq!(json, format!("\"{}\"", stage.as_str()));
            assert_eq!(serde_json::from_str::<FailureCode>(&json).unwrap(), code);
        }
        assert!(serde_json::from_str::<FailureCode>("\"ERR_WHATEVER\"").is_err());
    }

    #[test]
    fn port_errors_map_explicitly() {
        let e = StageError::from(PortError::Unavailable("slow".into()));
        assert!(e.is_retryable());
        assert_eq!(e.code(), StageCode::PortUnavailable.into());
        let e = StageError::from(PortError::Invalid("bad".into()));
        assert!(!e.is_retryable());
        assert_eq!(e.code(), StageCode::InvalidData.into());
        let e = StageError::from(PortError::NotFound("gone".into()));
        assert_eq!(e.code().as_str(), "ERR_NOT_FOUND");
    }
}
