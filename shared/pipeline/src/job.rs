//! Job state changes as the stages see them: conditional on the version read, announced
//! to the tenant, and (in recovery tests) the place a worker can be made to die.

use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::{Job, JobError, PortError, Stage, Transition};

use crate::notify::EventKind;
use crate::{Pipeline, StageError};

impl Pipeline {
    pub(crate) async fn load_job(
        &self,
        tenant: &str,
        export_id: &str,
    ) -> Result<Option<Job>, StageError> {
        Ok(self.ports.jobs.get(tenant, export_id).await?)
    }

    /// Applies `t` to `job` and writes it only if nobody changed the job since it was read.
    /// Losing that race is retryable: the redelivered message re-reads the job.
    pub(crate) async fn transition(&self, job: &Job, t: Transition) -> Result<Job, StageError> {
        let next = job
            .apply(t, ec_domain::time::now(), self.settings.retention)
            .map_err(|e| StageError::permanent("ERR_TRANSITION", e.to_string()))?;
        match self.ports.jobs.update(&next, job.version).await {
            Ok(()) => Ok(next),
            Err(PortError::ConditionFailed(m)) => {
                Err(StageError::retryable("ERR_CONCURRENT_UPDATE", m))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Moves the job into `stage` and tells the tenant.
    pub(crate) async fn enter_stage(&self, job: &Job, stage: Stage) -> Result<Job, StageError> {
        let job = self.transition(job, Transition::Enter(stage)).await?;
        tracing::info!(export_id = %job.export_id, tenant = %job.tenant_id, stage = stage.as_str(), "stage entered");
        self.publish(&job, EventKind::Progress).await;
        if self.settings.crash_at == Some(stage) {
            tracing::error!(
                stage = stage.as_str(),
                "EXPORTCENTER_CRASH_AT reached: aborting the process"
            );
            std::process::abort();
        }
        Ok(job)
    }

    pub(crate) async fn send(&self, queue: QueueName, msg: &JobMessage) -> Result<(), StageError> {
        let body = serde_json::to_string(msg)
            .map_err(|e| StageError::permanent("ERR_ENCODE", e.to_string()))?;
        Ok(self.ports.queue.send(queue, body).await?)
    }

    /// Marks the job failed (unless it already ended) and tells the tenant. Used when a
    /// stage fails for good or runs out of attempts.
    pub async fn fail_job(
        &self,
        tenant: &str,
        export_id: &str,
        error: JobError,
    ) -> Result<(), StageError> {
        for _ in 0..5 {
            let Some(job) = self.load_job(tenant, export_id).await? else {
                return Ok(());
            };
            if job.status.is_terminal() {
                return Ok(());
            }
            match self.transition(&job, Transition::Fail(error.clone())).await {
                Ok(failed) => {
                    tracing::warn!(export_id, tenant, code = %error.code, message = %error.message, "export failed");
                    self.publish(&failed, EventKind::Failed).await;
                    return Ok(());
                }
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StageError::retryable(
            "ERR_CONCURRENT_UPDATE",
            format!("could not mark {export_id} failed"),
        ))
    }
}
