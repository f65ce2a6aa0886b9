//! Reads scanner reports into the native scan model.
//!
//! The format is detected from the content, never from a file name:
//!
//! * Trivy JSON, `SchemaVersion` 2: an object with `SchemaVersion` and `Results` or
//!   `ArtifactName` ([`TRIVY_JSON_V2`]);
//! * Trivy JSON, legacy (before v0.20): a non-empty top-level array of result objects, each
//!   with `Target` and `Vulnerabilities` ([`TRIVY_JSON_LEGACY`]);
//! * Grype JSON: an object with a `matches` array and `descriptor.name == "grype"` or a
//!   `source` field ([`GRYPE_JSON`]).
//!
//! Anything else, including other valid JSON (CycloneDX, SPDX, `{}`, `[]`), is
//! [`IngestError::Unrecognised`].

mod grype;
mod json;
mod trivy;

use ec_domain::scan::{Component, Finding, Scan, ScannedArtifact, Scanner};
use ec_domain::{ApiError, ErrorCode, ids};
use serde_json::Value;
use time::OffsetDateTime;

/// `source_format` of a Trivy JSON report with `SchemaVersion` 2.
pub const TRIVY_JSON_V2: &str = "trivy-json-v2";
/// `source_format` of a legacy Trivy JSON report (a top-level array of results).
pub const TRIVY_JSON_LEGACY: &str = "trivy-json-legacy";
/// `source_format` of a Grype JSON report.
pub const GRYPE_JSON: &str = "grype-json";

/// What [`parse_scan`] accepts, as told to a caller whose document was not recognised.
pub const EXPECTED: &str =
    "a Trivy JSON report (SchemaVersion 2 or the legacy top-level array) or a Grype JSON report";

/// A scanner report read into the native model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    pub scan: Scan,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not a JSON document.
    #[error("the document is not valid JSON: {0}")]
    NotJson(String),
    /// Valid JSON, but not a report of a format this crate reads.
    #[error("unrecognised document: expected {expected}")]
    Unrecognised { expected: &'static str },
    /// Recognised as `format`, but a required part is missing or malformed.
    #[error("invalid {format} document: {reason}")]
    Invalid {
        format: &'static str,
        reason: String,
    },
}

impl IngestError {
    /// Stable code, for logs and metrics.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::NotJson(_) => "INGEST_NOT_JSON",
            IngestError::Unrecognised { .. } => "INGEST_UNRECOGNISED",
            IngestError::Invalid { .. } => "INGEST_INVALID",
        }
    }

    pub(crate) fn invalid(format: &'static str, reason: impl Into<String>) -> Self {
        IngestError::Invalid {
            format,
            reason: reason.into(),
        }
    }
}

fn describe_format(format: &str) -> &'static str {
    match format {
        TRIVY_JSON_V2 => "Trivy JSON report (SchemaVersion 2)",
        TRIVY_JSON_LEGACY => "legacy Trivy JSON report (top-level array of results)",
        GRYPE_JSON => "Grype JSON report",
        _ => "scanner report",
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::NotJson(reason) => ApiError::new(
                ErrorCode::MalformedBody,
                format!("the document is not valid JSON: {reason}"),
            )
            .with_detail("document", reason),
            IngestError::Unrecognised { expected } => ApiError::new(
                ErrorCode::UnrecognisedDocument,
                format!("unrecognised document: expected {expected}"),
            ),
            IngestError::Invalid { format, reason } => ApiError::new(
                ErrorCode::UnrecognisedDocument,
                format!(
                    "the document looks like a {} but cannot be read: {reason}",
                    describe_format(format)
                ),
            )
            .with_detail("document", reason),
        }
    }
}

/// What a format reader returns; [`parse_scan`] adds the identity and the times.
pub(crate) struct Parsed {
    pub artifact: ScannedArtifact,
    pub scanner: Scanner,
    pub source_format: &'static str,
    /// The document's own timestamp, when it has a readable one.
    pub scanned_at: Option<OffsetDateTime>,
    pub components: Vec<Component>,
    pub findings: Vec<Finding>,
}

enum Detected<'a> {
    TrivyV2,
    TrivyLegacy(&'a [Value]),
    Grype,
}

fn detect(doc: &Value) -> Option<Detected<'_>> {
    match doc {
        Value::Object(o) => {
            if o.contains_key("SchemaVersion")
                && (o.contains_key("Results") || o.contains_key("ArtifactName"))
            {
                return Some(Detected::TrivyV2);
            }
            let named_grype = doc
                .get("descriptor")
                .and_then(|d| d.get("name"))
                .and_then(Value::as_str)
                == Some("grype");
            let has_matches = o.contains_key("matches");
            let matches_array = o.get("matches").is_some_and(Value::is_array);
            if (named_grype && has_matches) || (matches_array && o.contains_key("source")) {
                return Some(Detected::Grype);
            }
            None
        }
        Value::Array(items) => {
            let legacy = !items.is_empty()
                && items.iter().all(|r| {
                    r.get("Target").is_some_and(Value::is_string)
                        && r.get("Vulnerabilities")
                            .is_some_and(|v| v.is_array() || v.is_null())
                });
            legacy.then_some(Detected::TrivyLegacy(items))
        }
        _ => None,
    }
}

/// Reads a scanner report (Trivy or Grype JSON, detected from the content) into a [`Scan`]
/// owned by `tenant`.
///
/// The scan id is derived from the tenant and the exact bytes, so ingesting the same
/// document twice yields the same id.
pub fn parse_scan(
    bytes: &[u8],
    tenant: &str,
    ingested_at: OffsetDateTime,
) -> Result<Ingested, IngestError> {
    // Tolerate a UTF-8 byte order mark; the ids still hash the bytes as received.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let doc: Value =
        serde_json::from_slice(text).map_err(|e| IngestError::NotJson(e.to_string()))?;
    let parsed = match detect(&doc) {
        Some(Detected::TrivyV2) => trivy::parse_v2(&doc)?,
        Some(Detected::TrivyLegacy(results)) => trivy::parse_legacy(results)?,
        Some(Detected::Grype) => grype::parse(&doc)?,
        None => return Err(IngestError::Unrecognised { expected: EXPECTED }),
    };
    let mut scan = Scan {
        scan_id: ids::scan_id_for(tenant, bytes),
        tenant_id: tenant.to_string(),
        artifact: parsed.artifact,
        scanner: parsed.scanner,
        source_format: parsed.source_format.to_string(),
        scanned_at: parsed.scanned_at.unwrap_or(ingested_at),
        ingested_at,
        document_sha256: ids::sha256_hex(bytes),
        components: parsed.components,
        findings: parsed.findings,
    };
    scan.normalise();
    Ok(Ingested { scan })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2025-01-02 03:04:05 UTC);

    fn kind(bytes: &[u8]) -> &'static str {
        match parse_scan(bytes, "t1", AT) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn detection_by_content() {
        assert_eq!(kind(b"not json"), "INGEST_NOT_JSON");
        assert_eq!(kind(b""), "INGEST_NOT_JSON");
        assert_eq!(kind(b"{}"), "INGEST_UNRECOGNISED");
        assert_eq!(kind(b"[]"), "INGEST_UNRECOGNISED");
        assert_eq!(kind(b"null"), "INGEST_UNRECOGNISED");
        assert_eq!(kind(b"42"), "INGEST_UNRECOGNISED");
        assert_eq!(kind(b"[1, 2]"), "INGEST_UNRECOGNISED");
        assert_eq!(kind(br#"[{"Target": "x"}]"#), "INGEST_UNRECOGNISED");
        assert_eq!(kind(br#"{"matches": []}"#), "INGEST_UNRECOGNISED");
        assert_eq!(kind(br#"{"SchemaVersion": 2}"#), "INGEST_UNRECOGNISED");
        assert_eq!(kind(br#"{"SchemaVersion": 2, "Results": []}"#), "ok");
        assert_eq!(kind(br#"[{"Target": "x", "Vulnerabilities": null}]"#), "ok");
        assert_eq!(kind(br#"{"matches": [], "source": {}}"#), "ok");
        assert_eq!(
            kind(br#"{"matches": [], "descriptor": {"name": "grype"}}"#),
            "ok"
        );
        // A byte order mark is tolerated.
        assert_eq!(
            kind(b"\xEF\xBB\xBF{\"SchemaVersion\": 2, \"Results\": []}"),
            "ok"
        );
    }

    #[test]
    fn structural_problems_are_invalid() {
        for doc in [
            r#"{"SchemaVersion": 2, "Results": "x"}"#,
            r#"{"SchemaVersion": 3, "Results": []}"#,
            r#"{"SchemaVersion": 2, "Results": [{"Target": "a", "Vulnerabilities": [{"PkgName": "p"}]}]}"#,
            r#"{"SchemaVersion": 2, "Results": [{"Target": "a", "Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]}"#,
            r#"{"SchemaVersion": 2, "Results": [{"Target": "a", "Vulnerabilities": {}}]}"#,
            r#"{"SchemaVersion": 2, "Results": [7]}"#,
            r#"[{"Target": "a", "Vulnerabilities": [{"PkgName": "p"}]}]"#,
            r#"{"matches": [{"artifact": {"name": "a"}}], "source": {}}"#,
            r#"{"matches": [{"vulnerability": {}, "artifact": {"name": "a"}}], "source": {}}"#,
            r#"{"matches": [{"vulnerability": {"id": "CVE-1"}, "artifact": {}}], "source": {}}"#,
            r#"{"matches": {}, "descriptor": {"name": "grype"}}"#,
        ] {
            assert_eq!(kind(doc.as_bytes()), "INGEST_INVALID", "{doc}");
        }
    }

    #[test]
    fn api_error_mapping() {
        let e: ApiError = IngestError::NotJson("eof".into()).into();
        assert_eq!(e.code, ErrorCode::MalformedBody);
        assert_eq!(e.status(), 400);

        let e: ApiError = IngestError::Unrecognised { expected: EXPECTED }.into();
        assert_eq!(e.code, ErrorCode::UnrecognisedDocument);
        assert_eq!(e.status(), 422);
        assert!(e.message.contains("Trivy JSON report"), "{}", e.message);
        assert!(e.message.contains("Grype JSON report"), "{}", e.message);

        let e: ApiError =
            IngestError::invalid(GRYPE_JSON, "matches[0]: missing vulnerability.id").into();
        assert_eq!(e.code, ErrorCode::UnrecognisedDocument);
        assert!(e.message.contains("Grype JSON report"), "{}", e.message);
        assert!(e.message.contains("matches[0]"), "{}", e.message);
    }

    #[test]
    fn minimal_documents_map_fields() {
        let trivy = br#"{"SchemaVersion": 2, "ArtifactName": "img:1", "ArtifactType": "container_image",
            "CreatedAt": "2024-05-06T07:08:09.999+02:00",
            "Metadata": {"RepoDigests": ["img@sha256:abc"], "ImageID": "sha256:def", "OS": {"Family": "debian", "Name": "12"}},
            "Results": [{"Target": "img:1 (debian 12)", "Type": "debian", "Vulnerabilities": [
                {"VulnerabilityID": "CVE-1", "PkgName": "p", "InstalledVersion": "1", "Severity": "high",
                 "VendorIDs": ["DSA-1", "CVE-1", "DSA-1"],
                 "CVSS": {"nvd": {"V40Vector": "CVSS:4.0/AV:N", "V40Score": 9.1, "V3Score": 7.0}},
                 "PrimaryURL": "https://a", "References": ["https://b", "https://a"]}]}]}"#;
        let s = parse_scan(trivy, "t1", AT).map(|i| i.scan);
        let s = match s {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.source_format, TRIVY_JSON_V2);
        assert_eq!(s.scanned_at, datetime!(2024-05-06 05:08:09 UTC));
        assert_eq!(s.artifact.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(s.artifact.os.as_deref(), Some("debian 12"));
        assert_eq!(s.scanner.version, None);
        let f = &s.findings[0];
        assert_eq!(f.aliases, vec!["DSA-1".to_string()]);
        assert_eq!(
            f.references,
            vec!["https://a".to_string(), "https://b".to_string()]
        );
        assert_eq!(f.cvss.len(), 2);
        assert!(
            f.cvss
                .iter()
                .any(|c| c.version == "4.0" && c.score == Some(9.1))
        );
        assert_eq!(s.components.len(), 1);
        assert_eq!(
            s.components[0].location.as_deref(),
            Some("img:1 (debian 12)")
        );

        let grype = br#"{"matches": [{"vulnerability": {"id": "CVE-2", "severity": "Medium",
                "fix": {"versions": ["2", "3"], "state": "fixed"}},
              "artifact": {"name": "q", "version": "1", "type": "npm", "licenses": [{"value": "MIT"}],
                "locations": [{"path": "/app/package-lock.json"}]}}],
            "source": {"type": "directory", "target": "/app"},
            "distro": {"name": "", "version": ""},
            "descriptor": {"name": "grype", "version": "0.80.0", "timestamp": "2024-01-01 10:00:00.5 -0400"}}"#;
        let s = match parse_scan(grype, "t1", AT) {
            Ok(i) => i.scan,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(s.source_format, GRYPE_JSON);
        assert_eq!(s.artifact.name, "/app");
        assert_eq!(s.artifact.kind, "directory");
        assert_eq!(s.artifact.os, None);
        assert_eq!(s.scanned_at, datetime!(2024-01-01 14:00:00 UTC));
        assert_eq!(s.findings[0].fixed_version.as_deref(), Some("2, 3"));
        assert_eq!(s.components[0].licenses, vec!["MIT".to_string()]);
    }

    #[test]
    fn unreadable_timestamp_falls_back_to_ingested_at() {
        let doc = br#"{"SchemaVersion": 2, "Results": [], "CreatedAt": "yesterday"}"#;
        match parse_scan(doc, "t1", AT) {
            Ok(i) => assert_eq!(i.scan.scanned_at, AT),
            Err(e) => panic!("{e}"),
        }
    }
}
