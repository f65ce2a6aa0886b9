//! Offline rendering (`exportctl render`): scanner reports, SBOMs and VEX documents in, one
//! report out, no server. The snapshot is built the way the gather stage builds it from
//! ingested documents (the built-in policy, every input's VEX statements applied by
//! vulnerability, the SBOM derived from the scan), then rendered by the same render stage.

use time::OffsetDateTime;

use ec_domain::filters::Filters;
use ec_domain::policy::PolicyConfig;
use ec_domain::request::{ExportOptions, ExportRequest, Scope};
use ec_domain::scan::{Scan, VexStatement};
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::vex::VexDocument;
use ec_domain::{
    ApiError, ErrorCode, ExportId, ExportType, Format, ScanId, TemplateName, TenantId,
};

/// The tenant and requester an offline render records when none is given.
pub const OFFLINE_TENANT: &str = "local";

/// One document to render, with the name an auditor knows it by (the path's base name).
pub struct InputDocument {
    pub name: Option<String>,
    pub bytes: Vec<u8>,
}

/// What to render, as `exportctl render` takes it.
pub struct OfflineRequest {
    pub export_type: ExportType,
    pub format: Format,
    pub template: Option<TemplateName>,
    /// Every timestamp the report prints (`SOURCE_DATE_EPOCH`, else the clock).
    pub generated_at: OffsetDateTime,
    /// The tenant the report names (`--tenant`; default [`OFFLINE_TENANT`]).
    pub tenant: Option<TenantId>,
    /// Who the report says requested it (`--requested-by`; default the tenant).
    pub requested_by: Option<String>,
    /// The report's title (`--title`).
    pub title: Option<String>,
    pub filters: Filters,
}

impl OfflineRequest {
    /// A request with the defaults `exportctl render` uses.
    pub fn new(export_type: ExportType, format: Format, generated_at: OffsetDateTime) -> Self {
        OfflineRequest {
            export_type,
            format,
            template: None,
            generated_at,
            tenant: None,
            requested_by: None,
            title: None,
            filters: Filters::default(),
        }
    }

    /// The tenant the report names.
    fn tenant(&self) -> TenantId {
        self.tenant.clone().unwrap_or_else(TenantId::offline)
    }
}

/// [`snapshot_from_named`] for documents without names.
pub fn snapshot_from_documents(
    documents: &[Vec<u8>],
    req: &OfflineRequest,
) -> Result<Snapshot, ApiError> {
    snapshot_from_lent(documents.iter().map(|b| (None, b.as_slice())), req)
}

/// Reads every document and builds the snapshot an export of all of them would gather.
/// VEX documents alone make a VEX export; any other type needs a scanner report or SBOM.
pub fn snapshot_from_named(
    documents: &[InputDocument],
    req: &OfflineRequest,
) -> Result<Snapshot, ApiError> {
    snapshot_from_lent(
        documents
            .iter()
            .map(|d| (d.name.clone(), d.bytes.as_slice())),
        req,
    )
}

fn snapshot_from_lent<'a>(
    documents: impl Iterator<Item = (Option<String>, &'a [u8])>,
    req: &OfflineRequest,
) -> Result<Snapshot, ApiError> {
    let tenant = req.tenant();
    let read = documents
        .map(|(name, bytes)| {
            let ingested = ec_ingest::parse_document(bytes, &tenant, req.generated_at)?;
            Ok((name, bytes.len(), ingested))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    build(read, tenant, req)
}

/// [`snapshot_from_named`] taking the documents: each one's text is freed as soon as it is
/// read (what `exportctl render` uses; a large report's text is a third of the peak).
pub fn snapshot_from_owned(
    documents: Vec<InputDocument>,
    req: &OfflineRequest,
) -> Result<Snapshot, ApiError> {
    let tenant = req.tenant();
    let read = documents
        .into_iter()
        .map(|doc| {
            let size = doc.bytes.len();
            let ingested = ec_ingest::parse_owned_document(doc.bytes, &tenant, req.generated_at)?;
            Ok((doc.name, size, ingested))
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    build(read, tenant, req)
}

/// The snapshot of documents read, each with its name and size.
fn build(
    read: Vec<(Option<String>, usize, ec_ingest::Ingested)>,
    tenant: TenantId,
    req: &OfflineRequest,
) -> Result<Snapshot, ApiError> {
    let mut scans: Vec<Scan> = Vec::new();
    // Every document's statements (VEX documents' and BOMs' own) apply to every scan, as
    // the tenant's stored VEX does on the server.
    let mut vex_documents: Vec<VexDocument> = Vec::new();
    for (i, (name, size, ingested)) in read.into_iter().enumerate() {
        if let Some(mut scan) = ingested.scan {
            scan.document_name = name.clone();
            scans.push(scan);
        }
        if !ingested.vex.is_empty() {
            vex_documents.push(VexDocument {
                // Documents are listed in the order given.
                id: format!("input-{:03}", i + 1),
                source_format: ingested.source_format.to_string(),
                document_sha256: ingested.document_sha256,
                name,
                size: Some(size as u64),
                statements: ingested.vex,
            });
        }
    }
    if scans.is_empty() && (vex_documents.is_empty() || req.export_type != ExportType::Vex) {
        let reason = if vex_documents.is_empty() {
            "no scan among the inputs: give at least one scanner report or SBOM"
        } else {
            "only VEX documents among the inputs: render them with --type vex, or add a scanner report or SBOM"
        };
        return Err(ApiError::new(ErrorCode::ExportValidation, reason));
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
    // Offline, the scope only records which scans were read (none for VEX alone).
    let scope: Vec<ScanId> = scans.iter().map(|s| s.scan_id.clone()).collect();
    let request = ExportRequest {
        export_type: req.export_type,
        format: req.format,
        scope: Scope::ScanIds(scope),
        options: ExportOptions {
            include_sbom: true,
            include_evidence: false,
            filters: req.filters.clone(),
            baseline: None,
            destinations: Vec::new(),
            retention_days: None,
        },
        template,
    };
    let policy = PolicyConfig::default();
    let statements: Vec<VexStatement> = vex_documents
        .iter()
        .flat_map(|d| d.statements.iter().cloned())
        .collect();
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
    let mut snapshot = Snapshot::new(
        ExportId::offline(req.generated_at.unix_timestamp()),
        tenant.clone(),
        request,
        req.requested_by
            .clone()
            .unwrap_or_else(|| tenant.to_string()),
        req.generated_at,
        inputs,
    )
    .with_vex_documents(vex_documents);
    snapshot.title = req.title.clone();
    Ok(snapshot)
}

/// Renders documents offline: the bytes `exportctl render` writes.
pub fn render_documents(
    documents: &[InputDocument],
    req: &OfflineRequest,
) -> Result<Vec<u8>, ApiError> {
    let snapshot = snapshot_from_named(documents, req)?;
    let mut out = Vec::new();
    render_to(&snapshot, &mut out)?;
    Ok(out)
}

/// Renders a snapshot into `out` (JSON, CSV and SPDX as they are produced).
pub fn render_to(snapshot: &Snapshot, out: &mut dyn std::io::Write) -> Result<(), ApiError> {
    ec_render::render_to(snapshot, out).map_err(|e| {
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
        OfflineRequest::new(
            ExportType::ScanReport,
            Format::Json,
            datetime!(2025-01-01 00:00:00 UTC),
        )
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
    fn vex_alone_makes_only_a_vex_export() {
        match snapshot_from_documents(&[VEX.to_vec()], &request()) {
            Ok(_) => panic!("a scan report rendered without a scan"),
            Err(e) => {
                assert_eq!(e.code, ErrorCode::ExportValidation);
                assert!(e.message.contains("--type vex"), "{}", e.message);
            }
        }
        let mut vex = request();
        vex.export_type = ExportType::Vex;
        vex.format = Format::Openvex;
        let snap = snapshot_from_documents(&[VEX.to_vec()], &vex)
            .unwrap_or_else(|e| panic!("{}", e.message));
        assert!(snap.scans.is_empty());
        assert_eq!(snap.vex_documents.len(), 1);
        assert_eq!(snap.vex_documents[0].statements.len(), 2);
    }
}
