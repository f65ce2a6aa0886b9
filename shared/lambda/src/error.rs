//! Handler errors as Lambda diagnostics: the error type says whether a retry can help.

use lambda_runtime::Diagnostic;

#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Lambda (or the event source) should retry the invocation.
    #[error("{0}")]
    Retryable(String),
    /// Retrying the same event cannot succeed.
    #[error("{0}")]
    Permanent(String),
}

impl HandlerError {
    pub fn error_type(&self) -> &'static str {
        match self {
            HandlerError::Retryable(_) => "ExportCenter.Retryable",
            HandlerError::Permanent(_) => "ExportCenter.Permanent",
        }
    }
}

impl From<ec_pipeline::StageError> for HandlerError {
    fn from(e: ec_pipeline::StageError) -> Self {
        if e.is_retryable() {
            HandlerError::Retryable(e.to_string())
        } else {
            HandlerError::Permanent(e.to_string())
        }
    }
}

impl From<HandlerError> for Diagnostic {
    fn from(e: HandlerError) -> Diagnostic {
        Diagnostic {
            error_type: e.error_type().into(),
            error_message: e.to_string(),
        }
    }
}
