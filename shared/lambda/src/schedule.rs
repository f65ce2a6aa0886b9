//! The EventBridge Scheduler invocation of `export-schedule`: `{"schedule_id", "tenant_id",
//! "scheduled_at"}` (the target input the trigger registers; `scheduled_at` is Scheduler's
//! `<aws.scheduler.scheduled-time>`). A retried invocation for the same time starts nothing new.

use serde::Deserialize;
use serde_json::{Value, json};

use ec_pipeline::scheduler::Scheduler;

use ec_domain::{ScheduleId, TenantId};

use crate::HandlerError;

#[derive(Debug, Deserialize)]
struct Invocation {
    schedule_id: ScheduleId,
    tenant_id: TenantId,
    scheduled_at: Option<String>,
}

pub async fn handle(scheduler: &Scheduler, event: &Value) -> Result<Value, HandlerError> {
    let inv: Invocation = serde_json::from_value(event.clone())
        .map_err(|e| HandlerError::Permanent(format!("not a schedule invocation: {e}")))?;
    let scheduled_at = match inv.scheduled_at.as_deref() {
        Some(s) => ec_domain::time::parse_rfc3339(s).ok_or_else(|| {
            HandlerError::Permanent(format!("scheduled_at {s:?} is not RFC 3339"))
        })?,
        None => ec_domain::time::now(),
    };
    let job = scheduler
        .run(&inv.tenant_id, &inv.schedule_id, scheduled_at)
        .await?;
    Ok(json!({ "export_id": job.map(|j| j.export_id) }))
}
