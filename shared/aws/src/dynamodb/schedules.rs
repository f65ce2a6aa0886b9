//! Recurring export definitions in DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ec_domain::ports::{PortResult, ScheduleStore};
use ec_domain::schedule::Schedule;
use ec_domain::{ScheduleId, TenantId};
use time::OffsetDateTime;

use super::attrs::{Item, n};
use super::versioned::{Versioned, VersionedTable};

/// [`ScheduleStore`] over a DynamoDB table keyed by (`tenant_id`, `schedule_id`), with
/// optimistic concurrency on `version`: the versioned-document table of schedules.
///
/// [`due`](ScheduleStore::due) scans the whole table (filter `next_run_at <= :now`): it is
/// the embedded scheduler's query and the AWS stack does not call it, since EventBridge
/// Scheduler fires schedules there.
#[derive(Debug, Clone)]
pub struct DynamoSchedules {
    docs: VersionedTable<Schedule>,
}

impl DynamoSchedules {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSchedules {
            docs: VersionedTable::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.docs.table().name()
    }
}

impl Versioned for Schedule {
    const KIND: &'static str = "schedule";
    const ID_ATTR: &'static str = "schedule_id";

    fn key(&self) -> (&str, &str, u64) {
        (&self.tenant_id, &self.schedule_id, self.version)
    }

    fn index_attrs(&self, item: &mut Item) {
        item.insert("created_at".into(), n(self.created_at.unix_timestamp()));
        if let Some(next) = self.next_run_at {
            item.insert("next_run_at".into(), n(next.unix_timestamp()));
        }
    }
}

#[async_trait]
impl ScheduleStore for DynamoSchedules {
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
        let mut all = self.docs.of_tenant(tenant).await?;
        all.sort_by(|a, b| (a.created_at, &a.schedule_id).cmp(&(b.created_at, &b.schedule_id)));
        Ok(all)
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
        // Stored times are whole seconds, so `next_run_at <= now` is `<= floor(now)`.
        let mut due = self
            .docs
            .scan_at_most("next_run_at", now.unix_timestamp())
            .await?;
        // Most overdue first, then a stable order.
        due.sort_by(|a, b| {
            (a.next_run_at, &a.tenant_id, &a.schedule_id).cmp(&(
                b.next_run_at,
                &b.tenant_id,
                &b.schedule_id,
            ))
        });
        due.truncate(limit);
        Ok(due)
    }
}
