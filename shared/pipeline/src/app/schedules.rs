//! The schedule service behind `POST/GET/DELETE /api/v1/schedules`: a schedule's request is
//! validated exactly as `POST /api/v1/exports` validates it, stored, and registered with
//! the trigger that fires it. Runs are the [`Scheduler`](crate::scheduler::Scheduler)'s.

use std::sync::Arc;

use ec_domain::ScheduleId;
use ec_domain::ports::{ScheduleStore, ScheduleTrigger};
use ec_domain::schedule::{CronSpec, Schedule, new_schedule_id};
use ec_domain::{ApiError, ErrorCode, ExportRequest, Job, PortError};

use crate::app::Caller;
use crate::app::exports::Exports;
use crate::app::inputs::{NewSchedule, SchedulePatch};
use crate::scheduler::Scheduler;

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

    /// `PATCH /api/v1/schedules/{id}`: pause, resume or change a schedule. A change is
    /// validated as a new schedule is; the trigger follows (removed when paused, registered
    /// again with the new expression otherwise) before the schedule is written,
    /// conditionally on the version read (`409` when it changed meanwhile).
    pub async fn patch(
        &self,
        caller: &Caller,
        schedule_id: &ScheduleId,
        patch: SchedulePatch,
    ) -> Result<Schedule, ApiError> {
        let current = self.get(caller, schedule_id).await?;
        let mut next = current.clone();
        if let Some(cron) = patch.cron {
            next.cron = cron;
        }
        if let Some(tz) = patch.timezone {
            next.timezone = tz;
        }
        if let Some(request) = patch.request {
            let parsed =
                ExportRequest::from_schedule_json(&request, &caller.tenant).map_err(in_request)?;
            self.exports
                .validate(&caller.tenant, parsed)
                .await
                .map_err(in_request)?;
            next.request = request;
        }
        if let Some(paused) = patch.paused {
            next.paused = paused;
        }
        let spec = CronSpec::parse(&next.cron, &next.timezone)?;
        next.timezone = spec.timezone().to_string();
        let expression = spec.eventbridge_expression()?;
        let now = ec_domain::time::now();
        next.next_run_at = if next.paused {
            None
        } else {
            Some(
                spec.next_after(now)
                    .ok_or_else(|| ApiError::validation("cron", "never fires"))?,
            )
        };
        let trigger = if next.paused {
            match self.trigger.unregister(&next).await {
                Err(PortError::NotFound(_)) => Ok(()),
                other => other,
            }
        } else {
            self.trigger
                .register(&next, &expression, spec.timezone())
                .await
        };
        if let Err(e) = trigger {
            tracing::error!(schedule_id = %schedule_id, error = %e, "updating the schedule's trigger failed");
            return Err(match e {
                PortError::Invalid(m) => ApiError::validation("cron", m),
                _ => ApiError::new(
                    ErrorCode::Unavailable,
                    "the scheduler is unavailable; retry later",
                ),
            });
        }
        next.version = current.version + 1;
        match self.store.update(&next, current.version).await {
            Ok(()) => {}
            Err(PortError::ConditionFailed(_)) => {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    "the schedule changed meanwhile; read it and try again",
                ));
            }
            Err(e) => return Err(e.into()),
        }
        tracing::info!(schedule_id = %schedule_id, tenant = %caller.tenant, paused = next.paused, "schedule changed");
        Ok(next)
    }

    /// `POST /api/v1/schedules/{id}/run`: one run now (paused or not), an ordinary export
    /// recorded on the schedule as its latest run.
    pub async fn run_now(
        &self,
        caller: &Caller,
        schedule_id: &ScheduleId,
    ) -> Result<Job, ApiError> {
        self.get(caller, schedule_id).await?;
        let scheduler = Scheduler {
            store: self.store.clone(),
            exports: self.exports.clone(),
        };
        match scheduler.run_now(&caller.tenant, schedule_id).await {
            Ok(Some(job)) => Ok(job),
            Ok(None) => {
                let s = self.get(caller, schedule_id).await?;
                Err(match s.last_error {
                    Some(e) => ApiError::new(ErrorCode::ExportValidation, e.message),
                    None => ApiError::new(ErrorCode::Conflict, "the run did not start; retry"),
                })
            }
            Err(e) => Err(ApiError::new(ErrorCode::Unavailable, e.to_string())),
        }
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

/// Most run times `GET /api/v1/schedules/preview` answers.
pub const MAX_PREVIEW: usize = 20;

/// `GET /api/v1/schedules/preview?cron=&timezone=&count=`: the next `count` run times after
/// `now` of a cron expression in a time zone, checked as a schedule's are (`422` on the
/// field that is wrong).
pub fn preview(
    cron: &str,
    timezone: &str,
    count: usize,
    now: time::OffsetDateTime,
) -> Result<Vec<String>, ApiError> {
    if count == 0 || count > MAX_PREVIEW {
        return Err(ApiError::validation(
            "count",
            format!("must be 1 to {MAX_PREVIEW}"),
        ));
    }
    let spec = CronSpec::parse(cron, timezone)?;
    let mut out = Vec::with_capacity(count);
    let mut at = now;
    while out.len() < count {
        let Some(next) = spec.next_after(at) else {
            break;
        };
        out.push(ec_domain::time::rfc3339(next));
        at = next;
    }
    Ok(out)
}
