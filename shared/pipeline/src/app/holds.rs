//! Evidence kept or removed on an auditor's word: `PUT /api/v1/exports/{id}/legal-hold`
//! puts a ready export under legal hold (it never expires, cannot be purged; its report and
//! bundle are held in the store, an S3 Object Lock legal hold on AWS) or releases it, and
//! `DELETE /api/v1/exports/{id}?purge=true` removes a finished export's artifacts now,
//! every version, and marks it `purged`. Both need scope `export:admin`; both are in the
//! audit trail (`export.hold`, `export.purge`, by the API's audit layer).
//!
//! Order of writes, so that a failure halfway never leaves an export unprotected: a hold
//! holds the objects first and then records it on the job; a release records it first and
//! then releases the objects; a purge refuses a held job, deletes, then records `purged`.

use ec_domain::job::{Job, JobStatus, LegalHoldRecord, Transition};
use ec_domain::{ApiError, ErrorCode, ExportId, PortError, keys};

use crate::app::Caller;
use crate::app::exports::Exports;

/// Longest hold reason kept.
pub const MAX_REASON: usize = 1000;

fn conflict(message: String) -> ApiError {
    ApiError::new(ErrorCode::Conflict, message)
}

impl Exports {
    /// Holds (`hold`) or releases a ready export, with `reason` (required to hold).
    pub async fn set_legal_hold(
        &self,
        caller: &Caller,
        export_id: &ExportId,
        hold: bool,
        reason: &str,
    ) -> Result<Job, ApiError> {
        let reason = reason.trim();
        if hold && reason.is_empty() {
            return Err(ApiError::validation(
                "reason",
                "is required to hold an export",
            ));
        }
        if reason.chars().count() > MAX_REASON {
            return Err(ApiError::validation(
                "reason",
                format!("at most {MAX_REASON} characters"),
            ));
        }
        for _ in 0..5 {
            let job = self.get(caller, export_id).await?;
            if job.legal_hold == hold {
                return Ok(job);
            }
            if hold && job.status != JobStatus::Ready {
                return Err(conflict(format!(
                    "export {export_id} is {}: only a ready export can be held",
                    job.state_label()
                )));
            }
            let now = ec_domain::time::now();
            let mut next = job.clone();
            next.legal_hold = hold;
            next.legal_hold_record = Some(LegalHoldRecord {
                reason: reason.to_string(),
                by: caller.subject.clone(),
                at: now,
                expires_at_before: if hold { job.expires_at } else { None },
            });
            next.expires_at = if hold {
                None
            } else {
                job.legal_hold_record
                    .as_ref()
                    .and_then(|r| r.expires_at_before)
            };
            next.updated_at = now;
            next.version = job.version + 1;
            if hold {
                self.hold_objects(&job, true).await?;
            }
            match self.jobs.update(&next, job.version).await {
                Ok(()) => {
                    if !hold {
                        self.hold_objects(&job, false).await?;
                    }
                    tracing::info!(export_id = %export_id, tenant = %caller.tenant, hold, "legal hold changed");
                    return Ok(next);
                }
                Err(PortError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(conflict("the export kept changing; retry".into()))
    }

    /// `DELETE /api/v1/exports/{id}?purge=true`.
    pub async fn purge(&self, caller: &Caller, export_id: &ExportId) -> Result<Job, ApiError> {
        for _ in 0..5 {
            let job = self.get(caller, export_id).await?;
            if job.status == JobStatus::Purged {
                return Ok(job);
            }
            if job.legal_hold {
                return Err(conflict(format!(
                    "export {export_id} is under legal hold: release it first"
                )));
            }
            if !job.status.is_terminal() {
                return Err(conflict(format!(
                    "export {export_id} is {}: cancel it first",
                    job.state_label()
                )));
            }
            delete_artifacts(self.objects.as_ref(), &job)
                .await
                .map_err(|e| match e {
                    PortError::Invalid(m) => conflict(m),
                    other => other.into(),
                })?;
            let next = job
                .apply(Transition::Purge, ec_domain::time::now(), self.retention)
                .map_err(|e| conflict(e.to_string()))?;
            match self.jobs.update(&next, job.version).await {
                Ok(()) => {
                    tracing::info!(export_id = %export_id, tenant = %caller.tenant, "export purged");
                    return Ok(next);
                }
                Err(PortError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(conflict("the export kept changing; retry".into()))
    }

    async fn hold_objects(&self, job: &Job, on: bool) -> Result<(), ApiError> {
        for a in &job.artifacts {
            match self.objects.set_legal_hold(&a.key, on).await {
                Ok(()) | Err(PortError::NotFound(_)) => {}
                Err(PortError::Invalid(m)) => {
                    return Err(ApiError::new(ErrorCode::Unavailable, m));
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// Deletes every version of every object `job` made (a purge, or the retention sweeper).
/// `Invalid` when one is under legal hold.
pub(crate) async fn delete_artifacts(
    objects: &dyn ec_domain::ports::ObjectStore,
    job: &Job,
) -> Result<(), PortError> {
    for key in artifact_keys(job) {
        objects.delete(&key).await?;
    }
    Ok(())
}

/// Every object an export made: its artifacts, and the snapshot its report was made from.
fn artifact_keys(job: &Job) -> Vec<String> {
    let mut out: Vec<String> = job.artifacts.iter().map(|a| a.key.clone()).collect();
    out.push(keys::snapshot(&job.tenant_id, &job.export_id));
    out.push(keys::snapshot_json(&job.tenant_id, &job.export_id));
    if job.artifacts.is_empty() {
        // A failed or cancelled export may have left a report.
        out.push(keys::report(&job.tenant_id, &job.export_id, job.format));
        out.push(keys::sealed(&job.tenant_id, &job.export_id));
    }
    out
}
