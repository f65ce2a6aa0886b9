//! The ingest service behind `POST /api/v1/scans`: a scanner report, SBOM or VEX document
//! in, the native model stored where the local data sources find it.

use std::sync::Arc;

use serde::Serialize;

use ec_domain::ports::{ObjectStore, ScanCatalog};
use ec_domain::scan::ScanSummary;
use ec_domain::vex::VexDocument;
use ec_domain::{ApiError, ScanId, keys};

use crate::app::Caller;

/// Answer to `POST /api/v1/scans`. For a VEX-only document (OpenVEX, CSAF, a CycloneDX
/// VEX BOM) `scan_id` is the stored VEX document's id (`vex-…`) and no scan is stored.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IngestReceipt {
    pub scan_id: ScanId,
    pub artifact_digest: Option<String>,
    pub findings: usize,
    pub components: usize,
    pub source_format: String,
    /// VEX statements stored from the document (its own, or a BOM's analyses).
    #[serde(default)]
    pub vex_statements: usize,
}

/// The ingest service and the ports it writes.
#[derive(Clone)]
pub struct Scans {
    pub objects: Arc<dyn ObjectStore>,
    pub catalog: Arc<dyn ScanCatalog>,
}

impl Scans {
    /// Reads the document into the native model and stores it. VEX statements are stored
    /// as one object per document under [`keys::vex`], where every later export of the
    /// tenant finds them; a scan is stored with its catalogue row. A scan document with
    /// embedded VEX stores both. `name` is the file name the caller gave
    /// (`Content-Disposition`), shown to auditors beside the document's size and sha256.
    pub async fn ingest(
        &self,
        caller: &Caller,
        document: &[u8],
        name: Option<String>,
    ) -> Result<IngestReceipt, ApiError> {
        let tenant = &caller.tenant;
        let ingested = ec_ingest::parse_document(document, tenant, ec_domain::time::now())?;
        let vex_id = ScanId::of_vex(tenant, document);
        if ingested.scan.is_none() || !ingested.vex.is_empty() {
            let body = ec_domain::ids::canonical_json(&VexDocument {
                id: vex_id.to_string(),
                source_format: ingested.source_format.to_string(),
                document_sha256: ingested.document_sha256.clone(),
                name: name.clone(),
                size: Some(document.len() as u64),
                statements: ingested.vex.clone(),
            });
            self.objects
                .put(&keys::vex(tenant, &vex_id), body.into(), "application/json")
                .await?;
            tracing::info!(vex_id = %vex_id, tenant = %tenant, statements = ingested.vex.len(), "VEX ingested");
        }
        let Some(mut scan) = ingested.scan else {
            return Ok(IngestReceipt {
                scan_id: vex_id,
                artifact_digest: None,
                findings: 0,
                components: 0,
                source_format: ingested.source_format.to_string(),
                vex_statements: ingested.vex.len(),
            });
        };
        scan.document_name = name;
        let body = ec_domain::ids::canonical_json(&scan);
        self.objects
            .put(
                &keys::scan(tenant, &scan.scan_id),
                body.into(),
                "application/json",
            )
            .await?;
        // The catalogue row goes last: a scan is only visible once its object exists.
        self.catalog.put(&ScanSummary::from(&scan)).await?;
        tracing::info!(scan_id = %scan.scan_id, tenant = %tenant, findings = scan.findings.len(), "scan ingested");
        Ok(IngestReceipt {
            scan_id: scan.scan_id.clone(),
            artifact_digest: scan.artifact.digest.clone(),
            findings: scan.findings.len(),
            components: scan.components.len(),
            source_format: scan.source_format.clone(),
            vex_statements: ingested.vex.len(),
        })
    }
}
