//! The schedule service behind `POST/GET/DELETE /api/v1/schedules`: a schedule's request is
//! validated exactly as `POST /api/v1/exports` validates it, stored, and registered with
//! the trigger that fires it. Runs are the [`Scheduler`](crate::scheduler::Scheduler)'s.

use std::sync::Arc;

use ec_domain::ScheduleId;
use ec_domain::ports::{ScheduleStore, ScheduleTrigger};
use ec_domain::schedule::{CronSpec, Schedule, new_schedule_id};
use ec_domain::{ApiError, ErrorCode, ExportRequest, PortError};

use crate::app::Caller;
use crate::app::exports::Exports;
use crate::app::inputs::NewSchedule;

/// An export request's error, with its fields named inside the schedule body
/// (`scope.scan_ids` → `request.scope.scan_ids`).
fn in_request(mut e: ApiError) -> ApiError {
    for d in &mut e.details {
        d.field = format!("request.{}", d.field);
    }
    e
}

/// The schedule service and the ports it uses.
#[derive(Clone)]
pub struct Schedules {
    pub store: Arc<dyn ScheduleStore>,
    pub trigger: Arc<dyn ScheduleTrigger>,
    /// Validation of the schedule's request.
    pub exports: Exports,
}

impl Schedules {
    /// `POST /api/v1/schedules`: `{ "cron", "timezone" (default UTC), "request" }`. The
    /// request is validated exactly as `POST /api/v1/exports` validates it. Stored, then
    /// registered with the trigger; if registering fails the schedule is removed again
    /// (503), so nothing is left half-made.
    pub async fn create(&self, caller: &Caller, body: NewSchedule) -> Result<Schedule, ApiError> {
        let spec = CronSpec::parse(&body.cron, &body.timezone)?;
        let request =
            ExportRequest::from_schedule_json(&body.request, &caller.tenant).map_err(in_request)?;
        self.exports
            .validate(&caller.tenant, request)
            .await
            .map_err(in_request)?;
        let expression = spec.eventbridge_expression()?;
        let now = ec_domain::time::now();
        let next = spec
            .next_after(now)
            .ok_or_else(|| ApiError::validation("cron", "never fires"))?;
        let schedule = Schedule::new(
            new_schedule_id(),
            caller.tenant.clone(),
            body.cron,
            spec.timezone().to_string(),
            body.request,
            caller.subject.clone(),
            now,
            Some(next),
        );
        self.store.create(&schedule).await?;
        if let Err(e) = self
            .trigger
            .register(&schedule, &expression, spec.timezone())
            .await
        {
            tracing::error!(schedule_id = %schedule.schedule_id, error = %e, "registering the schedule failed; removing it");
            if let Err(e) = self
                .store
                .delete(&schedule.tenant_id, &schedule.schedule_id)
                .await
            {
                tracing::error!(schedule_id = %schedule.schedule_id, error = %e, "rollback of the schedule failed");
            }
            return Err(match e {
                PortError::Invalid(m) => ApiError::validation("cron", m),
                _ => ApiError::new(
                    ErrorCode::Unavailable,
                    "the scheduler is unavailable; retry later",
                ),
            });
        }
        tracing::info!(schedule_id = %schedule.schedule_id, tenant = %schedule.tenant_id, cron = %schedule.cron, timezone = %schedule.timezone, "schedule created");
        Ok(schedule)
    }

    /// `GET /api/v1/schedules`: the tenant's schedules, oldest first.
    pub async fn list(&self, caller: &Caller) -> Result<Vec<Schedule>, ApiError> {
        Ok(self.store.list(&caller.tenant).await?)
    }

    /// `GET /api/v1/schedules/{id}` (404 for unknown ids and other tenants' ids).
    pub async fn get(
        &self,
        caller: &Caller,
        schedule_id: &ScheduleId,
    ) -> Result<Schedule, ApiError> {
        self.store
            .get(&caller.tenant, schedule_id)
            .await?
            .ok_or_else(|| ApiError::not_found("schedule"))
    }

    /// `DELETE /api/v1/schedules/{id}`: unregisters the trigger, then removes the schedule.
    /// Exports it already started are left alone.
    pub async fn delete(&self, caller: &Caller, schedule_id: &ScheduleId) -> Result<(), ApiError> {
        let schedule = self.get(caller, schedule_id).await?;
        match self.trigger.unregister(&schedule).await {
            Ok(()) | Err(PortError::NotFound(_)) => {}
            Err(e) => {
                tracing::error!(schedule_id = %schedule_id, error = %e, "unregistering the schedule failed");
                return Err(ApiError::new(
                    ErrorCode::Unavailable,
                    "the scheduler is unavailable; retry later",
                ));
            }
        }
        self.store.delete(&caller.tenant, schedule_id).await?;
        tracing::info!(schedule_id = %schedule_id, tenant = %caller.tenant, "schedule deleted");
        Ok(())
    }
}
