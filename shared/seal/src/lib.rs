//! Sealed evidence bundles.
//!
//! [`seal`] packs a report and its evidence into a gzip'd tar that is byte-for-byte
//! reproducible from the same inputs and key, holding:
//!
//! | path                   | what                                                        |
//! |------------------------|-------------------------------------------------------------|
//! | `manifest.json`        | every listed file (path, sha256, size, media type), the Merkle root, ids, input digests |
//! | `manifest.dsse.json`   | DSSE envelope of an in-toto Statement v1 whose subjects are the listed files |
//! | `checksums.sha256`     | `sha256sum -c` compatible lines for every other entry       |
//! | `keys/signing.pub.pem` | the SPKI PEM public key, ed25519 or P-256 (listed)         |
//! | `VERIFY.md`            | offline verification instructions (listed)                  |
//! | caller files           | the report and the gathered evidence (listed)               |
//!
//! "Listed" means: present in `manifest.json`'s `files`, in the statement's subjects and in
//! the Merkle tree. Only the three control files (`manifest.json`, `manifest.dsse.json`,
//! `checksums.sha256`) are not listed. The statement's predicate also carries the sha256
//! of `manifest.json` itself, so the signature covers every byte of the manifest.
//!
//! [`verify`] / [`verify_with_key`] check all of it offline.

mod archive;
mod bundle;
mod doc;
mod dsse;
mod error;
pub mod key_set;
mod keys;
mod manifest;
mod merkle;
mod paths;
mod signer;
pub mod timestamp;
mod verify;

pub use archive::{MAX_ENTRIES, MAX_TOTAL_BYTES};
pub use bundle::{BundleFile, SealInput, Sealed, StampOutcome, Stamper, seal, seal_stamped};
pub use dsse::{Envelope, EnvelopeSignature, Predicate, Statement, Subject, pae};
pub use error::{SealError, VerifyError};
pub use key_set::{KeySet, PublishedKey, TrustedVerified, verify_trusted};
pub use keys::{ALGORITHM_ECDSA_P256, ALGORITHM_ED25519, PublicKey};
pub use manifest::{Manifest, ManifestFile, SignatureInfo};
pub use merkle::{leaf_hash, merkle_root, merkle_root_hex};
pub use paths::validate_path;
pub use signer::{
    EcdsaP256Signer, Ed25519Signer, key_id_of_pem, parse_public_key_pem, signer_from_pem,
};
pub use timestamp::Timestamp;
pub use verify::{Verified, verify, verify_with_key};

/// Schema id of `manifest.json`.
pub const MANIFEST_SCHEMA: &str = "exportcenter.manifest/v1";
/// in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";
/// Predicate type of the statement.
pub const PREDICATE_TYPE: &str = "https://exportcenter.dev/sealed-export/v1";
/// DSSE payload type of the envelope.
pub const PAYLOAD_TYPE: &str = "application/vnd.in-toto+json";

pub const MANIFEST_PATH: &str = "manifest.json";
pub const DSSE_PATH: &str = "manifest.dsse.json";
pub const CHECKSUMS_PATH: &str = "checksums.sha256";
/// The RFC 3161 timestamp of the DSSE signature (a `TimeStampResp`), when a TSA gave one.
pub const TIMESTAMP_PATH: &str = "manifest.dsse.tsr";
pub const PUBLIC_KEY_PATH: &str = "keys/signing.pub.pem";
pub const VERIFY_DOC_PATH: &str = "VERIFY.md";

pub const PUBLIC_KEY_MEDIA_TYPE: &str = "application/x-pem-file";
pub const VERIFY_DOC_MEDIA_TYPE: &str = "text/markdown; charset=utf-8";

/// Paths the bundle writes itself; caller files may not use them.
pub const RESERVED_PATHS: [&str; 6] = [
    MANIFEST_PATH,
    DSSE_PATH,
    CHECKSUMS_PATH,
    TIMESTAMP_PATH,
    PUBLIC_KEY_PATH,
    VERIFY_DOC_PATH,
];

/// The control files: in the tar, not listed in the manifest (the timestamp only when a
/// TSA gave one; it comes after the signature it covers, so nothing signed can list it).
pub const CONTROL_PATHS: [&str; 4] = [MANIFEST_PATH, DSSE_PATH, CHECKSUMS_PATH, TIMESTAMP_PATH];

/// Lowercase hex sha256.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    ec_domain::ids::sha256_hex(bytes)
}
