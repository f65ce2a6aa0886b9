//! Recurring export schedules in SQLite: the schedule as JSON, plus the columns the
//! queries need (creation order per tenant, and `next_run_at` for the scheduler loop).

use async_trait::async_trait;
use ec_domain::PortError;
use ec_domain::ports::{PortResult, ScheduleStore, ScheduleTrigger};
use ec_domain::schedule::Schedule;
use rusqlite::{OptionalExtension, params};
use time::OffsetDateTime;

use crate::clock::to_ms;
use crate::db::{Db, DbError};

/// [`ScheduleStore`] over the `schedules` table, keyed by (tenant, schedule id), with
/// optimistic concurrency on the schedule's `version`.
#[derive(Debug, Clone)]
pub struct SqliteSchedules {
    db: Db,
}

impl SqliteSchedules {
    pub fn new(db: Db) -> Self {
        SqliteSchedules { db }
    }
}

/// The columns of one schedule row.
struct Row {
    tenant: String,
    schedule_id: String,
    created_at: i64,
    next_run_at: Option<i64>,
    version: i64,
    doc: String,
}

impl Row {
    fn of(s: &Schedule) -> PortResult<Row> {
        let version = version_i64(s.version)?;
        let doc = serde_json::to_string(s).map_err(|e| {
            PortError::Invalid(format!("schedule {} not serialisable: {e}", s.schedule_id))
        })?;
        Ok(Row {
            tenant: s.tenant_id.clone(),
            schedule_id: s.schedule_id.clone(),
            created_at: to_ms(s.created_at),
            next_run_at: s.next_run_at.map(to_ms),
            version,
            doc,
        })
    }
}

fn version_i64(v: u64) -> PortResult<i64> {
    i64::try_from(v).map_err(|_| PortError::Invalid(format!("schedule version {v} too large")))
}

fn parse(tenant: &str, schedule_id: &str, doc: &str) -> Result<Schedule, DbError> {
    serde_json::from_str(doc).map_err(|e| {
        DbError::Port(PortError::Invalid(format!(
            "stored schedule {tenant}/{schedule_id} is unreadable: {e}"
        )))
    })
}

fn parse_rows(rows: Vec<(String, String, String)>) -> Result<Vec<Schedule>, DbError> {
    rows.iter()
        .map(|(tenant, id, doc)| parse(tenant, id, doc))
        .collect()
}

#[async_trait]
impl ScheduleStore for SqliteSchedules {
    async fn create(&self, schedule: &Schedule) -> PortResult<()> {
        let row = Row::of(schedule)?;
        self.db
            .call(move |c| {
                let n = c.execute(
                    "INSERT INTO schedules (tenant, schedule_id, created_at, next_run_at, version, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (tenant, schedule_id) DO NOTHING",
                    params![
                        row.tenant,
                        row.schedule_id,
                        row.created_at,
                        row.next_run_at,
                        row.version,
                        row.doc
                    ],
                )?;
                if n == 0 {
                    return Err(PortError::ConditionFailed(format!(
                        "schedule {}/{} already exists",
                        row.tenant, row.schedule_id
                    ))
                    .into());
                }
                Ok(())
            })
            .await
    }

    async fn get(&self, tenant: &str, schedule_id: &str) -> PortResult<Option<Schedule>> {
        let (tenant, schedule_id) = (tenant.to_string(), schedule_id.to_string());
        self.db
            .call(move |c| {
                let doc: Option<String> = c
                    .prepare_cached(
                        "SELECT doc FROM schedules WHERE tenant = ?1 AND schedule_id = ?2",
                    )?
                    .query_row(params![tenant, schedule_id], |r| r.get(0))
                    .optional()?;
                doc.map(|d| parse(&tenant, &schedule_id, &d)).transpose()
            })
            .await
    }

    async fn list(&self, tenant: &str) -> PortResult<Vec<Schedule>> {
        let tenant = tenant.to_string();
        self.db
            .call(move |c| {
                let rows = c
                    .prepare_cached(
                        "SELECT tenant, schedule_id, doc FROM schedules WHERE tenant = ?1
                         ORDER BY created_at, schedule_id",
                    )?
                    .query_map(params![tenant], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                parse_rows(rows)
            })
            .await
    }

    async fn delete(&self, tenant: &str, schedule_id: &str) -> PortResult<()> {
        let (tenant, schedule_id) = (tenant.to_string(), schedule_id.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM schedules WHERE tenant = ?1 AND schedule_id = ?2",
                    params![tenant, schedule_id],
                )?;
                Ok(())
            })
            .await
    }

    async fn update(&self, schedule: &Schedule, expected_version: u64) -> PortResult<()> {
        let row = Row::of(schedule)?;
        let expected = version_i64(expected_version)?;
        self.db
            .call(move |c| {
                let n = c.execute(
                    "UPDATE schedules SET created_at = ?3, next_run_at = ?4, version = ?5, doc = ?6
                     WHERE tenant = ?1 AND schedule_id = ?2 AND version = ?7",
                    params![
                        row.tenant,
                        row.schedule_id,
                        row.created_at,
                        row.next_run_at,
                        row.version,
                        row.doc,
                        expected
                    ],
                )?;
                if n == 0 {
                    return Err(PortError::ConditionFailed(format!(
                        "schedule {}/{} is missing or no longer at version {expected}",
                        row.tenant, row.schedule_id
                    ))
                    .into());
                }
                Ok(())
            })
            .await
    }

    async fn due(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Schedule>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let now = to_ms(now);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .call(move |c| {
                let rows = c
                    .prepare_cached(
                        "SELECT tenant, schedule_id, doc FROM schedules
                         WHERE next_run_at IS NOT NULL AND next_run_at <= ?1
                         ORDER BY next_run_at, tenant, schedule_id LIMIT ?2",
                    )?
                    .query_map(params![now, limit], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                parse_rows(rows)
            })
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
