//! Data sources backed by what was ingested through the API (the default when no
//! Scanner, Policy, VexLens or SBOM service is configured).

use std::sync::Arc;

use async_trait::async_trait;
use time::OffsetDateTime;

use ec_domain::policy::PolicyConfig;
use ec_domain::ports::*;
use ec_domain::scan::{Sbom, Scan, Verdicts, VexStatement};
use ec_domain::vex::{StoredVex as StoredVexObject, VexDocument};
use ec_domain::{PortError, keys};
use ec_domain::{ScanId, TenantId};

/// Scans stored as native JSON objects, found through the scan catalogue.
pub struct StoredScans {
    pub objects: Arc<dyn ObjectStore>,
    pub catalog: Arc<dyn ScanCatalog>,
}

#[async_trait]
impl ScanSource for StoredScans {
    async fn scan(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<Option<Scan>> {
        if self.catalog.get(tenant, scan_id).await?.is_none() {
            return Ok(None);
        }
        let bytes = match self.objects.get(&keys::scan(tenant, scan_id)).await {
            Ok(b) => b,
            Err(PortError::NotFound(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        // Pooled: the findings of one vulnerability share its text again (`shared_text`).
        ec_domain::shared_text::pooled(|| serde_json::from_slice(&bytes))
            .map(Some)
            .map_err(|e| PortError::Invalid(format!("stored scan {scan_id}: {e}")))
    }

    async fn exists(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<bool> {
        Ok(self.catalog.get(tenant, scan_id).await?.is_some())
    }

    async fn scans_between(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<ScanId>> {
        Ok(self
            .catalog
            .in_range(tenant, from, to, limit)
            .await?
            .into_iter()
            .map(|s| s.scan_id)
            .collect())
    }
}

/// The built-in policy.
pub struct BuiltinPolicy(pub PolicyConfig);

#[async_trait]
impl VerdictSource for BuiltinPolicy {
    async fn verdicts(
        &self,
        _tenant: &TenantId,
        scan: &Scan,
        vex: &[VexStatement],
    ) -> PortResult<Verdicts> {
        Ok(ec_domain::policy::evaluate(&self.0, scan, vex))
    }
}

/// VEX documents the tenant attached, applied to the scan's findings.
pub struct StoredVex {
    pub objects: Arc<dyn ObjectStore>,
}

impl StoredVex {
    async fn read(&self, key: &str, id: &str) -> PortResult<VexDocument> {
        let bytes = self.objects.get(key).await?;
        let stored: StoredVexObject = serde_json::from_slice(&bytes)
            .map_err(|e| PortError::Invalid(format!("stored VEX {key}: {e}")))?;
        Ok(stored.into_document(id))
    }
}

#[async_trait]
impl VexSource for StoredVex {
    async fn applied(&self, tenant: &TenantId, scan: &Scan) -> PortResult<Vec<VexStatement>> {
        let documents = self.documents(tenant, None).await?;
        Ok(ec_domain::vex::applied_from(&documents, scan))
    }

    async fn documents(
        &self,
        tenant: &TenantId,
        ids: Option<&[ScanId]>,
    ) -> PortResult<Vec<VexDocument>> {
        let mut out = Vec::new();
        match ids {
            Some(ids) => {
                for id in ids {
                    out.push(self.read(&keys::vex(tenant, id), id).await?);
                }
            }
            None => {
                let prefix = keys::vex_prefix(tenant);
                for meta in self.objects.list(&prefix).await? {
                    let id = meta.key[prefix.len()..]
                        .trim_end_matches(".json")
                        .to_string();
                    out.push(self.read(&meta.key, &id).await?);
                }
            }
        }
        Ok(out)
    }
}

/// The SBOM derived from the scan's own package list.
pub struct DerivedSbom;

#[async_trait]
impl SbomSource for DerivedSbom {
    async fn sbom(&self, _tenant: &TenantId, scan: &Scan) -> PortResult<Option<Sbom>> {
        Ok(Some(scan.derived_sbom()))
    }
}
