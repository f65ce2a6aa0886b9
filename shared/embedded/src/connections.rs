//! WebSocket connections per tenant, in SQLite.

use std::time::Duration;

use async_trait::async_trait;
use ec_domain::TenantId;
use ec_domain::ports::{ConnectionRegistry, PortResult};
use rusqlite::params;

use crate::clock::{after_ms, now_ms};
use crate::db::Db;

/// [`ConnectionRegistry`] over the `connections` table. A registration lives for its
/// `ttl` (re-register to extend it); expired rows are never listed and are pruned.
#[derive(Debug, Clone)]
pub struct SqliteConnections {
    db: Db,
}

impl SqliteConnections {
    pub fn new(db: Db) -> Self {
        SqliteConnections { db }
    }

    /// Removes every connection of every tenant (at start-up: no socket survives a restart).
    pub async fn clear(&self) -> PortResult<usize> {
        self.db
            .call(|c| Ok(c.execute("DELETE FROM connections", [])?))
            .await
    }
}

#[async_trait]
impl ConnectionRegistry for SqliteConnections {
    async fn register(
        &self,
        connection_id: &str,
        tenant: &TenantId,
        ttl: Duration,
    ) -> PortResult<()> {
        let (connection_id, tenant) = (connection_id.to_string(), tenant.to_string());
        self.db
            .call(move |c| {
                let now = now_ms();
                c.execute(
                    "DELETE FROM connections WHERE expires_at <= ?1",
                    params![now],
                )?;
                c.execute(
                    "INSERT INTO connections (connection_id, tenant, expires_at)
                     VALUES (?1, ?2, ?3)
                     ON CONFLICT (connection_id)
                     DO UPDATE SET tenant = excluded.tenant, expires_at = excluded.expires_at",
                    params![connection_id, tenant, after_ms(now, ttl)],
                )?;
                Ok(())
            })
            .await
    }

    async fn remove(&self, connection_id: &str) -> PortResult<()> {
        let connection_id = connection_id.to_string();
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM connections WHERE connection_id = ?1",
                    params![connection_id],
                )?;
                Ok(())
            })
            .await
    }

    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<String>> {
        let tenant = tenant.to_string();
        self.db
            .call(move |c| {
                let now = now_ms();
                c.execute(
                    "DELETE FROM connections WHERE tenant = ?1 AND expires_at <= ?2",
                    params![tenant, now],
                )?;
                let mut stmt = c.prepare_cached(
                    "SELECT connection_id FROM connections
                     WHERE tenant = ?1 AND expires_at > ?2 ORDER BY connection_id",
                )?;
                let ids = stmt
                    .query_map(params![tenant, now], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(ids)
            })
            .await
    }
}
