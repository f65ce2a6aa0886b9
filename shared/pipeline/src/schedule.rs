//! Scheduled exports: `POST/GET/DELETE /api/v1/schedules`, one run of a schedule (what the
//! AWS `export-schedule` function does per EventBridge Scheduler delivery), and the embedded
//! stack's scheduler loop.
//!
//! A run is an ordinary export: the schedule's stored request goes through the same
//! validation and the same idempotency path as `POST /api/v1/exports`, with the job's
//! `schedule_id` set, the idempotency key
//! [`run_key`](ec_domain::schedule::run_key)`(schedule, scheduled time)` and an export id
//! derived from the run ([`run_export_id`](ec_domain::schedule::run_export_id)), so however
//! often a trigger for one scheduled time is delivered, one job exists.
//!
//! # Missed runs (embedded scheduler)
//!
//! The loop fires every schedule whose `next_run_at` has passed. After downtime (or a tick
//! longer than the period) several slots may have passed: they are **coalesced into one
//! catch-up run** for the most recent missed slot, not one run per slot, and the schedule
//! then continues from now (`next_run_at = next_after(now)`). The run happens first and
//! `next_run_at` is advanced after it with a conditional write, so a crash between the two
//! repeats the same run on restart (deduplicated into the job already made, even after the
//! idempotency key expired: no double run), and a crash before the run leaves `next_run_at`
//! in the past (the run still happens: no skip). A run whose request no longer validates (a scan in scope was deleted, say)
//! records `last_error` on the schedule and the schedule moves on; a transient failure (a
//! store or queue outage) leaves `next_run_at` alone and is retried on the next tick.

use std::collections::HashSet;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;

use ec_domain::ports::PortResult;
use ec_domain::schedule::{CronSpec, Schedule, new_schedule_id};
use ec_domain::{ApiError, ErrorCode, Job, JobError, PortError};

use crate::request::{Caller, Origin};
use crate::{Pipeline, StageError};

/// The time zone of a schedule that names none.
pub const DEFAULT_TIMEZONE: &str = "UTC";

/// The fields of a schedule body.
const SCHEDULE_FIELDS: &[&str] = &["cron", "timezone", "request"];

/// Schedules the loop reads per query.
const DUE_BATCH: usize = 100;

/// Conditional writes retried before giving up on a schedule that keeps changing.
const MAX_RACES: usize = 5;

/// A schedule body, checked for shape (not yet for meaning).
struct ScheduleBody {
    cron: String,
    timezone: String,
    request: Value,
}

fn parse_body(body: &Value) -> Result<ScheduleBody, ApiError> {
    let Value::Object(obj) = body else {
        return Err(ApiError::validation("body", "must be a JSON object"));
    };
    let mut errors = ApiError::new(ErrorCode::ExportValidation, "the schedule is invalid");
    for key in obj.keys() {
        if !SCHEDULE_FIELDS.contains(&key.as_str()) {
            errors = errors.with_detail(
                key.as_str(),
                format!(
                    "unknown field; expected one of {}",
                    SCHEDULE_FIELDS.join(", ")
                ),
            );
        }
    }
    let cron = match obj.get("cron") {
        Some(Value::String(s)) => Some(s.split_whitespace().collect::<Vec<_>>().join(" ")),
        None | Some(Value::Null) => {
            errors = errors.with_detail("cron", "is required");
            None
        }
        Some(_) => {
            errors = errors.with_detail("cron", "must be a string");
            None
        }
    };
    let timezone = match obj.get("timezone") {
        None | Some(Value::Null) => Some(DEFAULT_TIMEZONE.to_string()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            errors = errors.with_detail("timezone", "must be a string");
            None
        }
    };
    let request = match obj.get("request") {
        Some(r @ Value::Object(_)) => Some(r.clone()),
        None | Some(Value::Null) => {
            errors = errors.with_detail("request", "is required");
            None
        }
        Some(_) => {
            errors = errors.with_detail("request", "must be an object (an export request)");
            None
        }
    };
    match (cron, timezone, request) {
        (Some(cron), Some(timezone), Some(request)) if errors.details.is_empty() => {
            Ok(ScheduleBody {
                cron,
                timezone,
                request,
            })
        }
        _ => Err(errors),
    }
}

/// An export request's error, with its fields named inside the schedule body
/// (`scope.scan_ids` → `request.scope.scan_ids`).
fn in_request(mut e: ApiError) -> ApiError {
    for d in &mut e.details {
        d.field = format!("request.{}", d.field);
    }
    e
}

/// Whether a failed run may succeed if tried again (an outage), as opposed to a request
/// that no longer validates.
fn transient(e: &ApiError) -> bool {
    e.status() >= 500 || e.code == ErrorCode::Quota
}

/// The most recent run time in `[due_at, now]`: `due_at` itself, or the latest cron slot
/// after it that is not after `now`. This is how missed slots coalesce into one run.
pub fn latest_slot(spec: &CronSpec, due_at: OffsetDateTime, now: OffsetDateTime) -> OffsetDateTime {
    // Widen a window ending at `now` until it holds a slot (or reaches `due_at`), then walk
    // forward through the few slots of that window: no walk over every missed slot.
    let mut width = time::Duration::minutes(1);
    let mut t = loop {
        let from = now - width;
        if from <= due_at {
            break due_at;
        }
        match spec.next_after(from) {
            Some(slot) if slot <= now => break slot,
            _ => width *= 2,
        }
    };
    while let Some(n) = spec.next_after(t) {
        if n > now {
            break;
        }
        t = n;
    }
    t
}

/// When a schedule fires next once the run for `scheduled_at` is done: unchanged if it is
/// already past that run, else the first slot after both `now` and `scheduled_at` (missed
/// slots are skipped). `None` stops a schedule whose expression no longer parses.
fn next_run(
    current: &Schedule,
    scheduled_at: OffsetDateTime,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    match current.next_run_at {
        Some(t) if t > scheduled_at => Some(t),
        _ => match CronSpec::parse(&current.cron, &current.timezone) {
            Ok(spec) => spec.next_after(now.max(scheduled_at)),
            Err(e) => {
                tracing::error!(schedule_id = %current.schedule_id, tenant = %current.tenant_id, error = %e, "stored schedule has a bad expression; it will not fire again");
                None
            }
        },
    }
}

impl Pipeline {
    /// `POST /api/v1/schedules`: `{ "cron", "timezone" (default UTC), "request" }`. The
    /// request is validated exactly as `POST /api/v1/exports` validates it. Stored, then
    /// registered with the trigger; if registering fails the schedule is removed again
    /// (503), so nothing is left half-made.
    pub async fn create_schedule(
        &self,
        caller: &Caller,
        body: &Value,
    ) -> Result<Schedule, ApiError> {
        let body = parse_body(body)?;
        let spec = CronSpec::parse(&body.cron, &body.timezone)?;
        self.validate_export(&caller.tenant, &body.request)
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
        self.ports.schedules.create(&schedule).await?;
        if let Err(e) = self
            .ports
            .trigger
            .register(&schedule, &expression, spec.timezone())
            .await
        {
            tracing::error!(schedule_id = %schedule.schedule_id, error = %e, "registering the schedule failed; removing it");
            if let Err(e) = self
                .ports
                .schedules
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
    pub async fn list_schedules(&self, caller: &Caller) -> Result<Vec<Schedule>, ApiError> {
        Ok(self.ports.schedules.list(&caller.tenant).await?)
    }

    /// `GET /api/v1/schedules/{id}` (404 for unknown ids and other tenants' ids).
    pub async fn get_schedule(
        &self,
        caller: &Caller,
        schedule_id: &str,
    ) -> Result<Schedule, ApiError> {
        if !ec_domain::ids::is_safe_id(schedule_id) {
            return Err(ApiError::not_found("schedule"));
        }
        self.ports
            .schedules
            .get(&caller.tenant, schedule_id)
            .await?
            .ok_or_else(|| ApiError::not_found("schedule"))
    }

    /// `DELETE /api/v1/schedules/{id}`: unregisters the trigger, then removes the schedule.
    /// Exports it already started are left alone.
    pub async fn delete_schedule(
        &self,
        caller: &Caller,
        schedule_id: &str,
    ) -> Result<(), ApiError> {
        let schedule = self.get_schedule(caller, schedule_id).await?;
        match self.ports.trigger.unregister(&schedule).await {
            Ok(()) | Err(PortError::NotFound(_)) => {}
            Err(e) => {
                tracing::error!(schedule_id, error = %e, "unregistering the schedule failed");
                return Err(ApiError::new(
                    ErrorCode::Unavailable,
                    "the scheduler is unavailable; retry later",
                ));
            }
        }
        self.ports
            .schedules
            .delete(&caller.tenant, schedule_id)
            .await?;
        tracing::info!(schedule_id, tenant = %caller.tenant, "schedule deleted");
        Ok(())
    }

    /// One run of a schedule for the slot `scheduled_at`: the export job, created exactly
    /// as `POST /api/v1/exports` would (same validation, same idempotency path) with
    /// `schedule_id` set, the idempotency key [`run_key`](ec_domain::schedule::run_key) and
    /// the export id [`run_export_id`](ec_domain::schedule::run_export_id), then recorded on
    /// the schedule (`last_run_at` = `scheduled_at`, `last_export_id`, and `next_run_at`
    /// moved past it).
    ///
    /// - `Ok(Some(job))`: the run's job, new or (for a duplicate trigger) the one made before.
    /// - `Ok(None)`: nothing ran: the schedule is gone, a later slot already ran, or the
    ///   request no longer validates (recorded as `last_error`; retrying cannot help).
    /// - `Err` (retryable): an outage; trying the same slot again is safe.
    pub async fn run_schedule(
        &self,
        tenant: &str,
        schedule_id: &str,
        scheduled_at: OffsetDateTime,
    ) -> Result<Option<Job>, StageError> {
        let Some(schedule) = self.ports.schedules.get(tenant, schedule_id).await? else {
            tracing::info!(schedule_id, tenant, "schedule is gone; nothing to run");
            return Ok(None);
        };
        match schedule.last_run_at {
            Some(last) if last > scheduled_at => {
                tracing::info!(schedule_id, tenant, scheduled_at = %ec_domain::time::rfc3339(scheduled_at), "a later run already happened; skipping a stale trigger");
                return Ok(None);
            }
            Some(last) if last == scheduled_at => {
                // This slot already ran (a duplicate trigger): answer what it made.
                return match &schedule.last_export_id {
                    Some(id) => Ok(self.ports.jobs.get(tenant, id).await?),
                    None => Ok(None),
                };
            }
            _ => {}
        }
        let caller = Caller {
            tenant: tenant.to_string(),
            subject: schedule.created_by.clone(),
        };
        let origin = Origin::Schedule {
            schedule_id,
            scheduled_at,
        };
        match self.submit_export(&caller, &schedule.request, origin).await {
            Ok(job) => {
                tracing::info!(schedule_id, tenant, export_id = %job.export_id, scheduled_at = %ec_domain::time::rfc3339(scheduled_at), "scheduled export started");
                self.record_run(&schedule, scheduled_at, Ok(&job)).await?;
                Ok(Some(job))
            }
            Err(e) if transient(&e) => Err(StageError::retryable(e.code.as_str(), e.message)),
            Err(e) => {
                tracing::warn!(schedule_id, tenant, code = e.code.as_str(), message = %e.message, scheduled_at = %ec_domain::time::rfc3339(scheduled_at), "scheduled export refused: its request no longer validates");
                let error = JobError::from_code(e.code, e.message);
                self.record_run(&schedule, scheduled_at, Err(error)).await?;
                Ok(None)
            }
        }
    }

    /// Writes the outcome of the run for `scheduled_at` onto the schedule, conditional on
    /// its version; a lost race re-reads, and stops if someone already recorded this or a
    /// later run or deleted the schedule.
    async fn record_run(
        &self,
        schedule: &Schedule,
        scheduled_at: OffsetDateTime,
        outcome: Result<&Job, JobError>,
    ) -> PortResult<()> {
        let mut current = schedule.clone();
        for _ in 0..MAX_RACES {
            if current.last_run_at.is_some_and(|t| t >= scheduled_at) {
                return Ok(());
            }
            let mut next = current.clone();
            next.last_run_at = Some(scheduled_at);
            match &outcome {
                Ok(job) => {
                    next.last_export_id = Some(job.export_id.clone());
                    next.last_error = None;
                }
                Err(e) => {
                    next.last_export_id = None;
                    next.last_error = Some(e.clone());
                }
            }
            next.next_run_at = next_run(&current, scheduled_at, ec_domain::time::now());
            next.version = current.version + 1;
            match self.ports.schedules.update(&next, current.version).await {
                Ok(()) => return Ok(()),
                Err(PortError::ConditionFailed(_)) => {
                    match self
                        .ports
                        .schedules
                        .get(&current.tenant_id, &current.schedule_id)
                        .await?
                    {
                        Some(s) => current = s,
                        None => return Ok(()),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        tracing::warn!(schedule_id = %schedule.schedule_id, "the schedule kept changing; its last run is not recorded");
        Ok(())
    }

    /// Moves `next_run_at` past `scheduled_at` (to the first slot after `now`) unless
    /// someone already did; conditional on the version, like every schedule write.
    async fn advance_schedule(
        &self,
        tenant: &str,
        schedule_id: &str,
        scheduled_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> PortResult<()> {
        for _ in 0..MAX_RACES {
            let Some(current) = self.ports.schedules.get(tenant, schedule_id).await? else {
                return Ok(());
            };
            if current.next_run_at.is_none_or(|t| t > scheduled_at) {
                return Ok(());
            }
            let mut next = current.clone();
            next.next_run_at = next_run(&current, scheduled_at, now);
            next.version = current.version + 1;
            match self.ports.schedules.update(&next, current.version).await {
                Ok(()) => return Ok(()),
                Err(PortError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::ConditionFailed(format!(
            "schedule {tenant}/{schedule_id} kept changing"
        )))
    }

    /// One pass of the embedded scheduler at `now`: runs every due schedule once (see the
    /// module documentation for missed runs). Returns the number of exports it started or
    /// found already started.
    pub async fn run_due_schedules(&self, now: OffsetDateTime) -> usize {
        let mut seen = HashSet::new();
        let mut runs = 0;
        loop {
            let batch = match self.ports.schedules.due(now, DUE_BATCH).await {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "reading due schedules failed");
                    break;
                }
            };
            let full = batch.len() >= DUE_BATCH;
            // A schedule whose run failed transiently stays due: once per pass is enough.
            let fresh: Vec<Schedule> = batch
                .into_iter()
                .filter(|s| seen.insert((s.tenant_id.clone(), s.schedule_id.clone())))
                .collect();
            if fresh.is_empty() {
                break;
            }
            for s in &fresh {
                if self.fire(s, now).await {
                    runs += 1;
                }
            }
            if !full {
                break;
            }
        }
        runs
    }

    /// Runs one due schedule for its most recent missed slot, then advances it.
    async fn fire(&self, s: &Schedule, now: OffsetDateTime) -> bool {
        let Some(due_at) = s.next_run_at else {
            return false;
        };
        let scheduled_at = match CronSpec::parse(&s.cron, &s.timezone) {
            Ok(spec) => latest_slot(&spec, due_at, now),
            Err(_) => due_at, // next_run() stops it and logs why.
        };
        if scheduled_at > due_at {
            tracing::info!(schedule_id = %s.schedule_id, tenant = %s.tenant_id, missed_since = %ec_domain::time::rfc3339(due_at), running_for = %ec_domain::time::rfc3339(scheduled_at), "coalescing missed runs into one catch-up run");
        }
        let ran = match self
            .run_schedule(&s.tenant_id, &s.schedule_id, scheduled_at)
            .await
        {
            Ok(job) => job.is_some(),
            Err(e) => {
                tracing::warn!(schedule_id = %s.schedule_id, tenant = %s.tenant_id, error = %e, "scheduled run failed; retrying on the next tick");
                return false;
            }
        };
        if let Err(e) = self
            .advance_schedule(&s.tenant_id, &s.schedule_id, scheduled_at, now)
            .await
        {
            tracing::warn!(schedule_id = %s.schedule_id, error = %e, "advancing the schedule failed; the next tick retries (the run is deduplicated)");
        }
        ran
    }
}

/// The embedded stack's scheduler: a pass over the due schedules at start-up (the catch-up
/// of whatever was missed while stopped) and then every `tick`. On AWS, EventBridge
/// Scheduler calls [`Pipeline::run_schedule`] instead.
pub async fn run_scheduler(pipeline: Pipeline, tick: Duration) {
    loop {
        let runs = pipeline.run_due_schedules(ec_domain::time::now()).await;
        if runs > 0 {
            tracing::debug!(runs, "scheduler pass");
        }
        tokio::time::sleep(tick).await;
    }
}
