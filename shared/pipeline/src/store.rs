//! The store stage: writes the rendered report to object storage. Its object-created
//! notification is what starts the seal stage.

use ec_domain::{Job, Stage, keys};

use crate::{Outcome, Pipeline, StageError};

impl Pipeline {
    pub(crate) async fn store_report(
        &self,
        job: &Job,
        report: Vec<u8>,
    ) -> Result<Outcome, StageError> {
        let job = match job.stage {
            Some(Stage::Storing) => job.clone(),
            _ => self.enter_stage(job, Stage::Storing).await?,
        };
        let key = keys::report(&job.tenant_id, &job.export_id, job.format);
        self.ports
            .objects
            .put(&key, report.into(), job.format.media_type())
            .await?;
        Ok(Outcome::Done)
    }
}
