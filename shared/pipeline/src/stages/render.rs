//! The render stage: reads the input snapshot, renders the requested format, and stores
//! the report. The stored object's created notification is what starts the seal stage.

use std::sync::Arc;

use ec_domain::messages::JobMessage;
use ec_domain::ports::{ObjectStore, ReportRenderer};
use ec_domain::{ErrorCode, Job, JobStatus, Stage, StageError, keys};

use crate::Outcome;
use crate::jobs::JobSteps;
use crate::stages::read_snapshot;

/// The render stage and the ports it uses.
#[derive(Clone)]
pub struct Render {
    pub steps: JobSteps,
    /// Where the snapshot is read and the report written.
    pub objects: Arc<dyn ObjectStore>,
    pub renderer: Arc<dyn ReportRenderer>,
}

impl Render {
    pub async fn handle(&self, msg: &JobMessage) -> Result<Outcome, StageError> {
        let Some(job) = self.steps.load(&msg.tenant_id, &msg.export_id).await? else {
            return Ok(Outcome::Skipped("job not found".into()));
        };
        // In `storing` the previous attempt died before its object landed: render again.
        if !(job.status == JobStatus::Running
            && matches!(job.stage, Some(Stage::Rendering | Stage::Storing)))
        {
            return Ok(Outcome::Skipped(format!("job is {}", job.state_label())));
        }
        let snapshot = read_snapshot(self.objects.as_ref(), &job.tenant_id, &job.export_id).await?;
        let renderer = self.renderer.clone();
        let bytes = tokio::task::spawn_blocking(move || renderer.render(snapshot))
            .await
            .map_err(|e| {
                StageError::retryable(ErrorCode::Render, format!("render task ended: {e}"))
            })??;
        self.store(&job, bytes).await
    }

    /// The store step: writes the report to object storage.
    async fn store(&self, job: &Job, report: Vec<u8>) -> Result<Outcome, StageError> {
        let job = match job.stage {
            Some(Stage::Storing) => job.clone(),
            _ => self.steps.enter_stage(job, Stage::Storing).await?,
        };
        let key = keys::report(&job.tenant_id, &job.export_id, job.format);
        self.objects
            .put(&key, report.into(), job.format.media_type())
            .await?;
        Ok(Outcome::Done)
    }
}
