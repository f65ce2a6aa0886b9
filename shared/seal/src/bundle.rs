//! Sealing: building the deterministic tar.gz.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use ec_domain::ports::Signer;
use ec_domain::snapshot::InputDigest;
use time::OffsetDateTime;

use crate::dsse::{Envelope, EnvelopeSignature, Predicate, Statement, Subject, pae};
use crate::manifest::{Manifest, ManifestFile, SignatureInfo};
use crate::paths::{Conflict, PathSet, validate_path};
use crate::{SealError, sha256_hex};

/// gzip level used for every bundle (fixed so output is reproducible).
const GZIP_LEVEL: u32 = 6;
/// OS byte of the gzip header: 255 = "unknown", independent of the sealing host.
const GZIP_OS_UNKNOWN: u8 = 255;

/// One file the caller puts in the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleFile {
    /// Relative `/`-separated path, e.g. `report.json`, `evidence/snapshot.json`.
    pub path: String,
    pub media_type: String,
    pub bytes: Bytes,
}

#[derive(Debug, Clone)]
pub struct SealInput {
    pub export_id: String,
    pub tenant_id: String,
    /// The manifest timestamp and the mtime of every tar entry.
    pub created_at: OffsetDateTime,
    pub inputs: Vec<InputDigest>,
    /// Report and evidence files.
    pub files: Vec<BundleFile>,
}

#[derive(Debug, Clone)]
pub struct Sealed {
    /// The tar.gz.
    pub bytes: Bytes,
    /// Lowercase hex sha256 of `bytes`.
    pub sha256: String,
    pub manifest: Manifest,
    /// What became of the timestamp.
    pub timestamp: StampOutcome,
}

/// Whether the bundle carries a timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StampOutcome {
    /// No TSA configured.
    NotAsked,
    /// `manifest.dsse.tsr` holds the TSA's answer, stamped at `time` (RFC 3339).
    Stamped { time: String, tsa: String },
    /// The TSA did not give a usable timestamp: the bundle has none.
    Failed { reason: String },
}

/// Gets an RFC 3161 timestamp (the TSA's `TimeStampResp`, DER) over a signature.
#[async_trait::async_trait]
pub trait Stamper: Send + Sync {
    async fn stamp(&self, signature: &[u8]) -> Result<Vec<u8>, String>;
}

/// Builds the sealed bundle. The same input and key give byte-identical output (ed25519
/// signatures are deterministic). CPU-bound (hashing, gzip): call it from a blocking-friendly
/// context for large bundles.
pub async fn seal(input: SealInput, signer: &dyn Signer) -> Result<Sealed, SealError> {
    seal_stamped(input, signer, None).await
}

/// [`seal`], then, with a `stamper`, a timestamp over the signature kept as
/// `manifest.dsse.tsr` (checked first: it must cover this signature). A stamper that fails
/// leaves the bundle without one, saying why in [`Sealed::timestamp`].
pub async fn seal_stamped(
    input: SealInput,
    signer: &dyn Signer,
    stamper: Option<&dyn Stamper>,
) -> Result<Sealed, SealError> {
    for (field, value) in [
        ("export_id", &input.export_id),
        ("tenant_id", &input.tenant_id),
    ] {
        if !ec_domain::ids::is_safe_id(value) {
            return Err(SealError::InvalidInput {
                field: field.into(),
                reason: format!("{value:?} is not a safe id"),
            });
        }
    }
    check_files(&input.files)?;

    // The signer's key must be ed25519 or P-256, its algorithm the key's, and its id the
    // sha256 of its SPKI DER: that is what verification checks, so refuse anything else now
    // rather than seal an unverifiable bundle.
    let public_pem = signer.public_key_pem();
    let public_key = crate::PublicKey::from_pem(&public_pem)
        .map_err(|e| SealError::Key(format!("signer public key: {e}")))?;
    let algorithm = signer.algorithm();
    if algorithm != public_key.algorithm() {
        return Err(SealError::Key(format!(
            "the signer says {algorithm:?} but its key is an {} key",
            public_key.algorithm()
        )));
    }
    let key_id = signer.key_id();
    let expected_key_id = public_key.key_id().map_err(SealError::Key)?;
    if key_id != expected_key_id {
        return Err(SealError::Key(format!(
            "signer key id {key_id:?} is not the sha256 of its public key ({expected_key_id})"
        )));
    }

    let created_at = ec_domain::time::rfc3339(input.created_at);
    let mtime = u64::try_from(input.created_at.unix_timestamp()).unwrap_or(0);

    let mut listed: Vec<BundleFile> = input.files;
    listed.push(BundleFile {
        path: crate::PUBLIC_KEY_PATH.into(),
        media_type: crate::PUBLIC_KEY_MEDIA_TYPE.into(),
        bytes: Bytes::from(public_pem.into_bytes()),
    });
    listed.push(BundleFile {
        path: crate::VERIFY_DOC_PATH.into(),
        media_type: crate::VERIFY_DOC_MEDIA_TYPE.into(),
        bytes: Bytes::from(crate::doc::render(&input.export_id, &key_id, algorithm).into_bytes()),
    });
    listed.sort_by(|a, b| a.path.cmp(&b.path));

    let files: Vec<ManifestFile> = listed
        .iter()
        .map(|f| ManifestFile {
            path: f.path.clone(),
            sha256: sha256_hex(&f.bytes),
            size: f.bytes.len() as u64,
            media_type: f.media_type.clone(),
        })
        .collect();
    let merkle_root =
        crate::merkle_root_hex(files.iter().map(|f| (f.path.as_str(), f.sha256.as_str())));
    let mut inputs = input.inputs;
    inputs.sort();
    inputs.dedup();

    let manifest = Manifest {
        schema: crate::MANIFEST_SCHEMA.into(),
        export_id: input.export_id,
        tenant_id: input.tenant_id,
        created_at,
        inputs,
        files,
        merkle_root,
        signature: SignatureInfo {
            key_id: key_id.clone(),
            algorithm: algorithm.into(),
            public_key_path: crate::PUBLIC_KEY_PATH.into(),
        },
    };
    let manifest_bytes = pretty_json(&manifest)?;

    let statement = Statement {
        type_: crate::STATEMENT_TYPE.into(),
        subject: manifest
            .files
            .iter()
            .map(|f| Subject {
                name: f.path.clone(),
                digest: [("sha256".to_string(), f.sha256.clone())].into(),
            })
            .collect(),
        predicate_type: crate::PREDICATE_TYPE.into(),
        predicate: Predicate {
            export_id: manifest.export_id.clone(),
            tenant_id: manifest.tenant_id.clone(),
            created_at: manifest.created_at.clone(),
            merkle_root: manifest.merkle_root.clone(),
            manifest_sha256: sha256_hex(&manifest_bytes),
            inputs: manifest.inputs.clone(),
        },
    };
    let payload = serde_json::to_vec(&statement).map_err(|e| SealError::Encode(e.to_string()))?;
    let to_sign = pae(crate::PAYLOAD_TYPE, &payload);
    let sig = signer.sign(&to_sign).await.map_err(SealError::Signer)?;
    if !public_key.verify(&to_sign, &sig) {
        return Err(SealError::Key(
            "the signer's signature does not verify with its public key".into(),
        ));
    }

    let envelope = Envelope {
        payload_type: crate::PAYLOAD_TYPE.into(),
        payload: B64.encode(&payload),
        signatures: vec![EnvelopeSignature {
            keyid: key_id,
            sig: B64.encode(&sig),
        }],
    };
    let envelope_bytes = pretty_json(&envelope)?;

    let mut entries: Vec<(String, Bytes)> = listed.into_iter().map(|f| (f.path, f.bytes)).collect();
    entries.push((crate::MANIFEST_PATH.into(), Bytes::from(manifest_bytes)));
    entries.push((crate::DSSE_PATH.into(), Bytes::from(envelope_bytes)));
    let timestamp = match stamper {
        None => StampOutcome::NotAsked,
        Some(s) => match s.stamp(&sig).await.and_then(|answer| {
            crate::timestamp::verify(&answer, &sig, &[]).map(|stamped| (answer, stamped))
        }) {
            Ok((answer, stamped)) => {
                entries.push((crate::TIMESTAMP_PATH.into(), Bytes::from(answer)));
                StampOutcome::Stamped {
                    time: stamped.time,
                    tsa: stamped.tsa,
                }
            }
            Err(reason) => StampOutcome::Failed { reason },
        },
    };
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let checksums = checksums_file(&entries);
    entries.push((crate::CHECKSUMS_PATH.into(), Bytes::from(checksums)));
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    let bytes = Bytes::from(write_tar_gz(&entries, mtime)?);
    Ok(Sealed {
        sha256: sha256_hex(&bytes),
        bytes,
        manifest,
        timestamp,
    })
}

fn check_files(files: &[BundleFile]) -> Result<(), SealError> {
    let mut set = PathSet::default();
    for reserved in crate::RESERVED_PATHS {
        // Reserve the bundle's own paths (and their parent directories) up front.
        let _ = set.insert_file(reserved);
    }
    for f in files {
        validate_path(&f.path).map_err(|reason| SealError::UnsafePath {
            path: f.path.clone(),
            reason,
        })?;
        if crate::RESERVED_PATHS
            .iter()
            .any(|r| r.eq_ignore_ascii_case(&f.path))
        {
            return Err(SealError::ReservedPath {
                path: f.path.clone(),
            });
        }
        match set.insert_file(&f.path) {
            Ok(()) => {}
            Err(Conflict::Duplicate) => {
                return Err(SealError::DuplicatePath {
                    path: f.path.clone(),
                });
            }
            Err(Conflict::FileDirectory(reason)) => {
                return Err(SealError::UnsafePath {
                    path: f.path.clone(),
                    reason,
                });
            }
        }
        if f.media_type.is_empty()
            || f.media_type.len() > 255
            || f.media_type.chars().any(|c| c.is_control())
        {
            return Err(SealError::InvalidInput {
                field: format!("media_type of {}", f.path),
                reason: "must be 1..=255 characters without control characters".into(),
            });
        }
    }
    Ok(())
}

fn pretty_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, SealError> {
    let mut out = serde_json::to_vec_pretty(value).map_err(|e| SealError::Encode(e.to_string()))?;
    out.push(b'\n');
    Ok(out)
}

/// `sha256sum` format: `<hex>  <path>\n`, in the (sorted) order given. Paths contain no
/// backslash or newline, so no escaping is needed.
fn checksums_file(entries: &[(String, Bytes)]) -> Vec<u8> {
    let mut out = String::new();
    for (path, bytes) in entries {
        out.push_str(&sha256_hex(bytes));
        out.push_str("  ");
        out.push_str(path);
        out.push('\n');
    }
    out.into_bytes()
}

/// GNU-format tar (long paths via `././@LongLink`), regular files only, mode 0644,
/// uid/gid 0, empty user/group names, fixed mtime; gzip with mtime 0, no file name,
/// OS byte 255, level 6.
fn write_tar_gz(entries: &[(String, Bytes)], mtime: u64) -> Result<Vec<u8>, SealError> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(GZIP_OS_UNKNOWN)
        .write(Vec::new(), flate2::Compression::new(GZIP_LEVEL));
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        header
            .set_username("")
            .and_then(|_| header.set_groupname(""))
            .and_then(|_| tar.append_data(&mut header, path, &bytes[..]))
            .map_err(|e| SealError::io(format!("writing tar entry {path}"), e))?;
    }
    let gz = tar
        .into_inner()
        .map_err(|e| SealError::io("finishing tar", e))?;
    gz.finish().map_err(|e| SealError::io("finishing gzip", e))
}
