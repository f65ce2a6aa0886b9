//! Recurring export definitions in DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ec_domain::PortError;
use ec_domain::ports::{PortResult, ScheduleStore};
use ec_domain::schedule::Schedule;
use time::OffsetDateTime;

use super::attrs::{Item, get_s, n, port_error, read_doc, s, write_doc};

/// [`ScheduleStore`] over a DynamoDB table keyed by (`tenant_id`, `schedule_id`), with
/// optimistic concurrency on `version`.
///
/// [`due`](ScheduleStore::due) scans the whole table (filter `next_run_at <= :now`): it is
/// the embedded scheduler's query and the AWS stack does not call it, since EventBridge
/// Scheduler fires schedules there.
#[derive(Debug, Clone)]
pub struct DynamoSchedules {
    client: Client,
    table: String,
}

impl DynamoSchedules {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoSchedules {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(tenant: &str, schedule_id: &str) -> Item {
        Item::from([
            ("tenant_id".to_string(), s(tenant)),
            ("schedule_id".to_string(), s(schedule_id)),
        ])
    }
}

fn what(tenant: &str, schedule_id: &str) -> String {
    format!("schedule {tenant}/{schedule_id}")
}

fn item_of(schedule: &Schedule) -> PortResult<Item> {
    let w = what(&schedule.tenant_id, &schedule.schedule_id);
    let mut item = DynamoSchedules::key(&schedule.tenant_id, &schedule.schedule_id);
    item.insert("version".into(), n(schedule.version));
    item.insert("created_at".into(), n(schedule.created_at.unix_timestamp()));
    if let Some(next) = schedule.next_run_at {
        item.insert("next_run_at".into(), n(next.unix_timestamp()));
    }
    item.insert("doc".into(), write_doc(schedule, &w)?);
    Ok(item)
}

fn schedule_of(item: &Item) -> PortResult<Schedule> {
    let tenant = get_s(item, "tenant_id", "stored schedule")?;
    let schedule_id = get_s(item, "schedule_id", "stored schedule")?;
    let w = what(tenant, schedule_id);
    let schedule: Schedule = read_doc(item, &w)?;
    if schedule.tenant_id != tenant || schedule.schedule_id != schedule_id {
        return Err(PortError::Invalid(format!(
            "{w}: stored document is for {}/{}",
            schedule.tenant_id, schedule.schedule_id
        )));
    }
    Ok(schedule)
}

#[async_trait]
impl ScheduleStore for DynamoSchedules {
    async fn create(&self, schedule: &Schedule) -> PortResult<()> {
        let w = what(&schedule.tenant_id, &schedule.schedule_id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(schedule)?))
            .condition_expression("attribute_not_exists(schedule_id)")
            .send()
            .await
            .map_err(|e| match port_error(&format!("create {w}"), e) {
                PortError::ConditionFailed(_) => {
                    PortError::ConditionFailed(format!("{w} already exists"))
                }
                other => other,
            })?;
        Ok(())
    }

    async fn get(&self, tenant: &str, schedule_id: &str) -> PortResult<Option<Schedule>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(tenant, schedule_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(&format!("get {}", what(tenant, schedule_id)), e))?;
        out.item.as_ref().map(schedule_of).transpose()
    }

    async fn list(&self, tenant: &str) -> PortResult<Vec<Schedule>> {
        let mut all = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("#t = :t")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_values(":t", s(tenant))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error(&format!("list schedules of {tenant}"), e))?;
            for item in out.items.unwrap_or_default() {
                all.push(schedule_of(&item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        all.sort_by(|a, b| (a.created_at, &a.schedule_id).cmp(&(b.created_at, &b.schedule_id)));
        Ok(all)
    }

    async fn delete(&self, tenant: &str, schedule_id: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(tenant, schedule_id)))
            .send()
            .await
            .map_err(|e| port_error(&format!("delete {}", what(tenant, schedule_id)), e))?;
        Ok(())
    }

    async fn update(&self, schedule: &Schedule, expected_version: u64) -> PortResult<()> {
        let w = what(&schedule.tenant_id, &schedule.schedule_id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(schedule)?))
            .condition_expression("attribute_exists(schedule_id) AND #v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await
            .map_err(|e| match port_error(&format!("update {w}"), e) {
                PortError::ConditionFailed(_) => PortError::ConditionFailed(format!(
                    "{w} is missing or no longer at version {expected_version}"
                )),
                other => other,
            })?;
        Ok(())
    }

    async fn due(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Schedule>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Stored times are whole seconds, so `next_run_at <= now` is `<= floor(now)`.
        let now_s = now.unix_timestamp();
        let mut due = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("#n <= :now")
                .expression_attribute_names("#n", "next_run_at")
                .expression_attribute_values(":now", n(now_s))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("scan due schedules", e))?;
            for item in out.items.unwrap_or_default() {
                due.push(schedule_of(&item)?);
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
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
