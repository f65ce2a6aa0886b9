//! Running schedules: one run of a schedule (what the AWS `export-schedule` function does
//! per EventBridge Scheduler delivery), and the embedded stack's scheduler loop.
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
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use ec_domain::ports::{PortResult, ScheduleStore};
use ec_domain::schedule::{CronSpec, Schedule};
use ec_domain::{ApiError, ErrorCode, ExportRequest, Job, JobError, PortError, StageError};
use ec_domain::{ScheduleId, TenantId};

use crate::app::Caller;
use crate::app::exports::{Exports, Origin};

/// Schedules the loop reads per query.
const DUE_BATCH: usize = 100;

/// Conditional writes retried before giving up on a schedule that keeps changing.
const MAX_RACES: usize = 5;

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
    if current.paused {
        return None;
    }
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

/// Runs schedules: the store it reads and advances, and the export service each run
/// submits through.
#[derive(Clone)]
pub struct Scheduler {
    pub store: Arc<dyn ScheduleStore>,
    pub exports: Exports,
}

impl Scheduler {
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
    pub async fn run(
        &self,
        tenant: &TenantId,
        schedule_id: &ScheduleId,
        scheduled_at: OffsetDateTime,
    ) -> Result<Option<Job>, StageError> {
        self.run_slot(tenant, schedule_id, scheduled_at, false)
            .await
    }

    /// A run requested now (`POST /api/v1/schedules/{id}/run`), paused or not: [`Scheduler::run`]
    /// for the current second.
    pub async fn run_now(
        &self,
        tenant: &TenantId,
        schedule_id: &ScheduleId,
    ) -> Result<Option<Job>, StageError> {
        let now = ec_domain::time::now();
        let now = now.replace_nanosecond(0).unwrap_or(now);
        self.run_slot(tenant, schedule_id, now, true).await
    }

    async fn run_slot(
        &self,
        tenant: &TenantId,
        schedule_id: &ScheduleId,
        scheduled_at: OffsetDateTime,
        even_paused: bool,
    ) -> Result<Option<Job>, StageError> {
        let Some(schedule) = self.store.get(tenant, schedule_id).await? else {
            tracing::info!(schedule_id = %schedule_id, tenant = %tenant, "schedule is gone; nothing to run");
            return Ok(None);
        };
        if schedule.paused && !even_paused {
            tracing::info!(schedule_id = %schedule_id, tenant = %tenant, "schedule is paused; a trigger that was on its way is ignored");
            return Ok(None);
        }
        match schedule.last_run_at {
            Some(last) if last > scheduled_at => {
                tracing::info!(schedule_id = %schedule_id, tenant = %tenant, scheduled_at = %ec_domain::time::rfc3339(scheduled_at), "a later run already happened; skipping a stale trigger");
                return Ok(None);
            }
            Some(last) if last == scheduled_at => {
                // This slot already ran (a duplicate trigger): answer what it made.
                return match &schedule.last_export_id {
                    Some(id) => Ok(self.exports.jobs.get(tenant, id).await?),
                    None => Ok(None),
                };
            }
            _ => {}
        }
        let caller = Caller {
            tenant: tenant.clone(),
            subject: schedule.created_by.clone(),
        };
        let origin = Origin::Schedule {
            schedule_id,
            scheduled_at,
        };
        let submitted = match ExportRequest::from_schedule_json(&schedule.request, tenant) {
            Ok(request) => self.exports.submit(&caller, request, origin).await,
            Err(e) => Err(e),
        };
        match submitted {
            Ok(job) => {
                tracing::info!(schedule_id = %schedule_id, tenant = %tenant, export_id = %job.export_id, scheduled_at = %ec_domain::time::rfc3339(scheduled_at), "scheduled export started");
                self.record_run(&schedule, scheduled_at, Ok(&job)).await?;
                Ok(Some(job))
            }
            Err(e) if transient(&e) => Err(StageError::retryable(e.code, e.message)),
            Err(e) => {
                tracing::warn!(schedule_id = %schedule_id, tenant = %tenant, code = e.code.as_str(), message = %e.message, scheduled_at = %ec_domain::time::rfc3339(scheduled_at), "scheduled export refused: its request no longer validates");
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
            match self.store.update(&next, current.version).await {
                Ok(()) => return Ok(()),
                Err(PortError::ConditionFailed(_)) => {
                    match self
                        .store
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
        tenant: &TenantId,
        schedule_id: &ScheduleId,
        scheduled_at: OffsetDateTime,
        now: OffsetDateTime,
    ) -> PortResult<()> {
        for _ in 0..MAX_RACES {
            let Some(current) = self.store.get(tenant, schedule_id).await? else {
                return Ok(());
            };
            if current.next_run_at.is_none_or(|t| t > scheduled_at) {
                return Ok(());
            }
            let mut next = current.clone();
            next.next_run_at = next_run(&current, scheduled_at, now);
            next.version = current.version + 1;
            match self.store.update(&next, current.version).await {
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
    pub async fn run_due(&self, now: OffsetDateTime) -> usize {
        let mut seen = HashSet::new();
        let mut runs = 0;
        loop {
            let batch = match self.store.due(now, DUE_BATCH).await {
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
        let ran = match self.run(&s.tenant_id, &s.schedule_id, scheduled_at).await {
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
/// Scheduler calls [`Scheduler::run`] instead.
pub async fn run_scheduler(scheduler: Scheduler, tick: Duration) {
    loop {
        let runs = scheduler.run_due(ec_domain::time::now()).await;
        if runs > 0 {
            tracing::debug!(runs, "scheduler pass");
        }
        tokio::time::sleep(tick).await;
    }
}
