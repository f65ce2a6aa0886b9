//! `manifest.json`.

use ec_domain::snapshot::InputDigest;
use serde::{Deserialize, Serialize};

/// `manifest.json`: what the bundle holds. Serialised as pretty JSON with a trailing newline;
/// the field order here is the order on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`crate::MANIFEST_SCHEMA`].
    pub schema: String,
    pub export_id: String,
    pub tenant_id: String,
    /// RFC 3339, UTC, whole seconds.
    pub created_at: String,
    /// Digests of the gathered inputs, sorted.
    pub inputs: Vec<InputDigest>,
    /// Every listed file, sorted by path (everything in the tar except `manifest.json`,
    /// `manifest.dsse.json` and `checksums.sha256`).
    pub files: Vec<ManifestFile>,
    /// See [`crate::merkle_root`].
    pub merkle_root: String,
    pub signature: SignatureInfo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFile {
    pub path: String,
    /// Lowercase hex.
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureInfo {
    /// Lowercase hex sha256 of the SPKI DER public key.
    pub key_id: String,
    /// `ed25519`.
    pub algorithm: String,
    /// `keys/signing.pub.pem`.
    pub public_key_path: String,
}
