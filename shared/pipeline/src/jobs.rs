//! Job state changes as the stages see them ([`JobSteps`]): conditional on the version read,
//! announced to the tenant, and (in recovery tests) the place a worker can be made to die.
//! The transition that ends a job frees its quota slot, once: only the winner of the
//! conditional write releases it.

use std::sync::Arc;

use ec_domain::destination::DeliveryEvent;
use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::ports::{DestinationStore, JobTable, Quotas, WorkQueue};
use ec_domain::{ExportId, TenantId};
use ec_domain::{Job, JobError, JobStatus, PortError, Stage, StageCode, StageError, Transition};

use crate::app::quota::release_slot;
use crate::notify::{EventKind, Notifier};

/// How many ready jobs [`JobSteps::previous_run`] looks through.
pub const PREVIOUS_RUN_SEARCH: usize = 2000;

/// What every stage does to its job: read it, move it on, tell the tenant, hand it on.
#[derive(Clone)]
pub struct JobSteps {
    pub jobs: Arc<dyn JobTable>,
    pub queue: Arc<dyn WorkQueue>,
    pub notifier: Notifier,
    /// Concurrent slots, freed when a job ends.
    pub quotas: Arc<dyn Quotas>,
    /// The destinations a job names, for its deliveries when it ends.
    pub destinations: Arc<dyn DestinationStore>,
    /// How long a ready export's artifacts stay downloadable.
    pub retention: time::Duration,
    /// Fault injection for recovery tests (`EXPORTCENTER_CRASH_AT`): the process aborts
    /// right after a job enters this stage.
    pub crash_at: Option<Stage>,
}

impl JobSteps {
    pub async fn load(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
    ) -> Result<Option<Job>, StageError> {
        Ok(self.jobs.get(tenant, export_id).await?)
    }

    /// The latest run of `job`'s schedule before it that became ready (`None` for a job
    /// no schedule made, or a first run). Reads the tenant's ready jobs newest first, at
    /// most [`PREVIOUS_RUN_SEARCH`] of them.
    pub async fn previous_run(&self, job: &Job) -> Result<Option<Job>, StageError> {
        let Some(schedule) = &job.schedule_id else {
            return Ok(None);
        };
        let mut cursor: Option<String> = None;
        let mut read = 0;
        while read < PREVIOUS_RUN_SEARCH {
            let page = self
                .jobs
                .list(
                    &job.tenant_id,
                    Some(JobStatus::Ready),
                    200,
                    cursor.as_deref(),
                )
                .await?;
            read += page.items.len();
            if let Some(found) = page.items.into_iter().find(|j| {
                j.schedule_id.as_ref() == Some(schedule)
                    && j.export_id != job.export_id
                    && j.created_at < job.created_at
            }) {
                return Ok(Some(found));
            }
            match page.next_cursor {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        Ok(None)
    }

    /// Applies `t` to `job` and writes it only if nobody changed the job since it was read.
    /// Losing that race is retryable: the redelivered message re-reads the job. Winning a
    /// transition into `ready` or `failed` frees the job's quota slot.
    pub async fn transition(&self, job: &Job, t: Transition) -> Result<Job, StageError> {
        let next = job
            .apply(t, ec_domain::time::now(), self.retention)
            .map_err(|e| StageError::permanent(StageCode::Transition, e.to_string()))?;
        match self.jobs.update(&next, job.version).await {
            Ok(()) => {
                if next.status.is_terminal() && !job.status.is_terminal() {
                    release_slot(self.quotas.as_ref(), &next).await;
                }
                Ok(next)
            }
            Err(PortError::ConditionFailed(m)) => {
                Err(StageError::retryable(StageCode::ConcurrentUpdate, m))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the job into `stage` and tells the tenant.
    pub async fn enter_stage(&self, job: &Job, stage: Stage) -> Result<Job, StageError> {
        let job = self.transition(job, Transition::Enter(stage)).await?;
        tracing::info!(export_id = %job.export_id, tenant = %job.tenant_id, stage = stage.as_str(), "stage entered");
        self.notifier.publish(&job, EventKind::Progress).await;
        if self.crash_at == Some(stage) {
            tracing::error!(
                stage = stage.as_str(),
                "EXPORTCENTER_CRASH_AT reached: aborting the process"
            );
            std::process::abort();
        }
        Ok(job)
    }

    /// Hands the job to the next stage's queue.
    pub async fn send(&self, queue: QueueName, msg: &JobMessage) -> Result<(), StageError> {
        let body = serde_json::to_string(msg)
            .map_err(|e| StageError::permanent(StageCode::Encode, e.to_string()))?;
        Ok(self.queue.send(queue, body).await?)
    }

    /// Marks the job ready with its artifacts, tells the tenant, and starts its deliveries.
    pub async fn finish(&self, job: &Job, t: Transition) -> Result<Job, StageError> {
        let ready = self.transition(job, t).await?;
        tracing::info!(export_id = %ready.export_id, tenant = %ready.tenant_id, "export ready");
        self.notifier.publish(&ready, EventKind::Ready).await;
        self.start_deliveries(&ready, DeliveryEvent::ExportReady)
            .await?;
        Ok(ready)
    }

    /// Marks the job failed (unless it already ended) and tells the tenant. Used when a
    /// stage fails for good or runs out of attempts.
    pub async fn fail(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        error: JobError,
    ) -> Result<(), StageError> {
        for _ in 0..5 {
            let Some(job) = self.load(tenant, export_id).await? else {
                return Ok(());
            };
            if job.status.is_terminal() {
                return Ok(());
            }
            match self.transition(&job, Transition::Fail(error.clone())).await {
                Ok(failed) => {
                    tracing::warn!(export_id = %export_id, tenant = %tenant, code = %error.code, message = %error.message, "export failed");
                    self.notifier.publish(&failed, EventKind::Failed).await;
                    return self
                        .start_deliveries(&failed, DeliveryEvent::ExportFailed)
                        .await;
                }
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StageError::retryable(
            StageCode::ConcurrentUpdate,
            format!("could not mark {export_id} failed"),
        ))
    }
}
