//! Reads scanner reports, SBOMs and VEX documents into the native model.
//!
//! The format is detected from the content, never from a file name:
//!
//! * Trivy JSON, `SchemaVersion` 2: an object with `SchemaVersion` and `Results` or
//!   `ArtifactName` ([`TRIVY_JSON_V2`]);
//! * Trivy JSON, legacy (before v0.20): a non-empty top-level array of result objects, each
//!   with `Target` and `Vulnerabilities` ([`TRIVY_JSON_LEGACY`]);
//! * Grype JSON: an object with a `matches` array and `descriptor.name == "grype"` or a
//!   `source` field ([`GRYPE_JSON`]);
//! * CycloneDX JSON 1.4 to 1.6: `bomFormat == "CycloneDX"` ([`CYCLONEDX_JSON_1_4`],
//!   [`CYCLONEDX_JSON_1_5`], [`CYCLONEDX_JSON_1_6`] by `specVersion`);
//! * SPDX JSON 2.2 and 2.3: a `spdxVersion` string starting with `SPDX-` ([`SPDX_JSON_2_2`],
//!   [`SPDX_JSON_2_3`]);
//! * OpenVEX: an `@context` starting with `https://openvex.dev/ns` ([`OPENVEX_0_2_0`] for
//!   `…/ns/v0.2.0`, [`OPENVEX_0_0_1`] for the legacy `…/ns` and `…/ns/v0.0.1`);
//! * CSAF 2.0 VEX: an object with `document.csaf_version` ([`CSAF_VEX_2_0`], category
//!   `csaf_vex`).
//!
//! Anything else (`{}`, `[]`, other JSON) is [`IngestError::Unrecognised`]; a recognised
//! document in an unsupported version, or missing a required part, is
//! [`IngestError::Invalid`].
//!
//! Every format is read typed, straight from the text into serde types of its own (the
//! lenient wrappers of `lenient` read fields whose type varies across versions), never
//! through a `serde_json::Value` tree; a part of the wrong shape is named by its path.
//!
//! Scanner reports and SBOMs give a [`Scan`]; VEX documents give only statements. A
//! CycloneDX BOM is a VEX document (no scan) when it lists no components and every one of
//! its (at least one) vulnerabilities carries an `analysis.state`; any other BOM is a scan,
//! with a finding per vulnerability and affected component and, for vulnerabilities that
//! carry an analysis, VEX statements besides.

mod csaf;
mod cyclonedx;
mod detect;
mod grype;
mod json;
mod lenient;
mod openvex;
mod purl;
mod spdx;
#[cfg(test)]
mod test_support;
mod trivy;

use detect::{Detected, detect, sniff};
use ec_domain::scan::{
    Component, Dependency, Finding, Scan, ScannedArtifact, Scanner, VexStatement,
};
use ec_domain::{ApiError, ErrorCode, ScanId, TenantId, ids};
use time::OffsetDateTime;

/// `source_format` of a Trivy JSON report with `SchemaVersion` 2.
pub const TRIVY_JSON_V2: &str = "trivy-json-v2";
/// `source_format` of a legacy Trivy JSON report (a top-level array of results).
pub const TRIVY_JSON_LEGACY: &str = "trivy-json-legacy";
/// `source_format` of a Grype JSON report.
pub const GRYPE_JSON: &str = "grype-json";
/// `source_format` of a CycloneDX JSON BOM, `specVersion` 1.4.
pub const CYCLONEDX_JSON_1_4: &str = "cyclonedx-json-1.4";
/// `source_format` of a CycloneDX JSON BOM, `specVersion` 1.5.
pub const CYCLONEDX_JSON_1_5: &str = "cyclonedx-json-1.5";
/// `source_format` of a CycloneDX JSON BOM, `specVersion` 1.6.
pub const CYCLONEDX_JSON_1_6: &str = "cyclonedx-json-1.6";
/// `source_format` of an SPDX 2.2 JSON document.
pub const SPDX_JSON_2_2: &str = "spdx-json-2.2";
/// `source_format` of an SPDX 2.3 JSON document.
pub const SPDX_JSON_2_3: &str = "spdx-json-2.3";
/// `source_format` of an OpenVEX v0.2.0 document.
pub const OPENVEX_0_2_0: &str = "openvex-0.2.0";
/// `source_format` of a legacy OpenVEX document (v0.0.1, `@context` without a version).
pub const OPENVEX_0_0_1: &str = "openvex-0.0.1";
/// `source_format` of a CSAF 2.0 document of category `csaf_vex`.
pub const CSAF_VEX_2_0: &str = "csaf-vex-2.0";

/// The format family named in errors about a document whose version is not read.
pub(crate) const CYCLONEDX_JSON: &str = "cyclonedx-json";
pub(crate) const SPDX_JSON: &str = "spdx-json";
pub(crate) const OPENVEX: &str = "openvex";
pub(crate) const CSAF: &str = "csaf";

/// What [`parse_document`] accepts, as told to a caller whose document was not recognised.
pub const EXPECTED: &str = "a Trivy JSON report (SchemaVersion 2 or the legacy top-level array), \
     a Grype JSON report, a CycloneDX JSON BOM (1.4 to 1.6), an SPDX JSON document (2.2 or 2.3), \
     an OpenVEX document (v0.0.1 or v0.2.0) or a CSAF 2.0 VEX document";

/// A document read into the native model.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// The scan, for scanner reports and SBOMs; `None` for VEX-only documents.
    pub scan: Option<Scan>,
    /// VEX statements: a VEX document's, or those a CycloneDX BOM's analyses make.
    pub vex: Vec<VexStatement>,
    pub source_format: &'static str,
    /// sha256 of the document bytes as received.
    pub document_sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The bytes are not a JSON document.
    #[error("the document is not valid JSON: {0}")]
    NotJson(String),
    /// Valid JSON, but not a document of a format this crate reads.
    #[error("unrecognised document: expected {expected}")]
    Unrecognised { expected: &'static str },
    /// Recognised as `format`, but a required part is missing or malformed, or the
    /// version is not one this crate reads.
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
        f if f.starts_with(CYCLONEDX_JSON) => "CycloneDX JSON BOM",
        f if f.starts_with(SPDX_JSON) => "SPDX JSON document",
        f if f.starts_with(OPENVEX) => "OpenVEX document",
        f if f.starts_with(CSAF) => "CSAF 2.0 VEX document",
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

/// What a format reader returns; [`parse_document`] adds the identity and the times.
pub(crate) struct Parsed {
    pub source_format: &'static str,
    pub scan: Option<ScanParts>,
    pub vex: Vec<VexStatement>,
}

impl Parsed {
    /// A scanner report: a scan and no VEX.
    pub fn scan(source_format: &'static str, parts: ScanParts) -> Parsed {
        Parsed {
            source_format,
            scan: Some(parts),
            vex: Vec::new(),
        }
    }
}

/// The parts of a [`Scan`] a document holds.
pub(crate) struct ScanParts {
    pub artifact: ScannedArtifact,
    pub scanner: Scanner,
    /// The document's own timestamp, when it has a readable one.
    pub scanned_at: Option<OffsetDateTime>,
    pub components: Vec<Component>,
    pub dependencies: Vec<Dependency>,
    pub findings: Vec<Finding>,
    /// Whether the document reports on vulnerabilities at all (scanner reports, a BOM with
    /// `vulnerabilities`), rather than listing packages only.
    pub assessed: bool,
}

/// Reads `text` (already checked to be JSON) as the typed document `T` of `format`; a value
/// of the wrong shape is [`IngestError::Invalid`] naming where it is (`Results[3].Packages`).
/// The path is tracked only when a first, untracked read has failed: tracking it costs a
/// tenth of the read, and a document that reads needs none.
pub(crate) fn typed<'a, T: serde::Deserialize<'a>>(
    text: &'a [u8],
    format: &'static str,
) -> Result<T, IngestError> {
    if let Ok(doc) = serde_json::from_slice(text) {
        return Ok(doc);
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let e = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Ok(doc) => return Ok(doc),
        Err(e) => e,
    };
    let path = e.path().to_string();
    let inner = e.into_inner();
    if !inner.is_data() {
        // Only the nesting limit gets here: the detection pass checked the syntax.
        return Err(IngestError::NotJson(inner.to_string()));
    }
    let reason = if path == "." {
        inner.to_string()
    } else {
        format!("{path}: {inner}")
    };
    Err(IngestError::invalid(format, reason))
}

/// Reads a scanner report or SBOM of a format read typed; `None` for the others.
fn read_scanner(detected: Detected, text: &[u8]) -> Option<Result<Parsed, IngestError>> {
    match detected {
        Detected::TrivyV2 => Some(trivy::parse_v2(text)),
        Detected::TrivyLegacy => Some(trivy::parse_legacy(text)),
        Detected::Grype => Some(grype::parse(text)),
        Detected::Spdx => Some(spdx::parse(text)),
        _ => None,
    }
}

/// Reads a document (any format above, detected from the content) for `tenant`.
///
/// The scan id is derived from the tenant and the exact bytes, so ingesting the same
/// document twice yields the same id. VEX statements name their document in `source`: its
/// own id (`@id`, CSAF tracking id, CycloneDX serial number) or, when it has none,
/// `sha256:` and the document's hash.
pub fn parse_document(
    bytes: &[u8],
    tenant: &TenantId,
    ingested_at: OffsetDateTime,
) -> Result<Ingested, IngestError> {
    Ok(read(bytes, tenant)?.finish(tenant, ingested_at))
}

/// [`parse_document`] for a document the caller gives up: its text is freed as soon as it
/// is read, before the findings are sorted (a 100,000-finding report's text is ~130 MB of
/// the peak otherwise).
pub fn parse_owned_document(
    bytes: Vec<u8>,
    tenant: &TenantId,
    ingested_at: OffsetDateTime,
) -> Result<Ingested, IngestError> {
    let read = read(&bytes, tenant)?;
    drop(bytes);
    Ok(read.finish(tenant, ingested_at))
}

/// A document read, owning everything it took from the text.
struct Read {
    parsed: Parsed,
    scan_id: ScanId,
    document_sha256: String,
    size: u64,
}

/// [`read_pooled`] with text the findings repeat shared (`ec_domain::shared_text`).
fn read(bytes: &[u8], tenant: &TenantId) -> Result<Read, IngestError> {
    ec_domain::shared_text::pooled(|| read_pooled(bytes, tenant))
}

fn read_pooled(bytes: &[u8], tenant: &TenantId) -> Result<Read, IngestError> {
    // Tolerate a UTF-8 byte order mark; the ids still hash the bytes as received.
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Three things at once: the digests of the bytes (sha256 and the scan id) and the
    // detection pass on threads of their own (neither allocates much), and here the read of
    // the scanner report the first bytes suggest, kept only when the detection agrees (else
    // the detected format is read after it). The model is built on this thread, so its
    // memory comes from (and goes back to) the caller's allocator arena. CycloneDX BOMs and
    // VEX documents, whose statements name the document by its digest when it has no id,
    // are read after it.
    let digests = || (ids::sha256_hex(bytes), ScanId::of_scan(tenant, bytes));
    let ((document_sha256, scan_id), read) = std::thread::scope(|threads| {
        let digest = threads.spawn(digests);
        let detection = threads.spawn(|| detect(text));
        let guess = sniff(text);
        let early = guess.and_then(|g| read_scanner(g, text));
        let detected = detection.join().unwrap_or_else(|_| detect(text));
        let read = detected.map(|detected| {
            let scanner = match (early, detected) {
                (Some(early), Some(d)) if Some(d) == guess => Some(early),
                (_, Some(d)) => read_scanner(d, text),
                (_, None) => None,
            };
            (detected, scanner)
        });
        (digest.join().unwrap_or_else(|_| digests()), read)
    });
    let (detected, scanner) = read?;
    let fallback_source = format!("sha256:{document_sha256}");
    let parsed = match (scanner, detected) {
        (Some(parsed), _) => parsed?,
        (None, Some(Detected::CycloneDx)) => cyclonedx::parse(text, &fallback_source)?,
        (None, Some(Detected::OpenVex)) => openvex::parse(text, &fallback_source)?,
        (None, Some(Detected::Csaf)) => csaf::parse(text, &fallback_source)?,
        (None, _) => return Err(IngestError::Unrecognised { expected: EXPECTED }),
    };
    Ok(Read {
        parsed,
        scan_id,
        document_sha256,
        size: bytes.len() as u64,
    })
}

impl Read {
    /// The scan in its canonical order, and the statements.
    fn finish(self, tenant: &TenantId, ingested_at: OffsetDateTime) -> Ingested {
        let Read {
            parsed,
            scan_id,
            document_sha256,
            size,
        } = self;
        let scan = parsed.scan.map(|parts| {
            let mut scan = Scan {
                scan_id,
                tenant_id: tenant.clone(),
                artifact: parts.artifact,
                scanner: parts.scanner,
                source_format: parsed.source_format.to_string(),
                scanned_at: parts.scanned_at.unwrap_or(ingested_at),
                scanned_at_known: parts.scanned_at.is_some(),
                assessed: parts.assessed,
                ingested_at,
                document_sha256: document_sha256.clone(),
                document_name: None,
                document_size: Some(size),
                components: parts.components,
                dependencies: parts.dependencies,
                findings: parts.findings,
            };
            scan.normalise();
            scan
        });
        Ingested {
            scan,
            vex: parsed.vex,
            source_format: parsed.source_format,
            document_sha256,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2025-01-02 03:04:05 UTC);

    fn kind(bytes: &[u8]) -> &'static str {
        match parse_document(bytes, &"t1".parse().unwrap(), AT) {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    fn scan(bytes: &[u8]) -> Scan {
        match parse_document(bytes, &"t1".parse().unwrap(), AT) {
            Ok(Ingested { scan: Some(s), .. }) => s,
            Ok(i) => panic!("{} gave no scan", i.source_format),
            Err(e) => panic!("{e}"),
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
        // The standard formats, by their marker field.
        assert_eq!(
            kind(br#"{"bomFormat": "CycloneDX", "specVersion": "1.5"}"#),
            "ok"
        );
        assert_eq!(
            kind(br#"{"bomFormat": "cyclonedx"}"#),
            "INGEST_UNRECOGNISED"
        );
        assert_eq!(
            kind(br#"{"spdxVersion": "SPDX-2.3", "packages": []}"#),
            "ok"
        );
        assert_eq!(kind(br#"{"spdxVersion": 2.3}"#), "INGEST_UNRECOGNISED");
        assert_eq!(
            kind(br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}"#),
            "ok"
        );
        assert_eq!(
            kind(br#"{"@context": "https://www.w3.org/ns/activitystreams"}"#),
            "INGEST_UNRECOGNISED"
        );
        assert_eq!(
            kind(br#"{"document": {"csaf_version": "2.0", "category": "csaf_vex"}}"#),
            "ok"
        );
        assert_eq!(kind(br#"{"document": {}}"#), "INGEST_UNRECOGNISED");
    }

    #[test]
    fn which_documents_are_vex_only() {
        let vex_only = |bytes: &[u8]| match parse_document(bytes, &"t1".parse().unwrap(), AT) {
            Ok(i) => i.scan.is_none(),
            Err(e) => panic!("{e}"),
        };
        // CycloneDX: no components and every vulnerability analysed.
        assert!(vex_only(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.4", "vulnerabilities": [
                {"id": "CVE-1", "analysis": {"state": "in_triage"}, "affects": [{"ref": "pkg:npm/a@1"}]}]}"#
        ));
        // ...one without analysis makes it a scan (of the refs it names).
        assert!(!vex_only(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.4", "vulnerabilities": [
                {"id": "CVE-1", "analysis": {"state": "in_triage"}, "affects": [{"ref": "pkg:npm/a@1"}]},
                {"id": "CVE-2", "affects": [{"ref": "pkg:npm/a@1"}]}]}"#
        ));
        // ...and so does a component, or an empty BOM.
        assert!(!vex_only(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library", "name": "a"}],
                "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "in_triage"}}]}"#
        ));
        assert!(!vex_only(
            br#"{"bomFormat": "CycloneDX", "specVersion": "1.6"}"#
        ));
        assert!(!vex_only(br#"{"spdxVersion": "SPDX-2.3", "name": "x"}"#));
        assert!(vex_only(
            br#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}"#
        ));
        assert!(vex_only(
            br#"{"document": {"csaf_version": "2.0", "category": "csaf_vex"}}"#
        ));
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
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.3"}"#,
            r#"{"bomFormat": "CycloneDX"}"#,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": {}}"#,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"type": "library"}]}"#,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "components": [{"name": "a", "components": [{"version": "1"}]}]}"#,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"affects": []}]}"#,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"id": "CVE-1", "affects": [{}]}]}"#,
            r#"{"bomFormat": "CycloneDX", "specVersion": "1.6", "vulnerabilities": [{"id": "CVE-1", "analysis": {"state": "maybe"}}]}"#,
            r#"{"spdxVersion": "SPDX-3.0", "packages": []}"#,
            r#"{"spdxVersion": "SPDX-2.3", "packages": [{"SPDXID": "SPDXRef-a"}]}"#,
            r#"{"spdxVersion": "SPDX-2.3", "packages": {}}"#,
            r#"{"@context": "https://openvex.dev/ns/v0.3.0", "statements": []}"#,
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": {}}"#,
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"status": "fixed"}]}"#,
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {}, "status": "fixed"}]}"#,
            r#"{"@context": "https://openvex.dev/ns/v0.2.0", "statements": [{"vulnerability": {"name": "CVE-1"}, "status": "gone"}]}"#,
            r#"{"@context": "https://openvex.dev/ns", "statements": [{"vulnerability": "CVE-1"}]}"#,
            r#"{"document": {"csaf_version": "2.1", "category": "csaf_vex"}}"#,
            r#"{"document": {"csaf_version": "2.0", "category": "csaf_security_advisory"}}"#,
            r#"{"document": {"csaf_version": "2.0", "category": "csaf_vex"}, "vulnerabilities": {}}"#,
            r#"{"document": {"csaf_version": "2.0", "category": "csaf_vex"}, "vulnerabilities": [{"cve": "CVE-1", "product_status": []}]}"#,
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
        for named in ["CycloneDX", "SPDX", "OpenVEX", "CSAF"] {
            assert!(e.message.contains(named), "{}", e.message);
        }

        for (format, described) in [
            (CYCLONEDX_JSON_1_6, "CycloneDX JSON BOM"),
            (CYCLONEDX_JSON, "CycloneDX JSON BOM"),
            (SPDX_JSON_2_3, "SPDX JSON document"),
            (OPENVEX_0_0_1, "OpenVEX document"),
            (CSAF_VEX_2_0, "CSAF 2.0 VEX document"),
        ] {
            let e: ApiError = IngestError::invalid(format, "statements[0]: missing status").into();
            assert_eq!(e.code, ErrorCode::UnrecognisedDocument);
            assert_eq!(e.status(), 422);
            assert!(e.message.contains(described), "{}", e.message);
            assert!(e.message.contains("statements[0]"), "{}", e.message);
        }

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
        let s = scan(trivy);
        assert_eq!(s.source_format, TRIVY_JSON_V2);
        assert_eq!(s.scanned_at, datetime!(2024-05-06 05:08:09 UTC));
        assert_eq!(s.artifact.digest.as_deref(), Some("sha256:abc"));
        assert_eq!(s.artifact.os.as_deref(), Some("debian 12"));
        assert_eq!(s.scanner.version, None);
        let f = &s.findings[0];
        assert_eq!(f.aliases, vec!["DSA-1".to_string()]);
        assert_eq!(f.references, ["https://a", "https://b"].map(Into::into));
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
        let s = scan(grype);
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
        assert_eq!(scan(doc).scanned_at, AT);
    }
}
