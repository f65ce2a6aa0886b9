//! The input snapshot as gather writes it and render and seal read it back: MessagePack
//! with named fields (self-describing, so optional and skipped fields read as they do in
//! JSON), after a versioned header. Smaller than JSON and read without a text parser; the
//! sealed evidence keeps JSON (`evidence/*/scan.json`, the manifest's canonical digests).
//! A snapshot written as JSON (before this encoding, or by hand) still reads.

use crate::snapshot::Snapshot;

/// The header: the format's name, a NUL, and the encoding's version.
pub const HEADER: &[u8] = b"EXPORTCENTER-SNAPSHOT\0\x01";
/// The stored object's media type.
pub const MEDIA_TYPE: &str = "application/vnd.exportcenter.snapshot.v1+msgpack";

/// Encodes a snapshot; fails only on a value MessagePack cannot hold.
pub fn encode(snapshot: &Snapshot) -> Result<Vec<u8>, String> {
    let mut out = HEADER.to_vec();
    rmp_serde::encode::write_named(&mut out, snapshot).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Decodes what [`encode`] wrote, or a snapshot's JSON. Text the findings repeat is shared
/// again as it is read (`shared_text`).
pub fn decode(bytes: &[u8]) -> Result<Snapshot, String> {
    crate::shared_text::pooled(|| decode_pooled(bytes))
}

fn decode_pooled(bytes: &[u8]) -> Result<Snapshot, String> {
    if let Some(body) = bytes.strip_prefix(HEADER) {
        return rmp_serde::from_slice(body).map_err(|e| e.to_string());
    }
    let name = &HEADER[..HEADER.len() - 1];
    if let Some(version) = bytes.strip_prefix(name).and_then(|rest| rest.first()) {
        return Err(format!(
            "snapshot encoding version {version} is not one this build reads (1)"
        ));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    Err("not a snapshot: neither the versioned encoding nor JSON".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_versions_and_other_bytes_are_refused() {
        let mut v2 = HEADER.to_vec();
        if let Some(last) = v2.last_mut() {
            *last = 2;
        }
        v2.extend_from_slice(b"\x80");
        assert!(decode(&v2).is_err_and(|e| e.contains("version 2")));
        assert!(decode(b"garbage").is_err());
        assert!(decode(b"").is_err());
    }
}
