//! Offline verification of a sealed bundle: the archive read within limits (`archive`),
//! then the manifest, the signature over the statement, the files, the Merkle root, the
//! checksums and the timestamp, each mismatch a [`VerifyError`] naming what is wrong.

use std::collections::BTreeMap;

use crate::PublicKey;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE as B64_URL};

use crate::archive::{EntryInfo, kept, read_entries};
use crate::dsse::{Envelope, Statement, pae};
use crate::manifest::Manifest;
use crate::paths::validate_path;
use crate::{VerifyError, sha256_hex};

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub export_id: String,
    pub tenant_id: String,
    pub created_at: String,
    /// Listed files (report, evidence, public key, VERIFY.md).
    pub file_count: usize,
    pub merkle_root: String,
    /// Hex sha256 of the SPKI DER of the key that signed.
    pub key_id: String,
    pub manifest: Manifest,
    /// The RFC 3161 timestamp of the signature (`manifest.dsse.tsr`), checked to cover it
    /// and to be signed by the certificate it carries; [`crate::timestamp::Timestamp::trusted_by`] checks the
    /// TSA against its CA.
    pub timestamp: Option<crate::timestamp::Timestamp>,
}

/// Verifies `bundle` with the public key it carries. This proves integrity and internal
/// consistency; use [`verify_with_key`] to also prove who sealed it.
pub fn verify(bundle: &[u8]) -> Result<Verified, VerifyError> {
    verify_inner(bundle, None)
}

/// [`verify`], and the bundle's key must be `trusted_pem` (SPKI PEM public key, ed25519
/// or P-256).
pub fn verify_with_key(bundle: &[u8], trusted_pem: &str) -> Result<Verified, VerifyError> {
    let trusted =
        PublicKey::from_pem(trusted_pem).map_err(|reason| VerifyError::BadTrustedKey { reason })?;
    verify_inner(bundle, Some(&trusted))
}

fn verify_inner(bundle: &[u8], trusted: Option<&PublicKey>) -> Result<Verified, VerifyError> {
    if bundle.len() < 2 || bundle[..2] != [0x1f, 0x8b] {
        return Err(VerifyError::NotGzip);
    }
    let entries = read_entries(bundle)?;

    // Control files.
    let manifest_bytes = kept(&entries, crate::MANIFEST_PATH)?;
    let manifest: Manifest = parse_json(crate::MANIFEST_PATH, manifest_bytes)?;
    check_manifest_shape(&manifest)?;
    let envelope: Envelope = parse_json(crate::DSSE_PATH, kept(&entries, crate::DSSE_PATH)?)?;
    let checksums = kept(&entries, crate::CHECKSUMS_PATH)?;

    // The key.
    if ![crate::ALGORITHM_ED25519, crate::ALGORITHM_ECDSA_P256]
        .contains(&manifest.signature.algorithm.as_str())
    {
        return Err(VerifyError::UnsupportedAlgorithm {
            algorithm: manifest.signature.algorithm.clone(),
        });
    }
    let key_path = crate::PUBLIC_KEY_PATH;
    let key_pem =
        std::str::from_utf8(kept(&entries, key_path)?).map_err(|_| VerifyError::BadPublicKey {
            path: key_path.into(),
            reason: "not UTF-8".into(),
        })?;
    let key = PublicKey::from_pem(key_pem).map_err(|reason| VerifyError::BadPublicKey {
        path: key_path.into(),
        reason,
    })?;
    let key_id = key.key_id().map_err(|reason| VerifyError::BadPublicKey {
        path: key_path.into(),
        reason,
    })?;
    if key.algorithm() != manifest.signature.algorithm {
        return Err(VerifyError::KeyMismatch {
            reason: format!(
                "manifest.json names algorithm {}, {key_path} is an {} key",
                manifest.signature.algorithm,
                key.algorithm()
            ),
        });
    }
    if let Some(trusted) = trusted
        && trusted != &key
    {
        return Err(VerifyError::UntrustedKey {
            expected: trusted.key_id().unwrap_or_default(),
            actual: key_id,
        });
    }
    if manifest.signature.key_id != key_id {
        return Err(VerifyError::KeyMismatch {
            reason: format!(
                "manifest.json names key {}, {key_path} is key {key_id}",
                manifest.signature.key_id
            ),
        });
    }

    // The signature, then the statement it authenticates.
    let (payload, signature) = check_signature(&envelope, &key, &key_id)?;
    let statement: Statement =
        serde_json::from_slice(&payload).map_err(|e| VerifyError::BadStatement {
            reason: format!("payload is not a statement: {e}"),
        })?;
    if statement.type_ != crate::STATEMENT_TYPE {
        return Err(VerifyError::BadStatement {
            reason: format!("_type is {:?}", statement.type_),
        });
    }
    if statement.predicate_type != crate::PREDICATE_TYPE {
        return Err(VerifyError::BadStatement {
            reason: format!("predicateType is {:?}", statement.predicate_type),
        });
    }

    // The manifest must be what was signed.
    check_manifest_against_statement(&manifest, manifest_bytes, &statement)?;

    // The files must be what the manifest lists.
    for f in &manifest.files {
        let Some(entry) = entries.get(&f.path) else {
            return Err(VerifyError::MissingFile {
                path: f.path.clone(),
            });
        };
        if entry.size != f.size {
            return Err(VerifyError::SizeMismatch {
                path: f.path.clone(),
                expected: f.size,
                actual: entry.size,
            });
        }
        if entry.sha256 != f.sha256 {
            return Err(VerifyError::DigestMismatch {
                path: f.path.clone(),
                expected: f.sha256.clone(),
                actual: entry.sha256.clone(),
            });
        }
    }
    let listed: std::collections::HashSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    if let Some(extra) = entries
        .keys()
        .find(|p| !listed.contains(p.as_str()) && !crate::CONTROL_PATHS.contains(&p.as_str()))
    {
        return Err(VerifyError::UnlistedFile {
            path: extra.clone(),
        });
    }

    let root = crate::merkle_root_hex(
        manifest
            .files
            .iter()
            .map(|f| (f.path.as_str(), f.sha256.as_str())),
    );
    if root != manifest.merkle_root {
        return Err(VerifyError::MerkleMismatch {
            expected: manifest.merkle_root.clone(),
            actual: root,
        });
    }

    check_checksums(checksums, &entries)?;

    let timestamp = match entries.get(crate::TIMESTAMP_PATH) {
        None => None,
        Some(_) => {
            let answer = kept(&entries, crate::TIMESTAMP_PATH)?.to_vec();
            let stamped = crate::timestamp::verify(&answer, &signature, &[])
                .map_err(|reason| VerifyError::BadTimestamp { reason })?;
            Some(crate::timestamp::Timestamp {
                stamped,
                answer,
                signature,
            })
        }
    };

    Ok(Verified {
        export_id: manifest.export_id.clone(),
        tenant_id: manifest.tenant_id.clone(),
        created_at: manifest.created_at.clone(),
        file_count: manifest.files.len(),
        merkle_root: manifest.merkle_root.clone(),
        key_id,
        manifest,
        timestamp,
    })
}

fn parse_json<T: serde::de::DeserializeOwned>(path: &str, bytes: &[u8]) -> Result<T, VerifyError> {
    serde_json::from_slice(bytes).map_err(|e| VerifyError::Malformed {
        path: path.into(),
        reason: e.to_string(),
    })
}

fn malformed_manifest(reason: String) -> VerifyError {
    VerifyError::Malformed {
        path: crate::MANIFEST_PATH.into(),
        reason,
    }
}

fn is_hex_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_manifest_shape(m: &Manifest) -> Result<(), VerifyError> {
    if m.schema != crate::MANIFEST_SCHEMA {
        return Err(malformed_manifest(format!("unknown schema {:?}", m.schema)));
    }
    if m.signature.public_key_path != crate::PUBLIC_KEY_PATH {
        return Err(malformed_manifest(format!(
            "public_key_path must be {}, is {:?}",
            crate::PUBLIC_KEY_PATH,
            m.signature.public_key_path
        )));
    }
    if !is_hex_sha256(&m.merkle_root) {
        return Err(malformed_manifest(
            "merkle_root is not a sha256 hex digest".into(),
        ));
    }
    let mut previous: Option<&str> = None;
    for f in &m.files {
        validate_path(&f.path)
            .map_err(|reason| malformed_manifest(format!("file {:?}: {reason}", f.path)))?;
        if crate::CONTROL_PATHS.contains(&f.path.as_str()) {
            return Err(malformed_manifest(format!("lists control file {}", f.path)));
        }
        if previous.is_some_and(|p| p >= f.path.as_str()) {
            return Err(malformed_manifest(format!(
                "files not sorted by path or duplicated at {}",
                f.path
            )));
        }
        if !is_hex_sha256(&f.sha256) {
            return Err(malformed_manifest(format!(
                "{}: sha256 is not a hex digest",
                f.path
            )));
        }
        previous = Some(&f.path);
    }
    if !m.files.iter().any(|f| f.path == crate::PUBLIC_KEY_PATH) {
        return Err(malformed_manifest(format!(
            "does not list {}",
            crate::PUBLIC_KEY_PATH
        )));
    }
    Ok(())
}

fn decode_b64(s: &str) -> Option<Vec<u8>> {
    B64.decode(s).ok().or_else(|| B64_URL.decode(s).ok())
}

/// Checks the DSSE envelope and returns the authenticated payload and the signature that
/// verified.
fn check_signature(
    envelope: &Envelope,
    key: &PublicKey,
    key_id: &str,
) -> Result<(Vec<u8>, Vec<u8>), VerifyError> {
    let malformed = |reason: &str| VerifyError::Malformed {
        path: crate::DSSE_PATH.into(),
        reason: reason.into(),
    };
    if envelope.payload_type != crate::PAYLOAD_TYPE {
        return Err(malformed(&format!(
            "payloadType is {:?}, expected {}",
            envelope.payload_type,
            crate::PAYLOAD_TYPE
        )));
    }
    let payload =
        decode_b64(&envelope.payload).ok_or_else(|| malformed("payload is not base64"))?;
    if envelope.signatures.is_empty() {
        return Err(VerifyError::BadSignature {
            reason: "no signatures".into(),
        });
    }
    let message = pae(&envelope.payload_type, &payload);
    let mut candidates = 0;
    for s in &envelope.signatures {
        // keyid is an unauthenticated hint; an empty one may be ours.
        if !s.keyid.is_empty() && s.keyid != key_id {
            continue;
        }
        candidates += 1;
        let Some(sig) = decode_b64(&s.sig) else {
            continue;
        };
        if key.verify(&message, &sig) {
            return Ok((payload, sig));
        }
    }
    Err(VerifyError::BadSignature {
        reason: if candidates == 0 {
            format!("no signature by key {key_id}")
        } else {
            format!("signature does not verify with key {key_id}")
        },
    })
}

fn check_manifest_against_statement(
    m: &Manifest,
    manifest_bytes: &[u8],
    st: &Statement,
) -> Result<(), VerifyError> {
    let mismatch = |field: &str, reason: String| VerifyError::ManifestMismatch {
        field: field.into(),
        reason,
    };
    let p = &st.predicate;
    for (field, manifest_value, signed) in [
        ("export_id", &m.export_id, &p.export_id),
        ("tenant_id", &m.tenant_id, &p.tenant_id),
        ("created_at", &m.created_at, &p.created_at),
        ("merkle_root", &m.merkle_root, &p.merkle_root),
    ] {
        if manifest_value != signed {
            return Err(mismatch(
                field,
                format!("manifest has {manifest_value:?}, statement has {signed:?}"),
            ));
        }
    }
    if m.inputs != p.inputs {
        return Err(mismatch("inputs", "input digests differ".into()));
    }
    for (i, f) in m.files.iter().enumerate() {
        let Some(s) = st.subject.get(i) else {
            return Err(mismatch(
                "subject",
                format!("{} is not a signed subject", f.path),
            ));
        };
        if s.name != f.path {
            return Err(mismatch(
                "subject",
                format!(
                    "manifest lists {}, statement has {} in its place",
                    f.path, s.name
                ),
            ));
        }
        if s.digest.get("sha256") != Some(&f.sha256) {
            return Err(mismatch(
                "subject",
                format!("{}: sha256 differs from the signed subject", f.path),
            ));
        }
    }
    if let Some(s) = st.subject.get(m.files.len()) {
        return Err(mismatch(
            "subject",
            format!("signed subject {} is not in the manifest", s.name),
        ));
    }
    let actual = sha256_hex(manifest_bytes);
    if actual != p.manifest_sha256 {
        return Err(mismatch(
            "manifest_sha256",
            format!(
                "manifest.json has sha256 {actual}, the signed manifest had {}",
                p.manifest_sha256
            ),
        ));
    }
    Ok(())
}

fn check_checksums(
    checksums: &[u8],
    entries: &BTreeMap<String, EntryInfo>,
) -> Result<(), VerifyError> {
    let bad = |path: &str, reason: String| VerifyError::ChecksumsMismatch {
        path: path.into(),
        reason,
    };
    let text = std::str::from_utf8(checksums)
        .map_err(|_| bad(crate::CHECKSUMS_PATH, "not UTF-8".into()))?;
    let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
    for (n, line) in text.split_terminator('\n').enumerate() {
        let Some((hash, path)) = line.split_once("  ") else {
            return Err(bad(
                crate::CHECKSUMS_PATH,
                format!("line {} is not '<sha256>  <path>'", n + 1),
            ));
        };
        if !is_hex_sha256(hash) {
            return Err(bad(
                path,
                format!("line {}: not a sha256 hex digest", n + 1),
            ));
        }
        if seen.insert(path, hash).is_some() {
            return Err(bad(path, "listed twice".into()));
        }
    }
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(bad(crate::CHECKSUMS_PATH, "missing final newline".into()));
    }
    for (path, entry) in entries {
        if path == crate::CHECKSUMS_PATH {
            continue;
        }
        match seen.remove(path.as_str()) {
            None => return Err(bad(path, "not listed".into())),
            Some(hash) if hash != entry.sha256 => {
                return Err(bad(
                    path,
                    format!("lists {hash}, the file has {}", entry.sha256),
                ));
            }
            Some(_) => {}
        }
    }
    if let Some(path) = seen.keys().next() {
        return Err(bad(path, "listed but not in the bundle".into()));
    }
    Ok(())
}
