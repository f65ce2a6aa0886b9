//! Per-tenant export quotas in SQLite: one row per export holding a concurrent slot
//! (`quota_slots`) and one counter per tenant and minute (`quota_windows`); every
//! reservation is one immediate transaction, so concurrent requests see each other.

use async_trait::async_trait;
use ec_domain::ports::{
    PortResult, QuotaLimit, QuotaUsage, Quotas, Reservation, SlotHolder, quota_window,
};
use ec_domain::tenant_settings::QuotaSettings;
use ec_domain::{ExportId, PortError, TenantId};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use time::OffsetDateTime;

use crate::clock::to_ms;
use crate::db::Db;

/// [`Quotas`] over the `quota_slots` and `quota_windows` tables. Windows before the
/// current one are deleted as reservations pass, so the counters stay a few rows.
#[derive(Debug, Clone)]
pub struct SqliteQuotas {
    db: Db,
}

impl SqliteQuotas {
    pub fn new(db: Db) -> Self {
        SqliteQuotas { db }
    }
}

fn count_u32(n: i64) -> u32 {
    u32::try_from(n.max(0)).unwrap_or(u32::MAX)
}

/// The usage of `tenant` in the window starting at `window` (unix seconds).
fn usage_in(c: &Connection, tenant: &str, window: OffsetDateTime) -> rusqlite::Result<QuotaUsage> {
    let start = window.unix_timestamp();
    let minute_used: i64 = c
        .query_row(
            "SELECT used FROM quota_windows WHERE tenant = ?1 AND window_start = ?2",
            params![tenant, start],
            |r| r.get(0),
        )
        .optional()?
        .unwrap_or(0);
    let concurrent_used: i64 = c.query_row(
        "SELECT COUNT(*) FROM quota_slots WHERE tenant = ?1",
        params![tenant],
        |r| r.get(0),
    )?;
    Ok(QuotaUsage {
        minute_used: count_u32(minute_used),
        window_ends: window + time::Duration::minutes(1),
        concurrent_used: count_u32(concurrent_used),
    })
}

#[async_trait]
impl Quotas for SqliteQuotas {
    async fn reserve(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        limits: &QuotaSettings,
        count_rate: bool,
        now: OffsetDateTime,
    ) -> PortResult<Reservation> {
        let (tenant, export_id, limits) = (tenant.to_string(), export_id.to_string(), *limits);
        let window = quota_window(now);
        let now_ms = to_ms(now);
        self.db
            .call(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let usage = usage_in(&tx, &tenant, window)?;
                let holds: bool = tx
                    .query_row(
                        "SELECT 1 FROM quota_slots WHERE tenant = ?1 AND export_id = ?2",
                        params![tenant, export_id],
                        |_| Ok(true),
                    )
                    .optional()?
                    .unwrap_or(false);
                let refused = if !holds && usage.concurrent_used >= limits.concurrent_exports {
                    Some(QuotaLimit::ConcurrentExports)
                } else if count_rate && usage.minute_used >= limits.exports_per_minute {
                    Some(QuotaLimit::ExportsPerMinute)
                } else {
                    None
                };
                if let Some(limit) = refused {
                    return Ok(Reservation::Refused { limit, usage });
                }
                let mut granted = usage;
                if !holds {
                    tx.execute(
                        "INSERT INTO quota_slots (tenant, export_id, reserved_at) VALUES (?1, ?2, ?3)",
                        params![tenant, export_id, now_ms],
                    )?;
                    granted.concurrent_used += 1;
                }
                if count_rate {
                    let start = window.unix_timestamp();
                    tx.execute(
                        "INSERT INTO quota_windows (tenant, window_start, used) VALUES (?1, ?2, 1)
                         ON CONFLICT (tenant, window_start) DO UPDATE SET used = used + 1",
                        params![tenant, start],
                    )?;
                    tx.execute(
                        "DELETE FROM quota_windows WHERE tenant = ?1 AND window_start < ?2",
                        params![tenant, start],
                    )?;
                    granted.minute_used += 1;
                }
                tx.commit()?;
                Ok(Reservation::Granted(granted))
            })
            .await
    }

    async fn release(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<bool> {
        let (tenant, export_id) = (tenant.to_string(), export_id.to_string());
        self.db
            .call(move |c| {
                let n = c.execute(
                    "DELETE FROM quota_slots WHERE tenant = ?1 AND export_id = ?2",
                    params![tenant, export_id],
                )?;
                Ok(n > 0)
            })
            .await
    }

    async fn refund(&self, tenant: &TenantId, at: OffsetDateTime) -> PortResult<()> {
        let tenant = tenant.to_string();
        let start = quota_window(at).unix_timestamp();
        self.db
            .call(move |c| {
                c.execute(
                    "UPDATE quota_windows SET used = used - 1
                     WHERE tenant = ?1 AND window_start = ?2 AND used > 0",
                    params![tenant, start],
                )?;
                Ok(())
            })
            .await
    }

    async fn usage(&self, tenant: &TenantId, now: OffsetDateTime) -> PortResult<QuotaUsage> {
        let tenant = tenant.to_string();
        let window = quota_window(now);
        self.db
            .call(move |c| Ok(usage_in(c, &tenant, window)?))
            .await
    }

    async fn holders(&self, tenant: &TenantId) -> PortResult<Vec<SlotHolder>> {
        let tenant = tenant.to_string();
        self.db
            .call(move |c| {
                let mut stmt = c.prepare(
                    "SELECT export_id, reserved_at FROM quota_slots WHERE tenant = ?1
                     ORDER BY reserved_at, export_id",
                )?;
                let rows = stmt.query_map(params![tenant], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
                })?;
                let mut out = Vec::new();
                for row in rows {
                    let (id, at) = row?;
                    let export_id = ExportId::parse(id)
                        .map_err(|e| PortError::Invalid(format!("stored quota slot: {e}")))?;
                    let reserved_at =
                        OffsetDateTime::from_unix_timestamp_nanos(i128::from(at) * 1_000_000)
                            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                    out.push(SlotHolder {
                        export_id,
                        reserved_at,
                    });
                }
                Ok(out)
            })
            .await
    }
}
