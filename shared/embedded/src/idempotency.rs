//! `Idempotency-Key` records in SQLite.

use std::time::Duration;

use async_trait::async_trait;
use ec_domain::ports::{Claim, IdempotencyStore, PortResult};
use ec_domain::{ExportId, TenantId};
use rusqlite::{TransactionBehavior, params};

use crate::clock::{after_ms, now_ms};
use crate::db::Db;

/// [`IdempotencyStore`] over the `idempotency` table. A record lives for the `ttl` given
/// when it was claimed; once expired the key can be claimed afresh.
#[derive(Debug, Clone)]
pub struct SqliteIdempotency {
    db: Db,
}

impl SqliteIdempotency {
    pub fn new(db: Db) -> Self {
        SqliteIdempotency { db }
    }

    /// Deletes every expired record; returns how many. Expired records are ignored and
    /// replaced anyway, so this only reclaims space (call it now and then).
    pub async fn purge_expired(&self) -> PortResult<usize> {
        self.db
            .call(|c| {
                Ok(c.execute(
                    "DELETE FROM idempotency WHERE expires_at <= ?1",
                    params![now_ms()],
                )?)
            })
            .await
    }
}

#[async_trait]
impl IdempotencyStore for SqliteIdempotency {
    async fn claim(
        &self,
        tenant: &TenantId,
        key: &str,
        request_hash: &str,
        export_id: &ExportId,
        ttl: Duration,
    ) -> PortResult<Claim> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        let (request_hash, export_id) = (request_hash.to_string(), export_id.to_string());
        self.db
            .call(move |c| {
                let now = now_ms();
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                tx.execute(
                    "DELETE FROM idempotency WHERE tenant = ?1 AND key = ?2 AND expires_at <= ?3",
                    params![tenant, key, now],
                )?;
                let inserted = tx.execute(
                    "INSERT OR IGNORE INTO idempotency
                         (tenant, key, request_hash, export_id, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![tenant, key, request_hash, export_id, after_ms(now, ttl)],
                )?;
                let claim = if inserted == 1 {
                    Claim::Claimed
                } else {
                    let (request_hash, export_id): (String, String) = tx.query_row(
                        "SELECT request_hash, export_id FROM idempotency
                         WHERE tenant = ?1 AND key = ?2",
                        params![tenant, key],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )?;
                    Claim::Existing {
                        request_hash,
                        export_id: ExportId::parse(export_id).map_err(|e| {
                            rusqlite::Error::FromSqlConversionFailure(
                                1,
                                rusqlite::types::Type::Text,
                                Box::new(e),
                            )
                        })?,
                    }
                };
                tx.commit()?;
                Ok(claim)
            })
            .await
    }

    async fn release(&self, tenant: &TenantId, key: &str) -> PortResult<()> {
        let (tenant, key) = (tenant.to_string(), key.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM idempotency WHERE tenant = ?1 AND key = ?2",
                    params![tenant, key],
                )?;
                Ok(())
            })
            .await
    }
}
