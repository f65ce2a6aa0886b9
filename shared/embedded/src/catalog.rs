//! The scan catalogue in SQLite.

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::ports::{PortResult, ScanCatalog};
use ec_domain::scan::ScanSummary;
use ec_domain::{ScanId, TenantId};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::clock::to_ms;
use crate::db::{Db, DbError};

/// [`ScanCatalog`] over the `scans` table: one summary per (tenant, scan id).
#[derive(Debug, Clone)]
pub struct SqliteScanCatalog {
    db: Db,
}

impl SqliteScanCatalog {
    pub fn new(db: Db) -> Self {
        SqliteScanCatalog { db }
    }
}

fn parse_summary(doc: &str) -> Result<ScanSummary, DbError> {
    serde_json::from_str(doc).map_err(|e| {
        DbError::Port(PortError::Invalid(format!(
            "stored scan summary is unreadable: {e}"
        )))
    })
}

#[async_trait]
impl ScanCatalog for SqliteScanCatalog {
    async fn put(&self, summary: &ScanSummary) -> PortResult<()> {
        let doc = serde_json::to_string(summary)
            .map_err(|e| PortError::Invalid(format!("scan summary not serialisable: {e}")))?;
        let tenant = summary.tenant_id.to_string();
        let scan_id = summary.scan_id.to_string();
        let scanned_at = to_ms(summary.scanned_at);
        self.db
            .call(move |c| {
                c.execute(
                    "INSERT INTO scans (tenant, scan_id, scanned_at, doc) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (tenant, scan_id)
                     DO UPDATE SET scanned_at = excluded.scanned_at, doc = excluded.doc",
                    params![tenant, scan_id, scanned_at, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn get(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<Option<ScanSummary>> {
        let (tenant, scan_id) = (tenant.to_string(), scan_id.to_string());
        self.db
            .call(move |c| {
                let doc: Option<String> = c
                    .prepare_cached("SELECT doc FROM scans WHERE tenant = ?1 AND scan_id = ?2")?
                    .query_row(params![tenant, scan_id], |r| r.get(0))
                    .optional()?;
                doc.map(|d| parse_summary(&d)).transpose()
            })
            .await
    }

    async fn in_range(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<ScanSummary>> {
        let tenant = tenant.to_string();
        let (from, to) = (to_ms(from), to_ms(to));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT doc FROM scans
                     WHERE tenant = ?1 AND scanned_at BETWEEN ?2 AND ?3
                     ORDER BY scanned_at, scan_id LIMIT ?4",
                )?;
                let docs = stmt
                    .query_map(params![tenant, from, to, limit], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                docs.iter().map(|d| parse_summary(d)).collect()
            })
            .await
    }
}
