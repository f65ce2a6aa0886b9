//! Identifiers: export ids are sortable (ULID), scan ids are content addresses.

use std::io::Write as _;
use std::sync::{LazyLock, Mutex};

use sha2::{Digest, Sha256};

/// One generator per process: ids made within the same millisecond still sort in the
/// order they were made (a plain ULID's random part would order them by chance).
static ULIDS: LazyLock<Mutex<ulid::Generator>> =
    LazyLock::new(|| Mutex::new(ulid::Generator::new()));

/// `{prefix}-` + a lowercase ULID: unique, and sorts by creation time.
pub fn new_sortable_id(prefix: &str) -> String {
    let next = ULIDS
        .lock()
        .map(|mut g| g.generate())
        .ok()
        .and_then(Result::ok)
        // A poisoned lock, or 2^80 ids in one millisecond: unique still, if not in order.
        .unwrap_or_else(|| ulid::Ulid::from_datetime(std::time::SystemTime::now()));
    format!("{prefix}-{}", next.to_string().to_lowercase())
}

/// `exp-` + a lowercase ULID: unique, and sorts by creation time.
pub fn new_export_id() -> String {
    new_sortable_id("exp")
}

/// A scan id derived from the tenant and the document bytes, so re-ingesting the same
/// document is idempotent and yields the same id.
pub fn scan_id_for(tenant: &str, document: &[u8]) -> String {
    content_id("scan", tenant, document)
}

/// The id a VEX document (or a scan document's embedded VEX) is stored under, derived the
/// same way as [`scan_id_for`].
pub fn vex_id_for(tenant: &str, document: &[u8]) -> String {
    content_id("vex", tenant, document)
}

fn content_id(prefix: &str, tenant: &str, document: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0u8]);
    h.update(document);
    format!("{prefix}-{}", &hex_of(h.finalize())[..24])
}

/// Lowercase hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex_of(Sha256::digest(bytes))
}

fn hex_of(digest: impl AsRef<[u8]>) -> String {
    // Into a fixed buffer: `hex::encode`'s char iterator is slow for what reports hash
    // (a SARIF fingerprint per finding).
    let digest = digest.as_ref();
    let mut out = [0u8; 64];
    match hex::encode_to_slice(digest, &mut out) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        // Unreachable (64 hex digits for 32 bytes), but never a panic.
        Err(_) => hex::encode(digest),
    }
}

/// Tenant ids and resource ids end up in object keys and URLs: keep them to a safe alphabet.
pub fn is_safe_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        && !s.starts_with('.')
}

/// The exact bytes an input is digested and stored as (compact serde_json). Serialising our
/// own plain data types cannot fail; should it ever, the empty output fails verification.
pub fn canonical_json<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// `sha256_hex(&canonical_json(value))`, hashed while it is serialised instead of from a
/// buffer: a scan of 100,000 findings is ~185 MB of JSON.
pub fn canonical_json_sha256<T: serde::Serialize + ?Sized>(value: &T) -> String {
    let mut hasher = Sha256::new();
    let written = {
        // serde_json writes token by token; the hash wants blocks.
        let mut out = std::io::BufWriter::with_capacity(64 * 1024, &mut hasher);
        serde_json::to_writer(&mut out, value).is_ok() && out.flush().is_ok()
    };
    if written {
        hex_of(hasher.finalize())
    } else {
        // As `canonical_json`: what failed to serialise is digested as empty.
        sha256_hex(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_digest_equals_the_digest_of_the_bytes() {
        let small = serde_json::json!({"b": [1, 2.5, null], "a": "é\"\\n"});
        // Larger than the write buffer, so the hash is fed in several blocks.
        let large: Vec<String> = (0..20_000).map(|i| format!("finding-{i}")).collect();
        assert!(canonical_json(&large).len() > 64 * 1024);
        for value in [small, serde_json::json!(large), serde_json::json!([])] {
            assert_eq!(
                canonical_json_sha256(&value),
                sha256_hex(&canonical_json(&value))
            );
        }
        assert_eq!(
            canonical_json_sha256(&()),
            "74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b"
        );
    }
}
