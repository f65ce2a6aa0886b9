//! Active expiry: the retention sweeper deletes the artifacts of exports whose retention
//! ended and marks them `expired`. The embedded stack runs it in a loop
//! ([`run_sweeper`], every `EXPORTCENTER_SWEEP_INTERVAL_SECS`); on AWS the scheduled
//! `export-sweep` function calls [`Sweeper::sweep`] (S3 lifecycle rules could delete
//! objects, but not tell the job, and the emulator never runs them).
//!
//! Order of writes, so that a sweep that dies halfway is finished by the next one and
//! never deletes what a legal hold protects: first the job becomes `expired` (a conditional
//! write: a hold placed meanwhile wins, and an expired job can no longer be held), then
//! every version of its objects is deleted, then the job records that its artifacts are
//! gone (`Transition::Swept`, audited as `export.expired`). An expired job that still lists
//! artifacts stays [`JobTable::sweepable`] until that last write lands.

use std::sync::Arc;
use std::time::Duration;

use ec_domain::audit::{AuditAction, AuditChain, AuditDraft, Outcome as AuditOutcome};
use ec_domain::ports::{JobTable, ObjectStore};
use ec_domain::{Job, JobStatus, PortError, Transition};
use time::OffsetDateTime;

use crate::app::Audit;
use crate::app::holds::delete_artifacts;

/// The subject of the sweeper's audit entries.
pub const SWEEP_SUBJECT: &str = "exportcenter:retention";

/// Jobs read per query.
pub const SWEEP_BATCH: usize = 100;

/// The retention sweeper and the ports it uses.
#[derive(Clone)]
pub struct Sweeper {
    pub jobs: Arc<dyn JobTable>,
    pub objects: Arc<dyn ObjectStore>,
    pub audit: Audit,
    /// The retention of jobs made before jobs recorded their own (unused by `Expire`, but
    /// every transition takes one).
    pub retention: time::Duration,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Exports whose artifacts were deleted and that are now `expired`.
    pub expired: usize,
    /// Exports skipped because they changed meanwhile (held, purged, swept by another).
    pub skipped: usize,
    /// Exports that could not be swept now (logged; the next sweep tries again).
    pub failed: usize,
}

impl Sweeper {
    /// Sweeps every export whose retention ended by `now`, in batches, until none is
    /// left or a batch made no progress (only failures: the next sweep tries again).
    pub async fn sweep(&self, now: OffsetDateTime) -> Result<SweepReport, PortError> {
        let mut report = SweepReport::default();
        loop {
            let due = self.jobs.sweepable(now, SWEEP_BATCH).await?;
            let before = report;
            for job in &due {
                match self.sweep_one(job, now).await {
                    Ok(true) => report.expired += 1,
                    Ok(false) => report.skipped += 1,
                    Err(e) => {
                        report.failed += 1;
                        tracing::error!(export_id = %job.export_id, tenant = %job.tenant_id, error = %e, "retention sweep of an export failed");
                    }
                }
            }
            if due.len() < SWEEP_BATCH || report.expired == before.expired {
                break;
            }
        }
        if report != SweepReport::default() {
            tracing::info!(
                expired = report.expired,
                skipped = report.skipped,
                failed = report.failed,
                "retention sweep"
            );
        }
        Ok(report)
    }

    /// `Ok(false)` when the job changed under the sweep (the change wins).
    async fn sweep_one(&self, job: &Job, now: OffsetDateTime) -> Result<bool, PortError> {
        let expired = match job.status {
            JobStatus::Ready => {
                let Ok(next) = job.apply(Transition::Expire, now, self.retention) else {
                    return Ok(false);
                };
                match self.jobs.update(&next, job.version).await {
                    Ok(()) => next,
                    Err(PortError::ConditionFailed(_)) => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            JobStatus::Expired => job.clone(),
            _ => return Ok(false),
        };
        delete_artifacts(self.objects.as_ref(), &expired).await?;
        let Ok(swept) = expired.apply(Transition::Swept, now, self.retention) else {
            return Ok(false);
        };
        match self.jobs.update(&swept, expired.version).await {
            Ok(()) => {}
            Err(PortError::ConditionFailed(_)) => return Ok(false),
            Err(e) => return Err(e),
        }
        tracing::info!(export_id = %swept.export_id, tenant = %swept.tenant_id, "export expired by retention; artifacts deleted");
        self.audit
            .record(AuditDraft {
                chain: AuditChain::Tenant(swept.tenant_id.clone()),
                at: ec_domain::time::now(),
                subject: SWEEP_SUBJECT.into(),
                action: AuditAction::ExportExpired,
                resource: format!("/api/v1/exports/{}", swept.export_id),
                outcome: AuditOutcome::Success,
                status: 200,
                trace_id: swept.export_id.to_string(),
                source_ip: None,
                user_agent: None,
            })
            .await;
        Ok(true)
    }
}

/// The embedded stack's sweeper: a sweep now (whatever expired while the stack was
/// stopped), then one every `every`.
pub async fn run_sweeper(sweeper: Sweeper, every: Duration) {
    loop {
        if let Err(e) = sweeper.sweep(ec_domain::time::now()).await {
            tracing::error!(error = %e, "retention sweep failed; trying again later");
        }
        tokio::time::sleep(every).await;
    }
}
