//! Data sources behind the internal HTTP endpoints of the StellaOps services:
//! `GET /internal/scans/{id}`, `/internal/verdicts/{scan_id}`, `/internal/vex/applied/{scan_id}`
//! and `/internal/sboms/{digest}`. Bodies are the native model's JSON. Date-range scopes use
//! `GET /internal/scans?from=..&to=..&limit=..` answering `{"scan_ids": [...]}`.

use std::time::Duration;

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use url::Url;

use ec_domain::PortError;
use ec_domain::ports::*;
use ec_domain::scan::{Sbom, Scan, Verdicts, VexStatement};
use ec_domain::{ScanId, TenantId};

/// One internal service: its base URL and the shared HTTP client.
#[derive(Clone)]
pub struct Service {
    client: reqwest::Client,
    base: Url,
    token: Option<String>,
}

impl Service {
    /// `base` is the service root, e.g. `http://scanner.internal:8080/`.
    pub fn new(base: &str, token: Option<String>, timeout: Duration) -> Result<Service, PortError> {
        let mut base = Url::parse(base)
            .map_err(|e| PortError::Invalid(format!("bad service URL {base:?}: {e}")))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(PortError::backend)?;
        Ok(Service {
            client,
            base,
            token,
        })
    }

    fn url(&self, segments: &[&str]) -> Result<Url, PortError> {
        let mut url = self.base.clone();
        url.path_segments_mut()
            .map_err(|_| PortError::Invalid("service URL cannot be a base".into()))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }

    /// GETs JSON; `Ok(None)` on 404.
    async fn get<T: DeserializeOwned>(&self, tenant: &TenantId, url: Url) -> PortResult<Option<T>> {
        let mut req = self
            .client
            .get(url.clone())
            .header("X-Tenant-Id", tenant.as_str());
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| PortError::Unavailable(format!("GET {url}: {e}")))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(PortError::Unavailable(format!("GET {url}: {status}")));
        }
        if !status.is_success() {
            return Err(PortError::Backend(format!("GET {url}: {status}")));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| PortError::Unavailable(format!("GET {url}: {e}")))?;
        ec_domain::shared_text::pooled(|| serde_json::from_slice(&body))
            .map(Some)
            .map_err(|e| PortError::Invalid(format!("GET {url}: unexpected body: {e}")))
    }
}

pub struct HttpScans(pub Service);
pub struct HttpVerdicts(pub Service);
pub struct HttpVex(pub Service);
pub struct HttpSboms(pub Service);

#[derive(serde::Deserialize)]
struct ScanIds {
    scan_ids: Vec<ScanId>,
}

#[async_trait]
impl ScanSource for HttpScans {
    async fn scan(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<Option<Scan>> {
        let scan: Option<Scan> = self
            .0
            .get(tenant, self.0.url(&["internal", "scans", scan_id])?)
            .await?;
        // Never let a service hand one tenant's scan to another.
        Ok(scan.filter(|s| &s.tenant_id == tenant))
    }

    async fn scans_between(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<ScanId>> {
        let mut url = self.0.url(&["internal", "scans"])?;
        url.query_pairs_mut()
            .append_pair("from", &ec_domain::time::rfc3339(from))
            .append_pair("to", &ec_domain::time::rfc3339(to))
            .append_pair("limit", &limit.to_string());
        let ids: Option<ScanIds> = self.0.get(tenant, url).await?;
        Ok(ids.map(|i| i.scan_ids).unwrap_or_default())
    }
}

#[async_trait]
impl VerdictSource for HttpVerdicts {
    async fn verdicts(
        &self,
        tenant: &TenantId,
        scan: &Scan,
        _vex: &[VexStatement],
    ) -> PortResult<Verdicts> {
        let url = self.0.url(&["internal", "verdicts", &scan.scan_id])?;
        self.0
            .get(tenant, url)
            .await?
            .ok_or_else(|| PortError::NotFound(format!("verdicts for {}", scan.scan_id)))
    }
}

#[async_trait]
impl VexSource for HttpVex {
    async fn applied(&self, tenant: &TenantId, scan: &Scan) -> PortResult<Vec<VexStatement>> {
        let url = self.0.url(&["internal", "vex", "applied", &scan.scan_id])?;
        Ok(self.0.get(tenant, url).await?.unwrap_or_default())
    }

    /// VexLens applies statements per scan and lists no documents.
    async fn documents(
        &self,
        _tenant: &TenantId,
        ids: Option<&[ScanId]>,
    ) -> PortResult<Vec<ec_domain::vex::VexDocument>> {
        match ids.and_then(|i| i.first()) {
            Some(id) => Err(PortError::NotFound(format!(
                "VEX document {id}: the VexLens service lists no documents"
            ))),
            None => Ok(Vec::new()),
        }
    }
}

#[async_trait]
impl SbomSource for HttpSboms {
    async fn sbom(&self, tenant: &TenantId, scan: &Scan) -> PortResult<Option<Sbom>> {
        let Some(digest) = &scan.artifact.digest else {
            return Ok(None);
        };
        self.0
            .get(tenant, self.0.url(&["internal", "sboms", digest])?)
            .await
    }
}
