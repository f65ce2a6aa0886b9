//! The gather stage: collects the scans in scope with their verdicts, VEX statements and
//! SBOMs, and writes them as one input snapshot object for the render stage.

use std::sync::Arc;

use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::ports::{ObjectStore, SbomSource, ScanSource, VerdictSource, VexSource};
use ec_domain::request::MAX_SCAN_IDS;
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::{
    BuiltinTemplate, ErrorCode, ExportType, Job, JobStatus, Scope, Stage, StageCode, StageError,
    TemplateName, keys,
};

use ec_domain::audit::{AuditChain, AuditEntry, AuditQuery};

use crate::Outcome;
use crate::app::Audit;
use crate::custom_templates::CustomTemplates;
use crate::jobs::JobSteps;

/// The gather stage and the ports it reads and writes.
#[derive(Clone)]
pub struct Gather {
    pub steps: JobSteps,
    pub scans: Arc<dyn ScanSource>,
    pub verdicts: Arc<dyn VerdictSource>,
    pub vex: Arc<dyn VexSource>,
    pub sboms: Arc<dyn SbomSource>,
    pub templates: CustomTemplates,
    /// The audit-evidence template's trail.
    pub audit: Audit,
    /// Where the snapshot goes.
    pub objects: Arc<dyn ObjectStore>,
}

impl Gather {
    pub async fn handle(&self, msg: &JobMessage) -> Result<Outcome, StageError> {
        let Some(job) = self.steps.load(&msg.tenant_id, &msg.export_id).await? else {
            return Ok(Outcome::Skipped("job not found".into()));
        };
        let job = match (job.status, job.stage) {
            (JobStatus::Queued, _) => self.steps.enter_stage(&job, Stage::Gathering).await?,
            // Redelivered after a crash mid-gather: gathering again gives the same snapshot.
            (JobStatus::Running, Some(Stage::Gathering)) => job,
            // Gathered, but the render message may have been lost with the worker: resend it
            // (a duplicate render delivery is harmless).
            (JobStatus::Running, Some(Stage::Rendering)) => {
                self.steps.send(QueueName::Render, msg).await?;
                return Ok(Outcome::Skipped(
                    "already gathered; render message re-sent".into(),
                ));
            }
            _ => return Ok(Outcome::Skipped(format!("job is {}", job.state_label()))),
        };
        let snapshot = self.collect(&job).await?;
        let body = serde_json::to_vec(&snapshot)
            .map_err(|e| StageError::permanent(StageCode::Encode, e.to_string()))?;
        self.objects
            .put(
                &keys::snapshot(&job.tenant_id, &job.export_id),
                body.into(),
                "application/json",
            )
            .await?;
        self.steps.enter_stage(&job, Stage::Rendering).await?;
        self.steps.send(QueueName::Render, msg).await?;
        Ok(Outcome::Done)
    }

    /// Queries the four data sources for every scan in scope.
    async fn collect(&self, job: &Job) -> Result<Snapshot, StageError> {
        let req = &job.request;
        let tenant = &job.tenant_id;
        let scan_ids = match &req.scope {
            Scope::ScanIds(ids) => ids.clone(),
            Scope::DateRange(r) => {
                self.scans
                    .scans_between(tenant, r.from, r.to, MAX_SCAN_IDS)
                    .await?
            }
        };
        if scan_ids.is_empty() {
            return Err(StageError::permanent(
                ErrorCode::DataSource,
                "no scans in scope",
            ));
        }
        let want_sbom = req.options.include_sbom || req.export_type == ExportType::Sbom;
        let mut scans = Vec::with_capacity(scan_ids.len());
        for id in &scan_ids {
            let Some(scan) = self.scans.scan(tenant, id).await? else {
                return Err(StageError::permanent(
                    ErrorCode::DataSource,
                    format!("scan {id} no longer exists"),
                ));
            };
            let vex = self.vex.applied(tenant, &scan).await?;
            let verdicts = self.verdicts.verdicts(tenant, &scan, &vex).await?;
            let sbom = if want_sbom {
                self.sboms.sbom(tenant, &scan).await?
            } else {
                None
            };
            scans.push(ScanInputs {
                scan,
                verdicts,
                vex,
                sbom,
            });
        }
        let mut snapshot = Snapshot::new(
            job.export_id.clone(),
            job.tenant_id.clone(),
            job.request.clone(),
            job.requested_by.clone(),
            job.created_at,
            scans,
        );
        if req.template == TemplateName::Builtin(BuiltinTemplate::AuditEvidence) {
            snapshot = snapshot.with_audit_trail(self.audit_trail(job).await?);
        }
        if !matches!(req.template, TemplateName::Custom { .. }) {
            return Ok(snapshot);
        }
        // The template as it is now is part of the inputs: later uploads do not change
        // what this export renders.
        match self.templates.get(tenant).await? {
            Some(t) => Ok(snapshot.with_custom_template(t)),
            None => Err(StageError::permanent(
                StageCode::Template,
                format!("template {} no longer exists", req.template),
            )),
        }
    }
}

/// Entries of the audit-evidence trail.
pub const AUDIT_TRAIL_ENTRIES: usize = 200;

impl Gather {
    /// The tenant's last [`AUDIT_TRAIL_ENTRIES`] audit entries up to the job's creation (the
    /// whole second it names: `created_at` has whole seconds, entries milliseconds), oldest
    /// first.
    async fn audit_trail(&self, job: &Job) -> Result<Vec<AuditEntry>, StageError> {
        let query = AuditQuery {
            to: Some(job.created_at + time::Duration::milliseconds(999)),
            newest_first: true,
            limit: AUDIT_TRAIL_ENTRIES,
            ..AuditQuery::default()
        };
        let chain = AuditChain::Tenant(job.tenant_id.clone());
        let mut entries = self.audit.log.list(&chain, &query).await?.items;
        entries.reverse();
        Ok(entries)
    }
}
