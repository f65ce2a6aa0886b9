//! Recurring export schedules in SQLite: the schedule as JSON, plus the columns the
//! queries need (creation order per tenant, and `next_run_at` for the scheduler loop), in the
//! versioned-document table.

use async_trait::async_trait;
use ec_domain::ports::{PortResult, ScheduleStore, ScheduleTrigger};
use ec_domain::schedule::Schedule;
use ec_domain::{ScheduleId, TenantId};
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::clock::to_ms;
use crate::db::Db;
use crate::versioned::{Versioned, VersionedTable, limit_value};

/// [`ScheduleStore`] over the `schedules` table, keyed by (tenant, schedule id), with
/// optimistic concurrency on the schedule's `version`: the versioned-document table of
/// schedules.
#[derive(Debug, Clone)]
pub struct SqliteSchedules {
    docs: VersionedTable<Schedule>,
}

impl SqliteSchedules {
    pub fn new(db: Db) -> Self {
        SqliteSchedules {
            docs: VersionedTable::new(db),
        }
    }
}

impl Versioned for Schedule {
    const KIND: &'static str = "schedule";
    const TABLE: &'static str = "schedules";
    const ID_COLUMN: &'static str = "schedule_id";
    const COLUMNS: &'static [&'static str] = &["created_at", "next_run_at"];

    fn key(&self) -> (&str, &str, u64) {
        (&self.tenant_id, &self.schedule_id, self.version)
    }

    fn column_values(&self) -> Vec<Value> {
        vec![
            Value::Integer(to_ms(self.created_at)),
            self.next_run_at
                .map_or(Value::Null, |t| Value::Integer(to_ms(t))),
        ]
    }
}

#[async_trait]
impl ScheduleStore for SqliteSchedules {
    async fn create(&self, schedule: &Schedule) -> PortResult<()> {
        self.docs.create(schedule).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        schedule_id: &ScheduleId,
    ) -> PortResult<Option<Schedule>> {
        self.docs.get(tenant, schedule_id).await
    }

    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<Schedule>> {
        self.docs
            .select(
                "WHERE tenant = ?1 ORDER BY created_at, schedule_id".into(),
                vec![Value::Text(tenant.to_string())],
            )
            .await
    }

    async fn delete(&self, tenant: &TenantId, schedule_id: &ScheduleId) -> PortResult<()> {
        self.docs.delete(tenant, schedule_id).await
    }

    async fn update(&self, schedule: &Schedule, expected_version: u64) -> PortResult<()> {
        self.docs.update(schedule, expected_version).await
    }

    async fn due(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Schedule>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.docs
            .select(
                "WHERE next_run_at IS NOT NULL AND next_run_at <= ?1
                 ORDER BY next_run_at, tenant, schedule_id LIMIT ?2"
                    .into(),
                vec![Value::Integer(to_ms(now)), limit_value(limit)],
            )
            .await
    }
}

/// The embedded stack's [`ScheduleTrigger`]: nothing to register, because its scheduler
/// loop reads `next_run_at` from [`SqliteSchedules`].
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopTrigger;

#[async_trait]
impl ScheduleTrigger for NoopTrigger {
    async fn register(&self, _: &Schedule, _: &str, _: &str) -> PortResult<()> {
        Ok(())
    }

    async fn unregister(&self, _: &Schedule) -> PortResult<()> {
        Ok(())
    }
}
