//! The render stage: reads the input snapshot, renders the requested format, and stores
//! the report. The stored object's created notification is what starts the seal stage.

use std::sync::Arc;

use ec_domain::job::ExportSummary;
use ec_domain::messages::JobMessage;
use ec_domain::ports::{ObjectStore, ReportRenderer};
use ec_domain::{ErrorCode, Job, JobStatus, Stage, StageError, keys};
use ec_render::view::ReportView;

use crate::Outcome;
use crate::jobs::JobSteps;
use crate::stages::read_snapshot;

/// The report in brief, as the view counts it.
fn summary_of(view: &ReportView<'_>) -> ExportSummary {
    let by_severity = view.severity_counts();
    ExportSummary {
        findings: by_severity.values().sum(),
        by_severity,
        suppressed: view.suppressed_count(),
        decision: view.decision(),
        compared: view.delta_counts(),
    }
}

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
        // Deliveries tell the report's counts: taken from the view every format reads, only
        // for exports that name destinations.
        let summarise = !job.request.options.destinations.is_empty();
        let (bytes, summary) = tokio::task::spawn_blocking(move || {
            let summary = summarise.then(|| summary_of(&ReportView::new(&snapshot)));
            renderer.render(snapshot).map(|b| (b, summary))
        })
        .await
        .map_err(|e| {
            StageError::retryable(ErrorCode::Render, format!("render task ended: {e}"))
        })??;
        let job = match summary {
            Some(summary) => self.steps.set_summary(&job, summary).await?,
            None => job,
        };
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
