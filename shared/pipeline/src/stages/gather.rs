//! The gather stage: collects the scans in scope with their verdicts, VEX statements and
//! SBOMs, and writes them as one input snapshot object for the render stage.

use std::sync::Arc;

use ec_domain::filters::{Baseline, BaselineKeyword};
use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::ports::{ObjectStore, SbomSource, ScanSource, VerdictSource, VexSource};
use ec_domain::request::MAX_SCAN_IDS;
use ec_domain::scan::Scan;
use ec_domain::snapshot::{BaselineInputs, ScanInputs, Snapshot};
use ec_domain::{
    BuiltinTemplate, ErrorCode, ExportType, Job, JobStatus, PortError, ScanId, Scope, Stage,
    StageCode, StageError, TemplateName, TenantId, keys,
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
        let in_scope = self.scope_ids(&job).await?;
        let job = self.record_scope(job, &in_scope).await?;
        let snapshot = self.collect(&job, in_scope).await?;
        let body = ec_domain::snapshot_codec::encode(&snapshot)
            .map_err(|e| StageError::permanent(StageCode::Encode, e))?;
        drop(snapshot);
        self.objects
            .put(
                &keys::snapshot(&job.tenant_id, &job.export_id),
                body.into(),
                ec_domain::snapshot_codec::MEDIA_TYPE,
            )
            .await?;
        self.steps.enter_stage(&job, Stage::Rendering).await?;
        self.steps.send(QueueName::Render, msg).await?;
        Ok(Outcome::Done)
    }

    /// Queries the four data sources for every scan in scope, and the VEX documents named
    /// in scope or applied to the scans.
    async fn collect(&self, job: &Job, in_scope: Vec<ScanId>) -> Result<Snapshot, StageError> {
        let req = &job.request;
        let tenant = &job.tenant_id;
        // A stored VEX document's id (`vex-…`) in scope names the document itself.
        let (vex_ids, scan_ids): (Vec<ScanId>, Vec<ScanId>) =
            in_scope.into_iter().partition(ScanId::is_vex_document);
        if scan_ids.is_empty() && (vex_ids.is_empty() || req.export_type != ExportType::Vex) {
            let what = if vex_ids.is_empty() {
                "no scans in scope"
            } else {
                "no scans in scope: only a VEX export can be made of VEX documents alone"
            };
            return Err(StageError::permanent(ErrorCode::DataSource, what));
        }
        let want_sbom = req.options.include_sbom || req.export_type == ExportType::Sbom;
        // The tenant's VEX documents, read once: listed in the report and applied to every
        // scan. A source that lists none (an HTTP VexLens) applies its statements itself.
        let tenant_documents = match scan_ids.is_empty() {
            true => Vec::new(),
            false => self.vex.documents(tenant, None).await?,
        };
        let mut scans = Vec::with_capacity(scan_ids.len());
        for id in &scan_ids {
            let scan = self.scan(tenant, id).await?;
            let vex = match tenant_documents.is_empty() {
                true => self.vex.applied(tenant, &scan).await?,
                false => ec_domain::vex::applied_from(&tenant_documents, &scan),
            };
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
        // Documents named in scope and not read with the tenant's (all of them, without scans).
        let unread: Vec<ScanId> = vex_ids
            .into_iter()
            .filter(|id| !tenant_documents.iter().any(|d| d.id == id.as_str()))
            .collect();
        let mut documents = match self.vex.documents(tenant, Some(&unread)).await {
            Ok(d) => d,
            Err(PortError::NotFound(what)) => {
                return Err(StageError::permanent(
                    ErrorCode::DataSource,
                    format!("{what} no longer exists"),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        documents.extend(tenant_documents);
        let baseline = self.baseline(job).await?;
        let mut snapshot = Snapshot::new(
            job.export_id.clone(),
            job.tenant_id.clone(),
            job.request.clone(),
            job.requested_by.clone(),
            job.created_at,
            scans,
        )
        .with_vex_documents(documents);
        if let Some(b) = baseline {
            snapshot = snapshot.with_baseline(b);
        }
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

impl Gather {
    async fn scan(&self, tenant: &TenantId, id: &ScanId) -> Result<Scan, StageError> {
        self.scans.scan(tenant, id).await?.ok_or_else(|| {
            StageError::permanent(ErrorCode::DataSource, format!("scan {id} no longer exists"))
        })
    }

    /// The findings of `options.baseline`'s scans. `previous_run` is the latest earlier
    /// run of the same schedule that became ready (none on a first run: then every finding
    /// is new).
    async fn baseline(&self, job: &Job) -> Result<Option<BaselineInputs>, StageError> {
        let (label, ids) = match &job.request.options.baseline {
            None => return Ok(None),
            Some(Baseline::Scans { scan_ids }) => (
                scan_ids
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                scan_ids.clone(),
            ),
            Some(Baseline::Keyword(BaselineKeyword::PreviousRun)) => {
                match self.steps.previous_run(job).await? {
                    Some(prev) => (
                        format!("previous run {}", prev.export_id),
                        self.scope_ids(&prev).await?,
                    ),
                    None => ("previous run (none: first run)".to_string(), Vec::new()),
                }
            }
        };
        let mut scans = Vec::with_capacity(ids.len());
        for id in ids.iter().filter(|i| !i.is_vex_document()) {
            scans.push(self.scan(&job.tenant_id, id).await?);
        }
        Ok(Some(BaselineInputs::of_scans(label, &scans)))
    }

    /// The scans a date range or window selected, on the job (once; a redelivered gather
    /// finds them there and gathers those again).
    async fn record_scope(&self, job: Job, in_scope: &[ScanId]) -> Result<Job, StageError> {
        if job.request.scope.range().is_none() || job.scope_scan_ids == in_scope {
            return Ok(job);
        }
        Ok(self
            .steps
            .update_job(&job.tenant_id, &job.export_id, |j| {
                j.scope_scan_ids = in_scope.to_vec();
                true
            })
            .await?
            .unwrap_or(job))
    }

    /// The scan ids a job's scope names: its ids; the scans its date range or resolved
    /// window selected when it was gathered; for a job gathered before they were recorded,
    /// those of its range read again now.
    async fn scope_ids(&self, job: &Job) -> Result<Vec<ScanId>, StageError> {
        if let Scope::ScanIds(ids) = &job.request.scope {
            return Ok(ids.clone());
        }
        if !job.scope_scan_ids.is_empty() {
            return Ok(job.scope_scan_ids.clone());
        }
        let r = job.request.scope.range().ok_or_else(|| {
            StageError::permanent(
                ErrorCode::ExportValidation,
                "the scope's relative window was never resolved",
            )
        })?;
        Ok(self
            .scans
            .scans_between(&job.tenant_id, r.from, r.to, MAX_SCAN_IDS)
            .await?)
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
