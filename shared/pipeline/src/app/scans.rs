//! The scan service behind `/api/v1/scans`: ingest (a scanner report, SBOM or VEX
//! document in, the native model stored where the local data sources find it), and the
//! tenant's scans listed, read and deleted.

use std::sync::Arc;

use serde::Serialize;

use ec_domain::ports::Page;
use ec_domain::ports::{ObjectStore, ScanCatalog};
use ec_domain::scan::ScanSummary;
use ec_domain::vex::VexDocument;
use ec_domain::{ApiError, ErrorCode, PortError, ScanId, keys};

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
        let mut summary = ScanSummary::from(&scan);
        summary.ingested_at = Some(ec_domain::time::now());
        self.catalog.put(&summary).await?;
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

/// One scan as `GET /api/v1/scans` lists it (and `GET /api/v1/scans/{id}` answers it).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ScanListing {
    pub scan_id: ScanId,
    pub artifact: String,
    pub artifact_digest: Option<String>,
    pub source_format: String,
    pub findings: usize,
    pub components: usize,
    pub scanned_at: String,
    pub ingested_at: Option<String>,
}

impl From<ScanSummary> for ScanListing {
    fn from(s: ScanSummary) -> Self {
        ScanListing {
            scan_id: s.scan_id,
            artifact: s.artifact_name,
            artifact_digest: s.artifact_digest,
            source_format: s.source_format,
            findings: s.findings,
            components: s.components,
            scanned_at: ec_domain::time::rfc3339(s.scanned_at),
            ingested_at: s.ingested_at.map(ec_domain::time::rfc3339),
        }
    }
}

impl Scans {
    /// `GET /api/v1/scans?limit=&cursor=`: newest scanned first.
    pub async fn list(
        &self,
        caller: &Caller,
        limit: usize,
        cursor: Option<&str>,
    ) -> Result<Page<ScanListing>, ApiError> {
        match self.catalog.list(&caller.tenant, limit, cursor).await {
            Ok(page) => Ok(Page {
                items: page.items.into_iter().map(ScanListing::from).collect(),
                next_cursor: page.next_cursor,
            }),
            Err(PortError::Invalid(_)) if cursor.is_some() => Err(ApiError::validation(
                "cursor",
                "not a cursor this API issued",
            )),
            Err(e) => Err(e.into()),
        }
    }

    /// `GET /api/v1/scans/{id}`.
    pub async fn get(&self, caller: &Caller, scan_id: &ScanId) -> Result<ScanListing, ApiError> {
        self.catalog
            .get(&caller.tenant, scan_id)
            .await?
            .map(ScanListing::from)
            .ok_or_else(|| ApiError::not_found("scan"))
    }

    /// `DELETE /api/v1/scans/{id}`: the catalogue row first (the scan is no longer found by
    /// new exports), then the stored document. Exports already made keep their evidence.
    pub async fn delete(&self, caller: &Caller, scan_id: &ScanId) -> Result<(), ApiError> {
        if self.catalog.get(&caller.tenant, scan_id).await?.is_none() {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                format!("scan {scan_id} not found"),
            ));
        }
        self.catalog.delete(&caller.tenant, scan_id).await?;
        self.objects
            .delete(&keys::scan(&caller.tenant, scan_id))
            .await?;
        tracing::info!(tenant = %caller.tenant, scan_id = %scan_id, "scan deleted");
        Ok(())
    }
}
