//! Errors of sealing and of verification, each with a stable code.

use ec_domain::error::PortError;

/// Sealing failed. The codes are stable.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("unsafe bundle path {path:?}: {reason}")]
    UnsafePath { path: String, reason: String },
    #[error("duplicate bundle path {path:?}")]
    DuplicatePath { path: String },
    #[error("bundle path {path:?} is reserved for the bundle's own files")]
    ReservedPath { path: String },
    #[error("invalid {field}: {reason}")]
    InvalidInput { field: String, reason: String },
    #[error("signing failed: {0}")]
    Signer(#[source] PortError),
    #[error("signing key: {0}")]
    Key(String),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("encoding failed: {0}")]
    Encode(String),
}

impl SealError {
    pub fn code(&self) -> &'static str {
        match self {
            SealError::UnsafePath { .. } => "SEAL_UNSAFE_PATH",
            SealError::DuplicatePath { .. } => "SEAL_DUPLICATE_PATH",
            SealError::ReservedPath { .. } => "SEAL_RESERVED_PATH",
            SealError::InvalidInput { .. } => "SEAL_INVALID_INPUT",
            SealError::Signer(_) => "SEAL_SIGNER",
            SealError::Key(_) => "SEAL_KEY",
            SealError::Io { .. } => "SEAL_IO",
            SealError::Encode(_) => "SEAL_ENCODE",
        }
    }

    /// True when the same call may succeed later (the signer backend was unavailable).
    pub fn is_retryable(&self) -> bool {
        matches!(self, SealError::Signer(PortError::Unavailable(_)))
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        SealError::Io {
            context: context.into(),
            source,
        }
    }
}

/// Verification failed: the bundle is not what was sealed, or not a sealed bundle.
/// [`VerifyError::code`] is stable; the message is a human reason naming the offending path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("not a gzip file")]
    NotGzip,
    #[error("corrupt archive: {reason}")]
    CorruptArchive { reason: String },
    #[error("bundle too large: {reason}")]
    TooLarge { reason: String },
    #[error("unsafe archive entry {path:?}: {reason}")]
    UnsafeEntry { path: String, reason: String },
    #[error("duplicate archive entry {path:?}")]
    DuplicateEntry { path: String },
    #[error("malformed {path}: {reason}")]
    Malformed { path: String, reason: String },
    #[error("unsupported signature algorithm {algorithm:?}")]
    UnsupportedAlgorithm { algorithm: String },
    #[error("bad public key {path}: {reason}")]
    BadPublicKey { path: String, reason: String },
    #[error("bad trusted key: {reason}")]
    BadTrustedKey { reason: String },
    #[error("bundle signed by untrusted key {actual} (expected {expected})")]
    UntrustedKey { expected: String, actual: String },
    #[error(
        "key {key_id} was not valid when the bundle was sealed ({sealed_at}; valid from {not_before:?} until {not_after:?})"
    )]
    KeyNotValid {
        key_id: String,
        sealed_at: String,
        not_before: Option<String>,
        not_after: Option<String>,
    },
    #[error("bad timestamp manifest.dsse.tsr: {reason}")]
    BadTimestamp { reason: String },
    #[error("key id mismatch: {reason}")]
    KeyMismatch { reason: String },
    #[error("bad signature in manifest.dsse.json: {reason}")]
    BadSignature { reason: String },
    #[error("signed statement is not a sealed-export statement: {reason}")]
    BadStatement { reason: String },
    #[error("manifest.json does not match the signed statement ({field}): {reason}")]
    ManifestMismatch { field: String, reason: String },
    #[error("missing file {path} (listed in manifest.json)")]
    MissingFile { path: String },
    #[error("unlisted file {path} (not in manifest.json)")]
    UnlistedFile { path: String },
    #[error("size mismatch for {path}: manifest says {expected} bytes, archive has {actual}")]
    SizeMismatch {
        path: String,
        expected: u64,
        actual: u64,
    },
    #[error("sha256 mismatch for {path}: manifest says {expected}, archive has {actual}")]
    DigestMismatch {
        path: String,
        expected: String,
        actual: String,
    },
    #[error("merkle root mismatch: manifest says {expected}, files give {actual}")]
    MerkleMismatch { expected: String, actual: String },
    #[error("checksums.sha256 is inconsistent at {path}: {reason}")]
    ChecksumsMismatch { path: String, reason: String },
}

impl VerifyError {
    /// Stable code, e.g. for `exportctl verify` output and exit reasons.
    pub fn code(&self) -> &'static str {
        match self {
            VerifyError::NotGzip => "SEAL_NOT_GZIP",
            VerifyError::CorruptArchive { .. } => "SEAL_CORRUPT_ARCHIVE",
            VerifyError::TooLarge { .. } => "SEAL_TOO_LARGE",
            VerifyError::UnsafeEntry { .. } => "SEAL_UNSAFE_ENTRY",
            VerifyError::DuplicateEntry { .. } => "SEAL_DUPLICATE_ENTRY",
            VerifyError::Malformed { .. } => "SEAL_MALFORMED",
            VerifyError::UnsupportedAlgorithm { .. } => "SEAL_UNSUPPORTED_ALGORITHM",
            VerifyError::BadPublicKey { .. } => "SEAL_BAD_PUBLIC_KEY",
            VerifyError::BadTrustedKey { .. } => "SEAL_BAD_TRUSTED_KEY",
            VerifyError::UntrustedKey { .. } => "SEAL_UNTRUSTED_KEY",
            VerifyError::KeyNotValid { .. } => "SEAL_KEY_NOT_VALID",
            VerifyError::BadTimestamp { .. } => "SEAL_BAD_TIMESTAMP",
            VerifyError::KeyMismatch { .. } => "SEAL_KEY_MISMATCH",
            VerifyError::BadSignature { .. } => "SEAL_BAD_SIGNATURE",
            VerifyError::BadStatement { .. } => "SEAL_BAD_STATEMENT",
            VerifyError::ManifestMismatch { .. } => "SEAL_MANIFEST_MISMATCH",
            VerifyError::MissingFile { .. } => "SEAL_MISSING_FILE",
            VerifyError::UnlistedFile { .. } => "SEAL_UNLISTED_FILE",
            VerifyError::SizeMismatch { .. } => "SEAL_SIZE_MISMATCH",
            VerifyError::DigestMismatch { .. } => "SEAL_DIGEST_MISMATCH",
            VerifyError::MerkleMismatch { .. } => "SEAL_MERKLE_MISMATCH",
            VerifyError::ChecksumsMismatch { .. } => "SEAL_CHECKSUMS_MISMATCH",
        }
    }

    /// The bundle path the error is about, when there is one.
    pub fn path(&self) -> Option<&str> {
        match self {
            VerifyError::UnsafeEntry { path, .. }
            | VerifyError::DuplicateEntry { path }
            | VerifyError::Malformed { path, .. }
            | VerifyError::BadPublicKey { path, .. }
            | VerifyError::MissingFile { path }
            | VerifyError::UnlistedFile { path }
            | VerifyError::SizeMismatch { path, .. }
            | VerifyError::DigestMismatch { path, .. }
            | VerifyError::ChecksumsMismatch { path, .. } => Some(path),
            VerifyError::BadSignature { .. } | VerifyError::BadStatement { .. } => {
                Some(crate::DSSE_PATH)
            }
            VerifyError::BadTimestamp { .. } => Some(crate::TIMESTAMP_PATH),
            VerifyError::ManifestMismatch { .. } => Some(crate::MANIFEST_PATH),
            VerifyError::KeyMismatch { .. }
            | VerifyError::UntrustedKey { .. }
            | VerifyError::KeyNotValid { .. } => Some(crate::PUBLIC_KEY_PATH),
            VerifyError::MerkleMismatch { .. } => Some(crate::MANIFEST_PATH),
            VerifyError::NotGzip
            | VerifyError::CorruptArchive { .. }
            | VerifyError::TooLarge { .. }
            | VerifyError::UnsupportedAlgorithm { .. }
            | VerifyError::BadTrustedKey { .. } => None,
        }
    }
}
