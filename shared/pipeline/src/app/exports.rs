//! The export service behind `POST/GET/DELETE /api/v1/exports` and the download route:
//! validates, writes the job row, enqueues the gather work, and answers reads, cancels and
//! downloads. Scheduled runs submit through the same path ([`Exports::submit`]). Every new
//! job first reserves the tenant's quota (`app::quota`); replays consume nothing.

use std::sync::Arc;
use std::time::Duration;

use ec_domain::error::ErrorDetail;
use ec_domain::filters::Baseline;
use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::ports::{
    Claim, DestinationStore, IdempotencyStore, JobTable, ObjectStore, Page, Quotas, ScanSource,
    WorkQueue,
};
use ec_domain::schedule;
use ec_domain::tenant_settings::TenantSettingsBook;
use ec_domain::{
    ApiError, ArtifactKind, ErrorCode, ExportRequest, Job, JobStatus, PortError, Scope,
    TemplateName, Transition,
};
use ec_domain::{ExportId, ExportType, ScanId, ScheduleId, TenantId};

use crate::app::Caller;
use crate::app::inputs::{IdempotencyKey, ListExports};
use crate::app::quota::{Accepted, Refused, release_slot};
use crate::custom_templates::CustomTemplates;
use crate::notify::{EventKind, Notifier};

/// Table reads one filtered listing may make before answering a short page.
pub const LIST_FILTER_READS: usize = 20;

/// What starts an export.
#[derive(Debug, Clone)]
pub enum Origin<'a> {
    /// `POST /api/v1/exports`, with the client's `Idempotency-Key` if any.
    Client {
        idempotency_key: Option<&'a IdempotencyKey>,
    },
    /// One run of a schedule: the job records `schedule_id`, the idempotency key is
    /// [`schedule::run_key`] and the export id [`schedule::run_export_id`], so a slot
    /// triggered again finds the job it made.
    Schedule {
        schedule_id: &'a ScheduleId,
        scheduled_at: time::OffsetDateTime,
    },
}

/// The export service and the ports it uses.
#[derive(Clone)]
pub struct Exports {
    pub jobs: Arc<dyn JobTable>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub queue: Arc<dyn WorkQueue>,
    /// Whether the scans in scope exist.
    pub scans: Arc<dyn ScanSource>,
    /// Presigned download links.
    pub objects: Arc<dyn ObjectStore>,
    pub templates: CustomTemplates,
    /// Concurrent slots and requests per minute, per tenant.
    pub quotas: Arc<dyn Quotas>,
    /// Whether the destinations an export names exist.
    pub destinations: Arc<dyn DestinationStore>,
    /// Announces a cancellation on the tenant's WebSocket connections.
    pub notifier: Notifier,
    /// Each tenant's limits.
    pub tenants: TenantSettingsBook,
    pub retention: time::Duration,
    pub download_ttl: Duration,
    pub idempotency_ttl: Duration,
    pub resend_queued_after: Duration,
}

impl Exports {
    /// `POST /api/v1/exports`: the job and the tenant's quota, or the refusal (with the
    /// quota when the refusal is the quota's).
    pub async fn create(
        &self,
        caller: &Caller,
        request: ExportRequest,
        idempotency_key: Option<&IdempotencyKey>,
    ) -> Result<Accepted, Refused> {
        self.submit_counted(caller, request, Origin::Client { idempotency_key })
            .await
    }

    /// Everything a parsed export request must pass before a job exists: its template
    /// renders in its format, every scan in scope exists for the tenant, and the retention
    /// it asks is within the tenant's maximum. API requests
    /// and schedules (at creation and again at every run) all go through here.
    pub async fn validate(
        &self,
        tenant: &TenantId,
        request: ExportRequest,
    ) -> Result<ExportRequest, ApiError> {
        let supported = match &request.template {
            TemplateName::Builtin(_) => {
                ec_render::supports(request.export_type, request.format, &request.template)
            }
            TemplateName::Custom { .. } => match self.templates.get(tenant).await? {
                Some(t) => ec_render::supports_custom(request.export_type, request.format, &t),
                None => {
                    return Err(ApiError::validation(
                        "options.template",
                        format!("template {} has not been uploaded", request.template),
                    ));
                }
            },
        };
        if !supported {
            return Err(ApiError::validation(
                "options.template",
                format!(
                    "template {} cannot be rendered as {} for a {} export",
                    request.template, request.format, request.export_type
                ),
            ));
        }
        self.check_scope(tenant, &request.scope).await?;
        for (i, id) in request.options.destinations.iter().enumerate() {
            if self.destinations.get(tenant, id).await?.is_none() {
                return Err(ApiError::validation(
                    format!("options.destinations[{i}]"),
                    format!("destination {id} does not exist for this tenant"),
                ));
            }
        }
        if let Scope::ScanIds(ids) = &request.scope
            && request.export_type != ExportType::Vex
            && ids.iter().all(ScanId::is_vex_document)
        {
            return Err(ApiError::validation(
                "scope.scan_ids",
                "only VEX documents in scope: a VEX document alone makes a vex export; add a scan for any other type",
            ));
        }
        let retention = self.tenants.for_tenant(tenant).retention;
        if let Some(days) = request.options.retention_days
            && days > retention.max_days
        {
            return Err(ApiError::validation(
                "options.retention_days",
                format!(
                    "{days} days is more than this tenant may keep an export ({} days)",
                    retention.max_days
                ),
            ));
        }
        if let Some(Baseline::Scans { scan_ids }) = &request.options.baseline {
            self.check_ids(tenant, scan_ids, "options.baseline.scan_ids")
                .await?;
        }
        Ok(request)
    }

    /// Whether `id` exists: a scan, or (`vex-…`) a stored VEX document.
    async fn exists(&self, tenant: &TenantId, id: &ScanId) -> Result<bool, ApiError> {
        if id.is_vex_document() {
            let key = ec_domain::keys::vex(tenant, id);
            return Ok(self.objects.head(&key).await?.is_some());
        }
        Ok(self.scans.exists(tenant, id).await?)
    }

    /// [`Exports::create`] for any origin, without the quota status (scheduled runs).
    pub async fn submit(
        &self,
        caller: &Caller,
        request: ExportRequest,
        origin: Origin<'_>,
    ) -> Result<Job, ApiError> {
        match self.submit_counted(caller, request, origin).await {
            Ok(accepted) => Ok(accepted.job),
            Err(refused) => Err(refused.error),
        }
    }

    /// Validates `request`, reserves the tenant's quota, then writes and enqueues its job,
    /// or, when its idempotency key was used before with the same request, answers the
    /// job it made (consuming no quota). The one path of `POST /api/v1/exports` and of
    /// scheduled runs; scheduled runs take a concurrent slot but are not counted per
    /// minute.
    async fn submit_counted(
        &self,
        caller: &Caller,
        request: ExportRequest,
        origin: Origin<'_>,
    ) -> Result<Accepted, Refused> {
        // A relative window covers the scans before the run's slot (a one-off export: now).
        let asked = request.scope.as_requested();
        let anchor = match origin {
            Origin::Schedule { scheduled_at, .. } => scheduled_at,
            Origin::Client { .. } => ec_domain::time::now(),
        };
        let request = ExportRequest {
            scope: request.scope.resolved_at(anchor),
            ..request
        };
        let request = self.validate(&caller.tenant, request).await?;
        let count_rate = matches!(origin, Origin::Client { .. });
        let (idempotency_key, schedule_id, mut export_id) = match origin {
            Origin::Client { idempotency_key } => (
                idempotency_key.map(|k| k.as_str().to_string()),
                None,
                ExportId::generate(),
            ),
            Origin::Schedule {
                schedule_id,
                scheduled_at,
            } => (
                Some(schedule::run_key(schedule_id, scheduled_at)),
                Some(schedule_id),
                schedule::run_export_id(&caller.tenant, schedule_id, scheduled_at),
            ),
        };
        let idempotency_key = idempotency_key.as_deref();
        let mut claimed = false;
        if let Some(key) = idempotency_key {
            // Hash the validated request, not the raw bytes: a retry that orders scan ids or
            // keys differently is the same request.
            // The window as asked, not as resolved: a retry a minute later is the same.
            let as_asked = ExportRequest {
                scope: asked.clone(),
                ..request.clone()
            };
            let hash = ec_domain::ids::sha256_hex(&ec_domain::ids::canonical_json(&as_asked));
            let claim = self
                .idempotency
                .claim(&caller.tenant, key, &hash, &export_id, self.idempotency_ttl)
                .await?;
            claimed = claim == Claim::Claimed;
            if let Claim::Existing {
                request_hash,
                export_id: existing,
            } = claim
            {
                if request_hash != hash {
                    return Err(Refused::from(
                        ApiError::new(
                            ErrorCode::IdempotencyMismatch,
                            "this Idempotency-Key was used with a different request body",
                        )
                        .with_detail("Idempotency-Key", "reused with another body"),
                    ));
                }
                if let Some(job) = self.jobs.get(&caller.tenant, &existing).await? {
                    let waited = ec_domain::time::now() - job.created_at;
                    if job.status == JobStatus::Queued && waited >= self.resend_queued_after {
                        // The first attempt may have died between writing the job and
                        // sending its message; a second message is harmless.
                        self.send_gather(&job).await?;
                    }
                    return Ok(self.replayed(job).await);
                }
                // The first attempt died between claiming the key and writing the job:
                // finish it under the id the key already names.
                export_id = existing;
            }
        }
        if schedule_id.is_some()
            && let Some(job) = self.jobs.get(&caller.tenant, &export_id).await?
        {
            // The run's id is derived from the run: it was made before, under a key that
            // has since expired.
            return Ok(self.replayed(job).await);
        }

        // The slot is taken before the job exists, so a refusal leaves nothing behind.
        let now = ec_domain::time::now();
        let quota = match self
            .reserve(&caller.tenant, &export_id, count_rate, now)
            .await
        {
            Ok(q) => q,
            Err(refused) => {
                if claimed
                    && let Some(key) = idempotency_key
                    && let Err(e) = self.idempotency.release(&caller.tenant, key).await
                {
                    tracing::error!(error = %e, "releasing the idempotency key of a refused request failed");
                }
                return Err(refused);
            }
        };
        let retention_days = self
            .tenants
            .for_tenant(&caller.tenant)
            .retention
            .days_for(request.options.retention_days);
        let mut job = Job::new(
            export_id,
            caller.tenant.clone(),
            request,
            caller.subject.clone(),
            schedule_id.cloned(),
            ec_domain::time::now(),
        );
        job.retention_days = Some(retention_days);
        if let Err(e) = self.enqueue_new_job(&job, idempotency_key).await {
            self.give_back(&job.tenant_id, &job.export_id, count_rate, now)
                .await;
            return Err(e.into());
        }
        Ok(Accepted {
            job,
            quota: Some(quota),
        })
    }

    /// The answer to a replay: the job, and the quota as it stands (nothing consumed).
    async fn replayed(&self, job: Job) -> Accepted {
        let quota = self.quota_now(&job.tenant_id).await;
        Accepted { job, quota }
    }

    /// Writes a new job and sends its gather message. If the message cannot be sent, the
    /// job and key are removed again so nothing is left half-made.
    async fn enqueue_new_job(
        &self,
        job: &Job,
        idempotency_key: Option<&str>,
    ) -> Result<(), ApiError> {
        match self.jobs.create(job).await {
            Ok(()) => {}
            Err(PortError::ConditionFailed(_)) => {
                // A concurrent attempt under the same id wrote it first. If that job has
                // already ended, it released the slot this attempt has just taken again.
                if let Ok(Some(made)) = self.jobs.get(&job.tenant_id, &job.export_id).await
                    && made.status.is_terminal()
                {
                    release_slot(self.quotas.as_ref(), &made).await;
                }
            }
            Err(e) => return Err(e.into()),
        }
        if let Err(e) = self.send_gather(job).await {
            tracing::error!(export_id = %job.export_id, "rolling the job back");
            if let Err(e) = self.jobs.delete(&job.tenant_id, &job.export_id).await {
                tracing::error!(export_id = %job.export_id, error = %e, "rollback of job row failed");
            }
            if let Some(key) = idempotency_key
                && let Err(e) = self.idempotency.release(&job.tenant_id, key).await
            {
                tracing::error!(error = %e, "rollback of idempotency key failed");
            }
            return Err(e);
        }
        tracing::info!(export_id = %job.export_id, tenant = %job.tenant_id, format = %job.format, "export queued");
        Ok(())
    }

    /// Sends the job's gather message (again, for a job found still queued).
    pub async fn send_gather(&self, job: &Job) -> Result<(), ApiError> {
        let msg = JobMessage {
            tenant_id: job.tenant_id.clone(),
            export_id: job.export_id.clone(),
        };
        let body = serde_json::to_string(&msg).map_err(|e| ApiError::internal(e.to_string()))?;
        self.queue.send(QueueName::Gather, body).await.map_err(|e| {
            tracing::error!(export_id = %job.export_id, error = %e, "enqueue failed");
            ApiError::new(
                ErrorCode::Unavailable,
                "the work queue is unavailable; retry later",
            )
        })
    }

    /// Every scan in scope must exist for this tenant (another tenant's id is simply unknown).
    /// 404 naming every id of `ids` (scans or stored VEX documents) that does not exist.
    async fn check_ids(
        &self,
        tenant: &TenantId,
        ids: &[ScanId],
        field: &str,
    ) -> Result<(), ApiError> {
        let mut missing = Vec::new();
        for id in ids {
            if !self.exists(tenant, id).await? {
                missing.push(id.clone());
            }
        }
        if missing.is_empty() {
            return Ok(());
        }
        let mut err = ApiError::new(
            ErrorCode::NotFound,
            format!(
                "{} scan(s) in {field} not found: {}",
                missing.len(),
                missing.join(", ")
            ),
        );
        err.details = missing
            .into_iter()
            .map(|id| ErrorDetail::new(field, format!("scan {id} not found")))
            .collect();
        Err(err)
    }

    async fn check_scope(&self, tenant: &TenantId, scope: &Scope) -> Result<(), ApiError> {
        match scope {
            Scope::ScanIds(ids) => self.check_ids(tenant, ids, "scope.scan_ids").await,
            Scope::DateRange(r) => self.check_range(tenant, r, "scope.date_range").await,
            Scope::Relative(w) => match &w.resolved {
                Some(r) => self.check_range(tenant, r, "scope.relative").await,
                // A schedule's window: its scans are those of each run.
                None => Ok(()),
            },
        }
    }

    async fn check_range(
        &self,
        tenant: &TenantId,
        r: &ec_domain::scope::DateRange,
        field: &str,
    ) -> Result<(), ApiError> {
        let found = self.scans.scans_between(tenant, r.from, r.to, 1).await?;
        if found.is_empty() {
            Err(ApiError::validation(
                field,
                format!(
                    "no scans between {} and {}",
                    ec_domain::time::rfc3339(r.from),
                    ec_domain::time::rfc3339(r.to)
                ),
            ))
        } else {
            Ok(())
        }
    }

    /// `GET /api/v1/exports/{id}`.
    pub async fn get(&self, caller: &Caller, export_id: &ExportId) -> Result<Job, ApiError> {
        self.jobs
            .get(&caller.tenant, export_id)
            .await?
            .ok_or_else(|| ApiError::not_found("export"))
    }

    /// `GET /api/v1/exports`. The table filters by status; the format and type filters
    /// read on, page by page, until `limit` jobs pass or the table ends. Every page read is
    /// consumed whole (asking only for as many rows as are still missing), so the cursor
    /// answered is the table's own and no job is skipped or repeated. After
    /// [`LIST_FILTER_READS`] reads the page may be short (with a cursor to go on).
    pub async fn list(&self, caller: &Caller, q: &ListExports) -> Result<Page<Job>, ApiError> {
        let mut items = Vec::new();
        let mut cursor = q.cursor.clone();
        for read in 1.. {
            let missing = q.limit - items.len();
            let page = match self
                .jobs
                .list(&caller.tenant, q.status, missing, cursor.as_deref())
                .await
            {
                Err(PortError::Invalid(_)) => {
                    return Err(ApiError::validation(
                        "cursor",
                        "not a cursor this API issued",
                    ));
                }
                other => other?,
            };
            items.extend(page.items.into_iter().filter(|j| q.keeps(j)));
            cursor = page.next_cursor;
            if items.len() >= q.limit || cursor.is_none() || read >= LIST_FILTER_READS {
                break;
            }
        }
        Ok(Page {
            items,
            next_cursor: cursor,
        })
    }

    /// `DELETE /api/v1/exports/{id}`.
    pub async fn cancel(&self, caller: &Caller, export_id: &ExportId) -> Result<Job, ApiError> {
        for _ in 0..5 {
            let job = self.get(caller, export_id).await?;
            if job.status.is_terminal() {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("export {export_id} already ended ({})", job.status.as_str()),
                ));
            }
            let next = job
                .apply(Transition::Cancel, ec_domain::time::now(), self.retention)
                .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
            match self.jobs.update(&next, job.version).await {
                Ok(()) => {
                    tracing::info!(export_id = %export_id, tenant = %caller.tenant, "export cancelled");
                    release_slot(self.quotas.as_ref(), &next).await;
                    self.notifier.publish(&next, EventKind::Cancelled).await;
                    return Ok(next);
                }
                Err(PortError::ConditionFailed(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(ApiError::new(
            ErrorCode::Conflict,
            "the export kept changing; retry",
        ))
    }

    /// `GET /api/v1/exports/{id}/download`: a presigned URL of the artifact.
    pub async fn download_url(
        &self,
        caller: &Caller,
        export_id: &ExportId,
        kind: ArtifactKind,
    ) -> Result<String, ApiError> {
        let job = self.get(caller, export_id).await?;
        let now = ec_domain::time::now();
        if job.status == JobStatus::Purged {
            return Err(ApiError::new(
                ErrorCode::Expired,
                format!("export {export_id} was purged"),
            ));
        }
        let expired = job.status == JobStatus::Expired
            || (!job.legal_hold && job.expires_at.is_some_and(|t| t <= now));
        if expired {
            if job.status == JobStatus::Ready
                && let Ok(next) = job.apply(Transition::Expire, now, self.retention)
            {
                // Best effort: the answer is 410 either way.
                let _ = self.jobs.update(&next, job.version).await;
            }
            return Err(ApiError::new(
                ErrorCode::Expired,
                format!("export {export_id} expired by retention"),
            ));
        }
        if job.status != JobStatus::Ready {
            let why = match &job.error {
                Some(e) => format!(
                    "export {export_id} failed and has no artifacts: {} ({})",
                    e.message, e.code
                ),
                None => format!("export {export_id} is {}, not ready", job.state_label()),
            };
            return Err(ApiError::new(ErrorCode::NotReady, why));
        }
        let art = job
            .artifact(kind)
            .ok_or_else(|| ApiError::internal("ready job without its artifact"))?;
        Ok(self
            .objects
            .presign_get(&art.key, self.download_ttl)
            .await?)
    }
}
