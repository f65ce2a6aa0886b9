//! The worker stages, one module each, in the order of the flow: [`Gather`] → [`Render`]
//! (which stores the report) → [`Seal`] → [`Deliver`] (one message per delivery). Each holds only the ports it uses; [`Stages`]
//! routes a queue message to the stage that owns its queue, the same way on Lambda and in
//! the embedded worker loop.

mod deliver;
mod gather;
mod render;
mod seal;

pub use deliver::{Deliver, RetryPolicy};
pub use gather::Gather;
pub use render::Render;
pub use seal::{Seal, bundle_files};

use ec_domain::delivery::DeliveryMessage;
use ec_domain::messages::{JobMessage, ObjectCreated, QueueName};
use ec_domain::ports::ObjectStore;
use ec_domain::snapshot::Snapshot;
use ec_domain::{ExportId, JobError, PortError, StageCode, StageError, TenantId, keys};

use crate::Outcome;
use crate::jobs::JobSteps;

/// The worker stages.
#[derive(Clone)]
pub struct Stages {
    pub gather: Gather,
    pub render: Render,
    pub seal: Seal,
    pub deliver: Deliver,
    /// The job steps every stage shares (failing a job that ran out of attempts).
    pub steps: JobSteps,
    /// Receives after which a retryable failure becomes final (SQS maxReceiveCount).
    pub max_attempts: u32,
}

impl Stages {
    /// Runs the stage that owns `queue` on one message body.
    pub async fn handle(&self, queue: QueueName, body: &str) -> Result<Outcome, StageError> {
        let bad = |e: serde_json::Error| {
            StageError::permanent(
                StageCode::BadMessage,
                format!("{} message: {e}", queue.as_str()),
            )
        };
        match queue {
            QueueName::Gather => {
                let msg = serde_json::from_str::<JobMessage>(body).map_err(bad)?;
                self.gather.handle(&msg).await
            }
            QueueName::Render => {
                let msg = serde_json::from_str::<JobMessage>(body).map_err(bad)?;
                self.render.handle(&msg).await
            }
            QueueName::Seal => {
                let event = serde_json::from_str::<ObjectCreated>(body).map_err(bad)?;
                self.seal.handle(&event).await
            }
            QueueName::Deliver => {
                let msg = serde_json::from_str::<DeliveryMessage>(body).map_err(bad)?;
                self.deliver.handle(&msg).await
            }
        }
    }

    /// A message failed for good (or ran out of attempts): fail the job it was about.
    pub async fn give_up(&self, queue: QueueName, body: &str, error: &StageError) {
        if queue == QueueName::Deliver {
            // A delivery that cannot go on fails alone; its export stays as it is.
            match serde_json::from_str::<DeliveryMessage>(body) {
                Ok(msg) => self.deliver.give_up(&msg, &error.to_string()).await,
                Err(_) => {
                    tracing::error!(error = %error, "dropping a delivery message that names no delivery")
                }
            }
            return;
        }
        let ids = match queue {
            QueueName::Deliver => None,
            QueueName::Gather | QueueName::Render => serde_json::from_str::<JobMessage>(body)
                .ok()
                .map(|m| (m.tenant_id, m.export_id)),
            QueueName::Seal => serde_json::from_str::<ObjectCreated>(body)
                .ok()
                .and_then(|e| keys::parse_report(&e.key)),
        };
        let Some((tenant, export_id)) = ids else {
            tracing::error!(queue = queue.as_str(), error = %error, "dropping a message that names no job");
            return;
        };
        if let Err(e) = self
            .steps
            .fail(&tenant, &export_id, JobError::from(error))
            .await
        {
            tracing::error!(export_id = %export_id, error = %e, "could not record the failure");
        }
    }
}

/// Reads back the input snapshot the gather stage wrote.
pub(crate) async fn read_snapshot(
    objects: &dyn ObjectStore,
    tenant: &TenantId,
    export_id: &ExportId,
) -> Result<Snapshot, StageError> {
    let bytes = match objects.get(&keys::snapshot(tenant, export_id)).await {
        Err(PortError::NotFound(_)) => objects.get(&keys::snapshot_json(tenant, export_id)).await?,
        other => other?,
    };
    ec_domain::snapshot_codec::decode(&bytes).map_err(|e| {
        StageError::permanent(
            StageCode::Snapshot,
            format!("input snapshot unreadable: {e}"),
        )
    })
}
