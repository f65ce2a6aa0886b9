//! The request stage: what the HTTP API does, independent of HTTP. Validates, writes the
//! job row, enqueues the gather work, and answers reads, cancels, downloads and ingests.

use serde::Serialize;

use ec_domain::error::ErrorDetail;
use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::ports::{Claim, Page};
use ec_domain::scan::ScanSummary;
use ec_domain::schedule;
use ec_domain::{
    ApiError, ArtifactKind, ErrorCode, ExportRequest, Job, JobStatus, PortError, Scope,
    TemplateName, Transition, keys,
};

use crate::Pipeline;

/// The authenticated caller: tenant and subject come from a verified token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub tenant: String,
    pub subject: String,
}

/// Answer to `POST /api/v1/scans`. For a VEX-only document (OpenVEX, CSAF, a CycloneDX
/// VEX BOM) `scan_id` is the stored VEX document's id (`vex-…`) and no scan is stored.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct IngestReceipt {
    pub scan_id: String,
    pub artifact_digest: Option<String>,
    pub findings: usize,
    pub components: usize,
    pub source_format: String,
    /// VEX statements stored from the document (its own, or a BOM's analyses).
    #[serde(default)]
    pub vex_statements: usize,
}

pub const MAX_LIST_LIMIT: usize = 200;
pub const DEFAULT_LIST_LIMIT: usize = 50;

/// What starts an export.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Origin<'a> {
    /// `POST /api/v1/exports`, with the client's `Idempotency-Key` if any.
    Client { idempotency_key: Option<&'a str> },
    /// One run of a schedule: the job records `schedule_id`, the idempotency key is
    /// [`schedule::run_key`] and the export id [`schedule::run_export_id`], so a slot
    /// triggered again finds the job it made.
    Schedule {
        schedule_id: &'a str,
        scheduled_at: time::OffsetDateTime,
    },
}

/// Idempotency keys of scheduled runs ([`ec_domain::schedule::run_key`]) start with this;
/// clients may not use it, so they cannot pre-empt a schedule's run.
pub const SCHEDULE_KEY_PREFIX: &str = "schedule:";

fn valid_idempotency_key(k: &str) -> bool {
    !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic())
}

impl Pipeline {
    /// `POST /api/v1/exports`.
    pub async fn create_export(
        &self,
        caller: &Caller,
        body: &serde_json::Value,
        idempotency_key: Option<&str>,
    ) -> Result<Job, ApiError> {
        self.submit_export(caller, body, Origin::Client { idempotency_key })
            .await
    }

    /// Everything an export request must pass before a job exists: it parses, its template
    /// renders in its format, and every scan in scope exists for the tenant. API requests
    /// and schedules (at creation and again at every run) all go through here.
    pub async fn validate_export(
        &self,
        tenant: &str,
        body: &serde_json::Value,
    ) -> Result<ExportRequest, ApiError> {
        let request = ExportRequest::from_json(body, tenant)?;
        let supported = match &request.template {
            TemplateName::Builtin(_) => {
                ec_render::supports(request.export_type, request.format, &request.template)
            }
            TemplateName::Custom { .. } => match self.custom_template(tenant).await? {
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
        Ok(request)
    }

    /// Validates `body`, then writes and enqueues its job, or, when its idempotency key was
    /// used before with the same request, answers the job it made. The one path of
    /// `POST /api/v1/exports` and of scheduled runs.
    pub(crate) async fn submit_export(
        &self,
        caller: &Caller,
        body: &serde_json::Value,
        origin: Origin<'_>,
    ) -> Result<Job, ApiError> {
        let request = self.validate_export(&caller.tenant, body).await?;

        let (idempotency_key, schedule_id, mut export_id) = match origin {
            Origin::Client { idempotency_key } => (
                idempotency_key.map(str::to_string),
                None,
                ec_domain::ids::new_export_id(),
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
        if let Some(key) = idempotency_key {
            if !valid_idempotency_key(key) {
                return Err(ApiError::validation(
                    "Idempotency-Key",
                    "must be 1 to 255 visible ASCII characters",
                ));
            }
            if schedule_id.is_none() && key.starts_with(SCHEDULE_KEY_PREFIX) {
                return Err(ApiError::validation(
                    "Idempotency-Key",
                    format!(
                        "keys starting with {SCHEDULE_KEY_PREFIX:?} are reserved for scheduled runs"
                    ),
                ));
            }
            // Hash the validated request, not the raw bytes: a retry that orders scan ids or
            // keys differently is the same request.
            let hash = ec_domain::ids::sha256_hex(&ec_domain::ids::canonical_json(&request));
            let claim = self
                .ports
                .idempotency
                .claim(
                    &caller.tenant,
                    key,
                    &hash,
                    &export_id,
                    self.settings.idempotency_ttl,
                )
                .await?;
            if let Claim::Existing {
                request_hash,
                export_id: existing,
            } = claim
            {
                if request_hash != hash {
                    return Err(ApiError::new(
                        ErrorCode::IdempotencyMismatch,
                        "this Idempotency-Key was used with a different request body",
                    )
                    .with_detail("Idempotency-Key", "reused with another body"));
                }
                if let Some(job) = self.ports.jobs.get(&caller.tenant, &existing).await? {
                    let waited = ec_domain::time::now() - job.created_at;
                    if job.status == JobStatus::Queued
                        && waited >= self.settings.resend_queued_after
                    {
                        // The first attempt may have died between writing the job and
                        // sending its message; a second message is harmless.
                        self.send_gather(&job).await?;
                    }
                    return Ok(job);
                }
                // The first attempt died between claiming the key and writing the job:
                // finish it under the id the key already names.
                export_id = existing;
            }
        }
        if schedule_id.is_some()
            && let Some(job) = self.ports.jobs.get(&caller.tenant, &export_id).await?
        {
            // The run's id is derived from the run: it was made before, under a key that
            // has since expired.
            return Ok(job);
        }

        let job = Job::new(
            export_id,
            caller.tenant.clone(),
            request,
            caller.subject.clone(),
            schedule_id.map(str::to_string),
            ec_domain::time::now(),
        );
        self.enqueue_new_job(&job, idempotency_key).await?;
        Ok(job)
    }

    /// Writes a new job and sends its gather message. If the message cannot be sent, the
    /// job and key are removed again so nothing is left half-made.
    pub async fn enqueue_new_job(
        &self,
        job: &Job,
        idempotency_key: Option<&str>,
    ) -> Result<(), ApiError> {
        match self.ports.jobs.create(job).await {
            Ok(()) => {}
            Err(PortError::ConditionFailed(_)) => {}
            Err(e) => return Err(e.into()),
        }
        if let Err(e) = self.send_gather(job).await {
            tracing::error!(export_id = %job.export_id, "rolling the job back");
            if let Err(e) = self.ports.jobs.delete(&job.tenant_id, &job.export_id).await {
                tracing::error!(export_id = %job.export_id, error = %e, "rollback of job row failed");
            }
            if let Some(key) = idempotency_key
                && let Err(e) = self.ports.idempotency.release(&job.tenant_id, key).await
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
        self.ports
            .queue
            .send(QueueName::Gather, body)
            .await
            .map_err(|e| {
                tracing::error!(export_id = %job.export_id, error = %e, "enqueue failed");
                ApiError::new(
                    ErrorCode::Unavailable,
                    "the work queue is unavailable; retry later",
                )
            })
    }

    /// Every scan in scope must exist for this tenant (another tenant's id is simply unknown).
    async fn check_scope(&self, tenant: &str, scope: &Scope) -> Result<(), ApiError> {
        match scope {
            Scope::ScanIds(ids) => {
                let mut missing = Vec::new();
                for id in ids {
                    if !self.ports.scans.exists(tenant, id).await? {
                        missing.push(id.clone());
                    }
                }
                if missing.is_empty() {
                    return Ok(());
                }
                let mut err = ApiError::new(
                    ErrorCode::NotFound,
                    format!(
                        "{} scan(s) in scope not found: {}",
                        missing.len(),
                        missing.join(", ")
                    ),
                );
                err.details = missing
                    .into_iter()
                    .map(|id| ErrorDetail {
                        field: "scope.scan_ids".into(),
                        reason: format!("scan {id} not found"),
                    })
                    .collect();
                Err(err)
            }
            Scope::DateRange(r) => {
                let found = self
                    .ports
                    .scans
                    .scans_between(tenant, r.from, r.to, 1)
                    .await?;
                if found.is_empty() {
                    Err(ApiError::validation(
                        "scope.date_range",
                        "no scans in this date range",
                    ))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// `GET /api/v1/exports/{id}`.
    pub async fn get_export(&self, caller: &Caller, export_id: &str) -> Result<Job, ApiError> {
        if !ec_domain::ids::is_safe_id(export_id) {
            return Err(ApiError::not_found("export"));
        }
        self.ports
            .jobs
            .get(&caller.tenant, export_id)
            .await?
            .ok_or_else(|| ApiError::not_found("export"))
    }

    /// `GET /api/v1/exports`.
    pub async fn list_exports(
        &self,
        caller: &Caller,
        status: Option<&str>,
        limit: Option<&str>,
        cursor: Option<&str>,
    ) -> Result<Page<Job>, ApiError> {
        let status = match status {
            None => None,
            Some(s) => Some(JobStatus::parse(s).ok_or_else(|| {
                ApiError::validation(
                    "status",
                    "expected queued, running, ready, failed, cancelled or expired",
                )
            })?),
        };
        let limit = match limit {
            None => DEFAULT_LIST_LIMIT,
            Some(l) => l
                .parse::<usize>()
                .ok()
                .filter(|l| (1..=MAX_LIST_LIMIT).contains(l))
                .ok_or_else(|| {
                    ApiError::validation(
                        "limit",
                        format!("must be an integer from 1 to {MAX_LIST_LIMIT}"),
                    )
                })?,
        };
        match self
            .ports
            .jobs
            .list(&caller.tenant, status, limit, cursor)
            .await
        {
            Err(PortError::Invalid(_)) => Err(ApiError::validation(
                "cursor",
                "not a cursor this API issued",
            )),
            other => Ok(other?),
        }
    }

    /// `DELETE /api/v1/exports/{id}`.
    pub async fn cancel_export(&self, caller: &Caller, export_id: &str) -> Result<Job, ApiError> {
        for _ in 0..5 {
            let job = self.get_export(caller, export_id).await?;
            if job.status.is_terminal() {
                return Err(ApiError::new(
                    ErrorCode::Conflict,
                    format!("export {export_id} already ended ({})", job.status.as_str()),
                ));
            }
            let next = job
                .apply(
                    Transition::Cancel,
                    ec_domain::time::now(),
                    self.settings.retention,
                )
                .map_err(|e| ApiError::new(ErrorCode::Conflict, e.to_string()))?;
            match self.ports.jobs.update(&next, job.version).await {
                Ok(()) => {
                    tracing::info!(export_id, tenant = %caller.tenant, "export cancelled");
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
        export_id: &str,
        artifact: Option<&str>,
    ) -> Result<String, ApiError> {
        let kind = match artifact {
            None => ArtifactKind::Report,
            Some(a) => ArtifactKind::parse(a)
                .ok_or_else(|| ApiError::validation("artifact", "expected report or sealed"))?,
        };
        let job = self.get_export(caller, export_id).await?;
        let now = ec_domain::time::now();
        let expired = job.status == JobStatus::Expired || job.expires_at.is_some_and(|t| t <= now);
        if expired {
            if job.status == JobStatus::Ready
                && let Ok(next) = job.apply(Transition::Expire, now, self.settings.retention)
            {
                // Best effort: the answer is 410 either way.
                let _ = self.ports.jobs.update(&next, job.version).await;
            }
            return Err(ApiError::new(
                ErrorCode::Expired,
                format!("export {export_id} expired by retention"),
            ));
        }
        if job.status != JobStatus::Ready {
            return Err(ApiError::new(
                ErrorCode::NotReady,
                format!("export {export_id} is {}, not ready", job.state_label()),
            ));
        }
        let art = job
            .artifact(kind)
            .ok_or_else(|| ApiError::internal("ready job without its artifact"))?;
        Ok(self
            .ports
            .objects
            .presign_get(&art.key, self.settings.download_ttl)
            .await?)
    }

    /// `POST /api/v1/scans`: reads a scanner report, SBOM or VEX document into the native
    /// model and stores it. VEX statements are stored as one object per document under
    /// [`keys::vex`], where every later export of the tenant finds them; a scan is stored with
    /// its catalogue row. A scan document with embedded VEX stores both.
    pub async fn ingest_scan(
        &self,
        caller: &Caller,
        document: &[u8],
    ) -> Result<IngestReceipt, ApiError> {
        let tenant = caller.tenant.as_str();
        let ingested = ec_ingest::parse_document(document, tenant, ec_domain::time::now())?;
        let vex_id = ec_domain::ids::vex_id_for(tenant, document);
        if ingested.scan.is_none() || !ingested.vex.is_empty() {
            let body = ec_domain::ids::canonical_json(&ingested.vex);
            self.ports
                .objects
                .put(&keys::vex(tenant, &vex_id), body.into(), "application/json")
                .await?;
            tracing::info!(vex_id = %vex_id, tenant, statements = ingested.vex.len(), "VEX ingested");
        }
        let Some(scan) = ingested.scan else {
            return Ok(IngestReceipt {
                scan_id: vex_id,
                artifact_digest: None,
                findings: 0,
                components: 0,
                source_format: ingested.source_format.to_string(),
                vex_statements: ingested.vex.len(),
            });
        };
        let body = ec_domain::ids::canonical_json(&scan);
        self.ports
            .objects
            .put(
                &keys::scan(tenant, &scan.scan_id),
                body.into(),
                "application/json",
            )
            .await?;
        // The catalogue row goes last: a scan is only visible once its object exists.
        self.ports.catalog.put(&ScanSummary::from(&scan)).await?;
        tracing::info!(scan_id = %scan.scan_id, tenant, findings = scan.findings.len(), "scan ingested");
        Ok(IngestReceipt {
            scan_id: scan.scan_id.clone(),
            artifact_digest: scan.artifact.digest.clone(),
            findings: scan.findings.len(),
            components: scan.components.len(),
            source_format: scan.source_format.clone(),
            vex_statements: ingested.vex.len(),
        })
    }
}
