//! The deliveries on a job, as [`JobSteps`] keeps them: started when the export becomes
//! ready or fails (one pending record per named destination whose events include it, and a
//! first message each on the deliver queue), and changed only by conditional writes of the
//! job, re-read on a lost race. Starting is idempotent: records already there are kept, and
//! every pending delivery not yet attempted gets its message (again): the deliver stage drops
//! duplicates, so a crash between the write and the sends is repaired by the next start
//! (the seal stage's redelivered message calls it again).

use ec_domain::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use ec_domain::destination::DeliveryEvent;
use ec_domain::messages::QueueName;
use ec_domain::{DestinationId, ExportId, Job, PortError, StageCode, StageError, TenantId};

use crate::jobs::JobSteps;

/// How often a lost race on the job is re-read before giving up (retryably).
const RACES: usize = 8;

impl JobSteps {
    /// Records and sends the deliveries of `event` for `job` (already ready or failed).
    pub async fn start_deliveries(
        &self,
        job: &Job,
        event: DeliveryEvent,
    ) -> Result<(), StageError> {
        if job.request.options.destinations.is_empty() {
            return Ok(());
        }
        let mut wanted = Vec::new();
        for id in &job.request.options.destinations {
            match self.destinations.get(&job.tenant_id, id).await? {
                Some(d) if d.wants(event) => wanted.push((id.clone(), d.config.kind())),
                Some(_) => {}
                None => {
                    tracing::warn!(export_id = %job.export_id, destination_id = %id, "a destination the export names is gone; nothing is delivered to it");
                }
            }
        }
        if wanted.is_empty() {
            return Ok(());
        }
        let now = ec_domain::time::now();
        let job = self
            .update_job(&job.tenant_id, &job.export_id, |j| {
                let mut changed = false;
                for (id, kind) in &wanted {
                    if !j.deliveries.iter().any(|r| r.is(id, event)) {
                        j.deliveries
                            .push(DeliveryRecord::pending(id.clone(), *kind, event, now));
                        changed = true;
                    }
                }
                changed
            })
            .await?;
        let Some(job) = job else { return Ok(()) };
        for r in job
            .deliveries
            .iter()
            .filter(|r| r.event == event && r.status == DeliveryStatus::Pending && r.attempts == 0)
        {
            let msg = DeliveryMessage {
                tenant_id: job.tenant_id.clone(),
                export_id: job.export_id.clone(),
                destination_id: r.destination_id.clone(),
                event,
                attempt: 1,
                not_before: None,
            };
            self.send_delivery(&msg, std::time::Duration::ZERO).await?;
        }
        Ok(())
    }

    /// Records the report's summary on the job (the job as written).
    pub async fn set_summary(
        &self,
        job: &Job,
        summary: ec_domain::job::ExportSummary,
    ) -> Result<Job, StageError> {
        let written = self
            .update_job(&job.tenant_id, &job.export_id, |j| {
                let changed = j.summary.as_ref() != Some(&summary);
                j.summary = Some(summary.clone());
                changed
            })
            .await?;
        Ok(written.unwrap_or_else(|| job.clone()))
    }

    /// Queues `msg`, visible after `delay` (cut to the queue's maximum).
    pub async fn send_delivery(
        &self,
        msg: &DeliveryMessage,
        delay: std::time::Duration,
    ) -> Result<(), StageError> {
        let body = serde_json::to_string(msg)
            .map_err(|e| StageError::permanent(StageCode::Encode, e.to_string()))?;
        Ok(self
            .queue
            .send_delayed(QueueName::Deliver, body, delay)
            .await?)
    }

    /// Applies `change` to the delivery of `event` to `destination` on the job and writes
    /// it (conditionally; re-read and re-applied on a lost race). `change` answers whether
    /// it changed anything; `Ok(None)` when the job or the record is gone.
    pub async fn update_delivery(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        destination: &DestinationId,
        event: DeliveryEvent,
        mut change: impl FnMut(&mut DeliveryRecord) -> bool,
    ) -> Result<Option<DeliveryRecord>, StageError> {
        let job = self
            .update_job(tenant, export_id, |j| {
                j.deliveries
                    .iter_mut()
                    .find(|r| r.is(destination, event))
                    .is_some_and(&mut change)
            })
            .await?;
        Ok(job.and_then(|j| j.deliveries.into_iter().find(|r| r.is(destination, event))))
    }

    /// Reads the job, applies `change`, and writes it if `change` changed it (the job as
    /// written, or as read when nothing changed; `None` when the job is gone).
    pub(crate) async fn update_job(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        mut change: impl FnMut(&mut Job) -> bool,
    ) -> Result<Option<Job>, StageError> {
        for _ in 0..RACES {
            let Some(job) = self.load(tenant, export_id).await? else {
                return Ok(None);
            };
            let mut next = job.clone();
            if !change(&mut next) {
                return Ok(Some(job));
            }
            next.version = job.version + 1;
            match self.jobs.update(&next, job.version).await {
                Ok(()) => return Ok(Some(next)),
                Err(PortError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StageError::retryable(
            StageCode::ConcurrentUpdate,
            format!("the deliveries of {export_id} kept changing"),
        ))
    }
}
