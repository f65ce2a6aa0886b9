//! The export service's side of the per-tenant quotas: reserving before a job exists,
//! giving back what a failed submission took, reclaiming slots a crash left behind, and
//! the answer a client gets either way ([`QuotaStatus`], [`Refused`]). The counting itself
//! is the `Quotas` port's; the limits are the tenant's settings.

use std::time::Duration;

use time::OffsetDateTime;

use ec_domain::ports::{QuotaLimit, QuotaUsage, Quotas, Reservation};
use ec_domain::tenant_settings::QuotaSettings;
use ec_domain::{ApiError, ErrorCode, ExportId, Job, PortError, TenantId};

use crate::app::Exports;

/// `Retry-After` of a refusal by the concurrent limit: when a slot frees is unknown, and an
/// export usually finishes within seconds.
pub const CONCURRENT_RETRY_AFTER_SECS: u64 = 5;

/// Slots held this long by an export whose job is missing or ended are reclaimed (the
/// process that took them died before writing the job or releasing the slot). Far longer
/// than writing a job takes.
pub const SLOT_GRACE: Duration = Duration::from_secs(60);

/// What a client is told about its quota on every `POST /api/v1/exports` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaStatus {
    /// `X-Quota-Limit`: requests allowed per minute.
    pub limit: u32,
    /// `X-Quota-Remaining`: requests left in this minute.
    pub remaining: u32,
    /// `X-Quota-Reset`: seconds until this minute's window ends.
    pub reset_secs: u64,
    /// `X-Quota-Concurrent-Limit`: exports allowed queued or running at once.
    pub concurrent_limit: u32,
    /// `X-Quota-Concurrent-Remaining`: slots free.
    pub concurrent_remaining: u32,
}

impl QuotaStatus {
    pub fn new(limits: &QuotaSettings, usage: &QuotaUsage, now: OffsetDateTime) -> QuotaStatus {
        let ms = (usage.window_ends - now).whole_milliseconds().max(0);
        let reset_secs = u64::try_from((ms + 999) / 1000).unwrap_or(60);
        QuotaStatus {
            limit: limits.exports_per_minute,
            remaining: limits.exports_per_minute.saturating_sub(usage.minute_used),
            reset_secs,
            concurrent_limit: limits.concurrent_exports,
            concurrent_remaining: limits
                .concurrent_exports
                .saturating_sub(usage.concurrent_used),
        }
    }
}

/// A submitted export: its job (new, or the one a replay names) and the tenant's quota.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub job: Job,
    /// `None` only when the usage could not be read for a replay (the job is still
    /// answered).
    pub quota: Option<QuotaStatus>,
}

/// A refused submission: the error, and for a quota refusal the quota and `Retry-After`.
#[derive(Debug, Clone)]
pub struct Refused {
    pub error: ApiError,
    pub quota: Option<QuotaStatus>,
    pub retry_after_secs: Option<u64>,
}

impl From<ApiError> for Refused {
    fn from(error: ApiError) -> Self {
        Refused {
            error,
            quota: None,
            retry_after_secs: None,
        }
    }
}

impl From<PortError> for Refused {
    fn from(e: PortError) -> Self {
        Refused::from(ApiError::from(e))
    }
}

/// The `ERR_QUOTA` refusal, naming the limit.
fn refusal(
    tenant: &TenantId,
    limits: &QuotaSettings,
    limit: QuotaLimit,
    usage: &QuotaUsage,
    now: OffsetDateTime,
) -> Refused {
    let quota = QuotaStatus::new(limits, usage, now);
    let (message, field, retry) = match limit {
        QuotaLimit::ConcurrentExports => (
            format!(
                "tenant {tenant} has {} exports queued or running (concurrent limit {}); \
                 retry when one ends",
                usage.concurrent_used, limits.concurrent_exports
            ),
            "quota.concurrent_exports",
            CONCURRENT_RETRY_AFTER_SECS,
        ),
        QuotaLimit::ExportsPerMinute => (
            format!(
                "tenant {tenant} requested {} exports this minute (limit {} per minute); \
                 retry in {} s",
                usage.minute_used, limits.exports_per_minute, quota.reset_secs
            ),
            "quota.exports_per_minute",
            quota.reset_secs.max(1),
        ),
    };
    Refused {
        error: ApiError::new(ErrorCode::Quota, message).with_detail(field, "limit reached"),
        quota: Some(quota),
        retry_after_secs: Some(retry),
    }
}

/// Frees the job's concurrent slot. Called by whoever won the conditional write that made
/// the job terminal, so once per job; a failure here is reclaimed later ([`SLOT_GRACE`]).
pub(crate) async fn release_slot(quotas: &dyn Quotas, job: &Job) {
    if let Err(e) = quotas.release(&job.tenant_id, &job.export_id).await {
        tracing::error!(export_id = %job.export_id, tenant = %job.tenant_id, error = %e,
            "could not release the export's quota slot; it is reclaimed when the tenant next reaches its concurrent limit");
    }
}

impl Exports {
    /// The tenant's quota limits.
    pub fn limits(&self, tenant: &TenantId) -> QuotaSettings {
        self.tenants.for_tenant(tenant).quota
    }

    /// Reserves the export's slot (and, for client requests, one request of the minute);
    /// on a concurrent refusal, reclaims slots left behind by crashes and tries once more.
    pub(crate) async fn reserve(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        count_rate: bool,
        now: OffsetDateTime,
    ) -> Result<QuotaStatus, Refused> {
        let limits = self.limits(tenant);
        let mut r = self
            .quotas
            .reserve(tenant, export_id, &limits, count_rate, now)
            .await?;
        if let Reservation::Refused {
            limit: QuotaLimit::ConcurrentExports,
            ..
        } = r
            && self.reclaim(tenant, now).await > 0
        {
            r = self
                .quotas
                .reserve(tenant, export_id, &limits, count_rate, now)
                .await?;
        }
        match r {
            Reservation::Granted(usage) => Ok(QuotaStatus::new(&limits, &usage, now)),
            Reservation::Refused { limit, usage } => {
                tracing::info!(tenant = %tenant, limit = ?limit, "export refused by quota");
                Err(refusal(tenant, &limits, limit, &usage, now))
            }
        }
    }

    /// Gives back what [`Exports::reserve`] took for a job that could not be written or
    /// enqueued. Failures are logged: the slot is reclaimed later, the request costs one.
    pub(crate) async fn give_back(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        count_rate: bool,
        at: OffsetDateTime,
    ) {
        if let Err(e) = self.quotas.release(tenant, export_id).await {
            tracing::error!(export_id = %export_id, error = %e, "could not give back a quota slot");
        }
        if count_rate && let Err(e) = self.quotas.refund(tenant, at).await {
            tracing::error!(export_id = %export_id, error = %e, "could not refund a quota request");
        }
    }

    /// The quota as it stands, for an answer that consumed nothing (a replay).
    pub(crate) async fn quota_now(&self, tenant: &TenantId) -> Option<QuotaStatus> {
        let now = ec_domain::time::now();
        match self.quotas.usage(tenant, now).await {
            Ok(usage) => Some(QuotaStatus::new(&self.limits(tenant), &usage, now)),
            Err(e) => {
                tracing::warn!(tenant = %tenant, error = %e, "could not read the quota usage");
                None
            }
        }
    }

    /// Releases the slots of exports whose job is missing or ended, held longer than
    /// [`SLOT_GRACE`]: what a process that died between reserving and writing the job, or
    /// between ending the job and releasing, left behind. Returns how many were freed.
    pub(crate) async fn reclaim(&self, tenant: &TenantId, now: OffsetDateTime) -> usize {
        let holders = match self.quotas.holders(tenant).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(tenant = %tenant, error = %e, "could not list quota slots");
                return 0;
            }
        };
        let grace = time::Duration::try_from(SLOT_GRACE).unwrap_or(time::Duration::MINUTE);
        let mut freed = 0;
        for h in holders.into_iter().filter(|h| now - h.reserved_at >= grace) {
            let orphaned = match self.jobs.get(tenant, &h.export_id).await {
                Ok(None) => true,
                Ok(Some(job)) => job.status.is_terminal(),
                Err(_) => false,
            };
            if orphaned && matches!(self.quotas.release(tenant, &h.export_id).await, Ok(true)) {
                tracing::warn!(tenant = %tenant, export_id = %h.export_id, "reclaimed a quota slot left behind by an export that is not queued or running");
                freed += 1;
            }
        }
        freed
    }
}
