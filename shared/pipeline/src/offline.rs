//! Offline rendering (`exportctl render`): scanner reports, SBOMs and VEX documents in, one
//! report out, no server. The snapshot is built the way the gather stage builds it from
//! ingested documents (the built-in policy, every input's VEX statements applied by
//! vulnerability, the SBOM derived from the scan), then rendered by the same render stage.

use time::OffsetDateTime;

use ec_domain::policy::PolicyConfig;
use ec_domain::request::{ExportOptions, ExportRequest, Scope};
use ec_domain::scan::{Scan, VexStatement};
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::{ApiError, ErrorCode, ExportId, ExportType, Format, TemplateName, TenantId};

/// The tenant and requester an offline render records.
pub const OFFLINE_TENANT: &str = "local";

/// What to render, as `exportctl render` takes it.
pub struct OfflineRequest {
    pub export_type: ExportType,
    pub format: Format,
    pub template: Option<TemplateName>,
    /// Every timestamp the report prints (`SOURCE_DATE_EPOCH`, else the clock).
    pub generated_at: OffsetDateTime,
}

/// Reads every document and builds the snapshot an export of all of them would gather.
pub fn snapshot_from_documents(
    documents: &[Vec<u8>],
    req: &OfflineRequest,
) -> Result<Snapshot, ApiError> {
    let mut scans: Vec<Scan> = Vec::new();
    // Every document's statements (VEX documents' and BOMs' own) apply to every scan, as
    // the tenant's stored VEX does on the server.
    let mut statements: Vec<VexStatement> = Vec::new();
    for doc in documents {
        let ingested = ec_ingest::parse_document(doc, &TenantId::offline(), req.generated_at)?;
        scans.extend(ingested.scan);
        statements.extend(ingested.vex);
    }
    if scans.is_empty() {
        return Err(ApiError::new(
            ErrorCode::ExportValidation,
            "no scan among the inputs: give at least one scanner report or SBOM",
        ));
    }
    let template = req.template.clone().unwrap_or(TemplateName::Builtin(
        req.export_type.default_template(req.format),
    ));
    if !ec_render::supports(req.export_type, req.format, &template) {
        return Err(ApiError::new(
            ErrorCode::ExportValidation,
            format!(
                "{} cannot be rendered as {} with template {template}",
                req.export_type.as_str(),
                req.format.as_str()
            ),
        ));
    }
    let request = ExportRequest {
        export_type: req.export_type,
        format: req.format,
        scope: Scope::ScanIds(scans.iter().map(|s| s.scan_id.clone()).collect()),
        options: ExportOptions {
            include_sbom: true,
            include_evidence: false,
        },
        template,
    };
    let policy = PolicyConfig::default();
    let inputs = scans
        .into_iter()
        .map(|scan| {
            let vex = ec_domain::vex::applicable(&statements, &scan);
            ScanInputs {
                verdicts: ec_domain::policy::evaluate(&policy, &scan, &vex),
                sbom: Some(scan.derived_sbom()),
                vex,
                scan,
            }
        })
        .collect();
    Ok(Snapshot::new(
        ExportId::offline(req.generated_at.unix_timestamp()),
        TenantId::offline(),
        request,
        OFFLINE_TENANT.to_string(),
        req.generated_at,
        inputs,
    ))
}

/// Renders documents offline: the bytes `exportctl render` writes.
pub fn render_documents(documents: &[Vec<u8>], req: &OfflineRequest) -> Result<Vec<u8>, ApiError> {
    let snapshot = snapshot_from_documents(documents, req)?;
    ec_render::render(&snapshot).map_err(|e| {
        ApiError::new(ErrorCode::Render, e.to_string()).with_detail("render", e.code().as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ec_domain::scan::VexStatus;
    use time::macros::datetime;

    const UBUNTU: &[u8] =
        include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_ubuntu-1804.json");
    const VEX: &[u8] = br#"{"@context": "https://openvex.dev/ns/v0.2.0",
        "timestamp": "2024-01-01T00:00:00Z",
        "statements": [
          {"vulnerability": {"name": "CVE-2019-18276"},
           "products": [{"@id": "pkg:oci/ubuntu", "subcomponents": [{"@id": "pkg:deb/ubuntu/bash"}]}],
           "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
          {"vulnerability": {"name": "CVE-1999-0001"}, "products": [{"@id": "pkg:deb/ubuntu/bash"}],
           "status": "affected"}]}"#;

    fn request() -> OfflineRequest {
        OfflineRequest {
            export_type: ExportType::ScanReport,
            format: Format::Json,
            template: None,
            generated_at: datetime!(2025-01-01 00:00:00 UTC),
        }
    }

    #[test]
    fn vex_documents_apply_to_every_scan() {
        let docs = vec![VEX.to_vec(), UBUNTU.to_vec()];
        let snap = match snapshot_from_documents(&docs, &request()) {
            Ok(s) => s,
            Err(e) => panic!("{}", e.message),
        };
        assert_eq!(snap.scans.len(), 1, "the VEX document is no scan");
        let inputs = &snap.scans[0];
        // Only the statement about a vulnerability the scan found applies.
        assert_eq!(inputs.vex.len(), 1);
        assert_eq!(inputs.vex[0].status, VexStatus::NotAffected);
        let bash = inputs
            .verdicts
            .findings
            .iter()
            .find(|v| v.vulnerability_id == "CVE-2019-18276" && v.package == "bash")
            .unwrap_or_else(|| panic!("no verdict for bash"));
        assert_eq!(bash.reason, "VEX status not_affected");
    }

    #[test]
    fn vex_alone_is_not_enough() {
        match snapshot_from_documents(&[VEX.to_vec()], &request()) {
            Ok(_) => panic!("rendered without a scan"),
            Err(e) => assert_eq!(e.code, ErrorCode::ExportValidation),
        }
    }
}
