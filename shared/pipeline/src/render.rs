//! The render stage: reads the input snapshot and renders the requested format.

use ec_domain::messages::JobMessage;
use ec_domain::snapshot::Snapshot;
use ec_domain::{JobStatus, Stage, keys};

use crate::{Outcome, Pipeline, StageError};

impl Pipeline {
    pub async fn render(&self, msg: &JobMessage) -> Result<Outcome, StageError> {
        let Some(job) = self.load_job(&msg.tenant_id, &msg.export_id).await? else {
            return Ok(Outcome::Skipped("job not found".into()));
        };
        // In `storing` the previous attempt died before its object landed: render again.
        if !(job.status == JobStatus::Running
            && matches!(job.stage, Some(Stage::Rendering | Stage::Storing)))
        {
            return Ok(Outcome::Skipped(format!("job is {}", job.state_label())));
        }
        let snapshot = self.read_snapshot(&job.tenant_id, &job.export_id).await?;
        let limits = self.settings.template_limits.clone();
        let bytes = tokio::task::spawn_blocking(move || {
            if snapshot.custom_template.is_some() {
                crate::sandbox::render_isolated(&snapshot, &limits)
            } else {
                ec_render::render(&snapshot)
                    .map_err(|e| StageError::permanent(e.code(), e.to_string()))
            }
        })
        .await
        .map_err(|e| StageError::retryable("ERR_RENDER", format!("render task ended: {e}")))??;
        self.store_report(&job, bytes).await
    }

    pub(crate) async fn read_snapshot(
        &self,
        tenant: &str,
        export_id: &str,
    ) -> Result<Snapshot, StageError> {
        let bytes = self
            .ports
            .objects
            .get(&keys::snapshot(tenant, export_id))
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            StageError::permanent("ERR_SNAPSHOT", format!("input snapshot unreadable: {e}"))
        })
    }
}
