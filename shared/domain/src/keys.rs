//! Object key layout. Keys start with their kind, then the tenant, so that storage
//! notifications can filter on the `reports/` prefix and every key names its owner.

use crate::error::PortError;
use crate::id_types::{ExportId, ScanId, TenantId};
use crate::request::Format;

const MAX_KEY_LEN: usize = 1024;
const MAX_SEGMENT_LEN: usize = 200;

pub const REPORTS_PREFIX: &str = "reports/";

pub fn scan(tenant: &TenantId, scan_id: &ScanId) -> String {
    format!("scans/{tenant}/{scan_id}.json")
}

/// The input snapshot gather writes ([`crate::snapshot_codec`]).
pub fn snapshot(tenant: &TenantId, export_id: &ExportId) -> String {
    format!("inputs/{tenant}/{export_id}/snapshot.msgpack")
}

/// Where a snapshot was written as JSON before the versioned encoding: read when the
/// current key is missing, so a job gathered by the previous release still renders.
pub fn snapshot_json(tenant: &TenantId, export_id: &ExportId) -> String {
    format!("inputs/{tenant}/{export_id}/snapshot.json")
}

pub fn report(tenant: &TenantId, export_id: &ExportId, format: Format) -> String {
    format!(
        "{REPORTS_PREFIX}{tenant}/{export_id}/report.{}",
        format.extension()
    )
}

pub fn sealed(tenant: &TenantId, export_id: &ExportId) -> String {
    format!("sealed/{tenant}/{export_id}/bundle.tar.gz")
}

/// A VEX document attached by a tenant (its statements, in the native model).
pub fn vex(tenant: &TenantId, document_id: &ScanId) -> String {
    format!("{}{document_id}.json", vex_prefix(tenant))
}

pub fn vex_prefix(tenant: &TenantId) -> String {
    format!("vex/{tenant}/")
}

pub fn custom_template(tenant: &TenantId, file: &str) -> String {
    format!("templates/{tenant}/{file}")
}

/// `(tenant, export_id)` of a report key, or `None` for any other key.
pub fn parse_report(key: &str) -> Option<(TenantId, ExportId)> {
    let rest = key.strip_prefix(REPORTS_PREFIX)?;
    let mut parts = rest.split('/');
    let (tenant, export_id, file) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || !file.starts_with("report.") {
        return None;
    }
    Some((
        TenantId::parse(tenant).ok()?,
        ExportId::parse(export_id).ok()?,
    ))
}

/// Checks an object key: 1 to 1024 characters of `[A-Za-z0-9._/-]`, `/`-separated
/// segments that are non-empty, at most 200 characters and do not start with `.` (so no
/// `.`/`..`, no absolute keys, no hidden files).
pub fn validate_key(key: &str) -> Result<(), PortError> {
    let bad = |why: &str| {
        Err(PortError::Invalid(format!(
            "invalid object key {key:?}: {why}"
        )))
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > MAX_KEY_LEN {
        return bad("too long");
    }
    if !key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
    {
        return bad("only A-Z a-z 0-9 . _ / - are allowed");
    }
    for seg in key.split('/') {
        if seg.is_empty() {
            return bad("empty path segment");
        }
        if seg.starts_with('.') {
            return bad("a path segment starts with '.'");
        }
        if seg.len() > MAX_SEGMENT_LEN {
            return bad("path segment too long");
        }
    }
    Ok(())
}

/// A list prefix: empty, or a key optionally followed by one `/`.
pub fn validate_prefix(prefix: &str) -> Result<(), PortError> {
    if prefix.is_empty() {
        return Ok(());
    }
    validate_key(prefix.strip_suffix('/').unwrap_or(prefix))
}

pub fn validate_media_type(media_type: &str) -> Result<(), PortError> {
    if media_type.is_empty()
        || media_type.len() > 255
        || !media_type.bytes().all(|b| (0x20..0x7f).contains(&b))
    {
        return Err(PortError::Invalid(format!(
            "invalid media type {media_type:?}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_keys_round_trip() {
        let (t, e) = (
            TenantId::parse("acme").unwrap(),
            ExportId::parse("exp-01").unwrap(),
        );
        let k = report(&t, &e, Format::Cyclonedx);
        assert_eq!(k, "reports/acme/exp-01/report.cdx.json");
        assert_eq!(parse_report(&k), Some((t.clone(), e.clone())));
        assert_eq!(parse_report(&sealed(&t, &e)), None);
        assert_eq!(parse_report("reports/acme/exp-01/x/report.json"), None);
        assert_eq!(parse_report("reports/../exp-01/report.json"), None);
    }
}
