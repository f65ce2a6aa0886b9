//! The scan catalogue in SQLite.

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::ports::{Page, PortResult, ScanCatalog};
use ec_domain::scan::ScanSummary;
use ec_domain::{ScanId, TenantId};
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::clock::to_ms;
use crate::cursor;
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

    async fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> PortResult<Page<ScanSummary>> {
        if limit == 0 {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let after = cursor.map(cursor::decode).transpose()?;
        let tenant = tenant.to_string();
        // One row more than asked tells whether another page exists.
        let fetch = i64::try_from(limit.saturating_add(1)).unwrap_or(i64::MAX);
        let mut rows: Vec<(i64, ScanSummary)> = self
            .db
            .call(move |c| {
                // No cursor: before every row (no scan is dated at the end of time).
                let (ms, id) = after.unwrap_or((i64::MAX, String::new()));
                let mut stmt = c.prepare_cached(
                    "SELECT scanned_at, doc FROM scans
                     WHERE tenant = ?1 AND (scanned_at, scan_id) < (?2, ?3)
                     ORDER BY scanned_at DESC, scan_id DESC LIMIT ?4",
                )?;
                let rows = stmt
                    .query_map(params![tenant, ms, id, fetch], |r| {
                        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                rows.into_iter()
                    .map(|(ms, d)| parse_summary(&d).map(|s| (ms, s)))
                    .collect()
            })
            .await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = match (more, rows.last()) {
            (true, Some((ms, last))) => Some(cursor::encode(*ms, &last.scan_id)),
            _ => None,
        };
        Ok(Page {
            items: rows.into_iter().map(|(_, s)| s).collect(),
            next_cursor,
        })
    }

    async fn delete(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<()> {
        let (tenant, scan_id) = (tenant.to_string(), scan_id.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM scans WHERE tenant = ?1 AND scan_id = ?2",
                    params![tenant, scan_id],
                )?;
                Ok(())
            })
            .await
    }
}
