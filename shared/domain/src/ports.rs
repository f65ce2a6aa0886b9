//! Ports: the small traits the handlers depend on. The embedded stack (filesystem, SQLite)
//! and the AWS stack (S3, DynamoDB, SQS, API Gateway) each implement them.
//!
//! What each trait promises (the error meanings, orders, cursors and expiries documented
//! below) is also written down as executable suites in `shared/port-contract`
//! (`ec-port-contract`), which both stacks' tests run; a new adapter should pass them too.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use time::OffsetDateTime;

use crate::audit::{AuditChain, AuditDraft, AuditEntry, AuditQuery};
use crate::destination::{Destination, Secret};
use crate::error::PortError;
use crate::failure::StageError;
use crate::id_types::{DestinationId, ExportId, ScanId, ScheduleId, TenantId};
use crate::job::{Job, JobStatus};
use crate::messages::QueueName;
use crate::scan::{Sbom, Scan, ScanSummary, Verdicts, VexStatement};
use crate::schedule::Schedule;
use crate::snapshot::Snapshot;
use crate::tenant_settings::QuotaSettings;

pub type PortResult<T> = Result<T, PortError>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub media_type: String,
}

/// Artifact storage (S3, or files). A successful `put` of a report key must lead to one or
/// more object-created notifications for the seal stage (duplicates are allowed).
#[async_trait]
pub trait ObjectStore: Send + Sync {
    async fn put(&self, key: &str, body: Bytes, media_type: &str) -> PortResult<ObjectMeta>;
    /// As `put`, only if no object has `key`: `ConditionFailed` when one does (of two
    /// concurrent writers exactly one succeeds). How a sealed bundle gets one writer.
    async fn put_new(&self, key: &str, body: Bytes, media_type: &str) -> PortResult<ObjectMeta>;
    /// `PortError::NotFound` when the key does not exist.
    async fn get(&self, key: &str) -> PortResult<Bytes>;
    async fn head(&self, key: &str) -> PortResult<Option<ObjectMeta>>;
    async fn list(&self, prefix: &str) -> PortResult<Vec<ObjectMeta>>;
    /// A URL anyone holding it can GET until `ttl` elapses.
    async fn presign_get(&self, key: &str, ttl: Duration) -> PortResult<String>;
    /// Removes `key` for good: every version of it (a versioned bucket keeps none, no
    /// delete marker either). A missing key is fine (idempotent). `Invalid` while the
    /// object is under legal hold.
    async fn delete(&self, key: &str) -> PortResult<()>;
    /// Puts `key` under legal hold (`on`) or releases it: a held object cannot be deleted
    /// or replaced, whatever its age. `NotFound` for a missing key.
    async fn set_legal_hold(&self, key: &str, on: bool) -> PortResult<()>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Export jobs, one row per job, keyed by tenant and export id.
#[async_trait]
pub trait JobTable: Send + Sync {
    /// `ConditionFailed` if the id exists.
    async fn create(&self, job: &Job) -> PortResult<()>;
    async fn get(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<Option<Job>>;
    /// Writes `job` only if the stored version is still `expected_version`
    /// (`ConditionFailed` otherwise).
    async fn update(&self, job: &Job, expected_version: u64) -> PortResult<()>;
    /// Removes a job that never got going (its enqueue failed).
    async fn delete(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<()>;
    /// Newest first. The cursor is opaque to callers.
    async fn list(
        &self,
        tenant: &TenantId,
        status: Option<JobStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> PortResult<Page<Job>>;
    /// Every tenant's jobs the retention sweeper must act on by `now` (those whose
    /// [`Job::sweep_due`] is at or before it), most overdue first, at most `limit`. The
    /// stored jobs are the truth: a row whose document no longer qualifies is not returned.
    async fn sweepable(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Job>>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key was free and now points at `export_id`.
    Claimed,
    /// The key was used before, for this request hash and export.
    Existing {
        request_hash: String,
        export_id: ExportId,
    },
}

/// `Idempotency-Key` records.
#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    async fn claim(
        &self,
        tenant: &TenantId,
        key: &str,
        request_hash: &str,
        export_id: &ExportId,
        ttl: Duration,
    ) -> PortResult<Claim>;
    async fn release(&self, tenant: &TenantId, key: &str) -> PortResult<()>;
}

/// The longest a queue holds a message back ([`WorkQueue::send_delayed`]; SQS's maximum).
pub const MAX_QUEUE_DELAY: Duration = Duration::from_secs(15 * 60);

/// Sending work to a stage.
#[async_trait]
pub trait WorkQueue: Send + Sync {
    /// Sends a message that becomes visible after `delay`, at most [`MAX_QUEUE_DELAY`]
    /// (longer delays are cut to it: a longer wait is the receiver's to continue).
    async fn send_delayed(&self, queue: QueueName, body: String, delay: Duration)
    -> PortResult<()>;

    /// Sends a message visible at once.
    async fn send(&self, queue: QueueName, body: String) -> PortResult<()> {
        self.send_delayed(queue, body, Duration::ZERO).await
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub receipt: String,
    pub body: String,
    /// 1 on the first delivery.
    pub receive_count: u32,
}

/// Pulling work, with SQS semantics: a received message is hidden for the visibility
/// timeout and comes back unless acknowledged; after too many receives it is dead-lettered.
/// On AWS the Lambda event source plays this role.
#[async_trait]
pub trait QueueConsumer: Send + Sync {
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Delivery>>;
    async fn ack(&self, queue: QueueName, receipt: &str) -> PortResult<()>;
    /// Makes a received message visible again after `delay` (a retry with back-off).
    async fn retry_after(&self, queue: QueueName, receipt: &str, delay: Duration)
    -> PortResult<()>;
    /// Waits until work may be available, at most `max_wait`; consumers that cannot be
    /// woken simply sleep.
    async fn wait_for_work(&self, _queue: QueueName, max_wait: Duration) {
        tokio::time::sleep(max_wait).await
    }
}

/// WebSocket connections per tenant.
#[async_trait]
pub trait ConnectionRegistry: Send + Sync {
    async fn register(
        &self,
        connection_id: &str,
        tenant: &TenantId,
        ttl: Duration,
    ) -> PortResult<()>;
    async fn remove(&self, connection_id: &str) -> PortResult<()>;
    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<String>>;
}

/// Pushing a message down one connection; `PortError::Gone` when it no longer exists.
#[async_trait]
pub trait ConnectionPush: Send + Sync {
    async fn post(&self, connection_id: &str, payload: Bytes) -> PortResult<()>;
}

/// Ingested scans: the catalogue that answers "which scans does this tenant have".
#[async_trait]
pub trait ScanCatalog: Send + Sync {
    async fn put(&self, summary: &ScanSummary) -> PortResult<()>;
    async fn get(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<Option<ScanSummary>>;
    /// Scans with `scanned_at` in `[from, to]`, oldest first, at most `limit`.
    async fn in_range(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<ScanSummary>>;
    /// The tenant's scans, newest `scanned_at` first (ties by id, descending), in pages.
    /// The cursor is opaque to callers; one this store did not issue for this tenant is
    /// `Invalid`.
    async fn list(
        &self,
        tenant: &TenantId,
        limit: usize,
        cursor: Option<&str>,
    ) -> PortResult<Page<ScanSummary>>;
    /// Removes the summary; removing one that is not there is not an error.
    async fn delete(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<()>;
}

/// Scanner: `GET /internal/scans/{id}`.
#[async_trait]
pub trait ScanSource: Send + Sync {
    async fn scan(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<Option<Scan>>;
    /// Whether the tenant has this scan; sources with a cheaper check override it.
    async fn exists(&self, tenant: &TenantId, scan_id: &ScanId) -> PortResult<bool> {
        Ok(self.scan(tenant, scan_id).await?.is_some())
    }
    /// Scan ids of the tenant in a date range (for `date_range` scopes).
    async fn scans_between(
        &self,
        tenant: &TenantId,
        from: OffsetDateTime,
        to: OffsetDateTime,
        limit: usize,
    ) -> PortResult<Vec<ScanId>>;
}

/// Policy: `GET /internal/verdicts/{scan_id}`.
#[async_trait]
pub trait VerdictSource: Send + Sync {
    async fn verdicts(
        &self,
        tenant: &TenantId,
        scan: &Scan,
        vex: &[VexStatement],
    ) -> PortResult<Verdicts>;
}

/// VexLens: `GET /internal/vex/applied/{scan_id}`.
#[async_trait]
pub trait VexSource: Send + Sync {
    async fn applied(&self, tenant: &TenantId, scan: &Scan) -> PortResult<Vec<VexStatement>>;

    /// The tenant's VEX documents with every statement, for the report's list of what each
    /// matched and for VEX exports. `ids` narrows to those documents (`NotFound` when one of
    /// them does not exist); `None` lists all. A source that cannot list documents (an
    /// HTTP VexLens, whose statements arrive already applied per scan) returns none for
    /// `None` and `NotFound` for named ones.
    async fn documents(
        &self,
        tenant: &TenantId,
        ids: Option<&[ScanId]>,
    ) -> PortResult<Vec<crate::vex::VexDocument>>;
}

/// SbomService: `GET /internal/sboms/{digest}`.
#[async_trait]
pub trait SbomSource: Send + Sync {
    async fn sbom(&self, tenant: &TenantId, scan: &Scan) -> PortResult<Option<Sbom>>;
}

/// Signs sealed manifests.
#[async_trait]
pub trait Signer: Send + Sync {
    /// Stable identifier of the key (e.g. the sha256 of the public key).
    fn key_id(&self) -> String;
    /// `ed25519`, `ecdsa-p256-sha256`, ...
    fn algorithm(&self) -> &'static str;
    fn public_key_pem(&self) -> String;
    async fn sign(&self, message: &[u8]) -> PortResult<Vec<u8>>;
}

/// Recurring export definitions.
#[async_trait]
pub trait ScheduleStore: Send + Sync {
    /// `ConditionFailed` if the id exists.
    async fn create(&self, schedule: &Schedule) -> PortResult<()>;
    async fn get(
        &self,
        tenant: &TenantId,
        schedule_id: &ScheduleId,
    ) -> PortResult<Option<Schedule>>;
    /// The tenant's schedules, oldest first.
    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<Schedule>>;
    async fn delete(&self, tenant: &TenantId, schedule_id: &ScheduleId) -> PortResult<()>;
    /// Conditional on the stored version (`ConditionFailed` otherwise).
    async fn update(&self, schedule: &Schedule, expected_version: u64) -> PortResult<()>;
    /// Schedules whose `next_run_at` is at or before `now` (the embedded scheduler's query).
    async fn due(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Schedule>>;
}

/// Delivery destinations, a tenant resource.
#[async_trait]
pub trait DestinationStore: Send + Sync {
    /// `ConditionFailed` if the id exists.
    async fn create(&self, destination: &Destination) -> PortResult<()>;
    async fn get(
        &self,
        tenant: &TenantId,
        destination_id: &DestinationId,
    ) -> PortResult<Option<Destination>>;
    /// The tenant's destinations, oldest first.
    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<Destination>>;
    /// Idempotent: deleting a destination that is not there is `Ok`.
    async fn delete(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<()>;
}

/// Destinations' write-only secrets, encrypted at rest (embedded: AES-256-GCM under a key in
/// the data directory; AWS: SSM SecureString parameters). Never listed, never logged.
#[async_trait]
pub trait DestinationSecrets: Send + Sync {
    /// Stores (or replaces) the secret of `destination_id`.
    async fn put(
        &self,
        tenant: &TenantId,
        destination_id: &DestinationId,
        secret: &Secret,
    ) -> PortResult<()>;
    /// `NotFound` when none is stored; `Invalid` when what is stored does not decrypt
    /// (another key, or tampered with).
    async fn get(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<Secret>;
    /// Idempotent.
    async fn delete(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<()>;
}

/// Name resolution for tenant-given hosts, so that the address a destination would reach is
/// checked (and tests can make a name resolve to a private address without DNS).
#[async_trait]
pub trait AddressResolver: Send + Sync {
    /// Every address `host` resolves to; `NotFound` when it resolves to none, `Unavailable`
    /// when the resolver could not answer.
    async fn resolve(&self, host: &str) -> PortResult<Vec<std::net::IpAddr>>;
}

/// An HTTP POST a delivery makes (a webhook, a chat message): to `url`, connecting only to
/// `addrs` (what the SSRF guard checked; empty for the operator's own endpoints, which are
/// resolved normally), never following a redirect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpPost {
    pub url: String,
    pub addrs: Vec<std::net::SocketAddr>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// What the receiver answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpAnswer {
    pub status: u16,
    /// The start of the body (for the delivery's `last_error`).
    pub excerpt: String,
    /// The body, up to 64 KiB (for answers a sender reads: an upload's id and status).
    pub body: Bytes,
}

/// Sends deliveries' HTTP requests.
#[async_trait]
pub trait HttpSender: Send + Sync {
    /// The receiver's answer, whatever its status; `Unavailable` when no answer came
    /// (connection refused, TLS failure, timeout).
    async fn post(&self, request: &HttpPost) -> PortResult<HttpAnswer>;
    /// A GET of `url` with `headers` (following an upload's status), as [`HttpSender::post`].
    async fn get(&self, url: &str, headers: &[(String, String)]) -> PortResult<HttpAnswer>;
}

/// An email a delivery sends, through the deployment's relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// `Message-ID` (the same for every attempt of one delivery).
    pub message_id: String,
    /// File name, media type and bytes of an attached report.
    pub attachment: Option<(String, String, Bytes)>,
}

/// Sends deliveries' emails through the deployment's SMTP relay (`EXPORTCENTER_SMTP_URL`).
#[async_trait]
pub trait Mailer: Send + Sync {
    /// `Unavailable` when the relay could not be reached or refused for now (4xx);
    /// `Invalid` when it refused for good (5xx: a recipient it will not take) or no relay
    /// is configured.
    async fn send(&self, email: &Email) -> PortResult<()>;
}

/// An RFC 3161 time-stamping authority (`EXPORTCENTER_TSA_URL`): the operator's, not
/// tenant input.
#[async_trait]
pub trait Timestamper: Send + Sync {
    /// POSTs a `TimeStampReq` (DER) and answers the `TimeStampResp` (DER). `Unavailable`
    /// when the TSA cannot be reached or answers 5xx; `Invalid` for any other refusal.
    async fn stamp(&self, request: &[u8]) -> PortResult<Vec<u8>>;
}

/// The bucket an `s3` destination writes to, and whose credentials write there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketTarget {
    pub bucket: String,
    /// The role the tenant grants, assumed for the writes (with `external_id`); `None`
    /// writes with the service's own credentials (only when the deployment allows it).
    pub role_arn: Option<String>,
    pub external_id: Option<String>,
    /// The assumed role's session name: who wrote, in the tenant's CloudTrail.
    pub session_name: String,
}

/// One object a bucket delivery writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketObject {
    pub key: String,
    pub content_type: String,
    pub body: Bytes,
}

/// Writes deliveries' objects into a tenant's bucket (the `s3` destination). Writing the
/// same key again with the same bytes is harmless, so a retried delivery may write again.
#[async_trait]
pub trait BucketWriter: Send + Sync {
    /// Writes every object, in order. `Invalid` when the tenant's side refuses for good (the
    /// role cannot be assumed, access denied, no such bucket); `Unavailable` when worth
    /// retrying (throttling, a timeout, a 5xx).
    async fn put(&self, target: &BucketTarget, objects: &[BucketObject]) -> PortResult<()>;
}

/// The audit trail: one hash chain per tenant, and the operators' `_system` chain.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends `draft` as the next entry of its chain (`AuditDraft::after` the current last
    /// entry: `seq` one more, `prev_sha256` its hash), atomically: concurrent appends to one
    /// chain never get the same `seq`, so the chain never forks. `Unavailable` when the append
    /// kept losing the race to other writers (the caller may retry).
    async fn append(&self, draft: &AuditDraft) -> PortResult<AuditEntry>;
    /// Entries of `chain` in `seq` order after `query.after_seq` that `query.matches`, at most
    /// `query.limit`; `next_cursor` (the last `seq` returned, as text) while more may follow.
    async fn list(&self, chain: &AuditChain, query: &AuditQuery) -> PortResult<Page<AuditEntry>>;
}

/// The clock that fires schedules: EventBridge Scheduler on AWS; on the embedded stack the
/// scheduler loop reads the store, so registering is a no-op there.
#[async_trait]
pub trait ScheduleTrigger: Send + Sync {
    /// `expression` is the EventBridge form (`cron(...)`), `timezone` an IANA name.
    async fn register(
        &self,
        schedule: &Schedule,
        expression: &str,
        timezone: &str,
    ) -> PortResult<()>;
    async fn unregister(&self, schedule: &Schedule) -> PortResult<()>;
}

/// Turns an input snapshot into the report's bytes: built-in templates in process, a
/// tenant's custom template in a limited child process. Blocking (CPU-bound): stages call
/// it off the async runtime. Errors carry the failure code the job records.
pub trait ReportRenderer: Send + Sync {
    fn render(&self, snapshot: Snapshot) -> Result<Vec<u8>, StageError>;
}

/// The per-tenant limit a reservation ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuotaLimit {
    /// `quota.exports_per_minute`: requests in the current one-minute window.
    ExportsPerMinute,
    /// `quota.concurrent_exports`: exports holding a slot (queued or running).
    ConcurrentExports,
}

/// A tenant's usage, as a reservation left it or as [`Quotas::usage`] found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaUsage {
    /// Requests counted in the one-minute window that holds `now`.
    pub minute_used: u32,
    /// When that window ends (windows are fixed: whole minutes of unix time).
    pub window_ends: OffsetDateTime,
    /// Exports holding a concurrent slot.
    pub concurrent_used: u32,
}

/// What [`Quotas::reserve`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reservation {
    /// The export holds its slot (and, when asked, one request of the window is counted).
    Granted(QuotaUsage),
    /// Nothing was consumed: `limit` is reached.
    Refused {
        limit: QuotaLimit,
        usage: QuotaUsage,
    },
}

/// An export holding a concurrent slot, and since when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotHolder {
    pub export_id: ExportId,
    pub reserved_at: OffsetDateTime,
}

/// The start of the fixed one-minute window holding `now`.
pub fn quota_window(now: OffsetDateTime) -> OffsetDateTime {
    let t = now.unix_timestamp();
    OffsetDateTime::from_unix_timestamp(t - t.rem_euclid(60)).unwrap_or(now)
}

/// Per-tenant export quotas: a counter of requests per fixed one-minute window, and the set
/// of exports holding a concurrent slot, keyed by export id.
///
/// Holding slots by export id (not a bare counter) is what keeps the count exact: reserving
/// again for an export that holds a slot takes no second slot, and releasing is idempotent
/// (releasing a slot not held changes nothing), so a duplicate delivery, a retried
/// transition or a repair can never release twice. The caller reserves *before* the job row
/// exists (so refusing leaves nothing behind), releases when writing the job fails, and
/// releases once the transition that makes the job terminal (ready, failed, cancelled) has
/// won its conditional write.
///
/// Residual risk: a process that dies between `reserve` and writing the job, or between the
/// terminal transition and `release`, leaves a slot held by an export that is not queued or
/// running. [`Quotas::holders`] lists every holder with its reservation time, so the caller
/// can release those whose job is missing or ended (the export service does this when a
/// tenant is refused for concurrency, for holders older than a grace period). Until then
/// the tenant has one slot fewer: the error is always on the side of refusing, never of
/// exceeding a limit. The per-minute counter of a granted reservation whose job could not
/// be written is given back with [`Quotas::refund`]; dying before that costs one request of
/// one window.
///
/// Errors: backend failures only (`Unavailable` worth retrying, `Backend` otherwise); a
/// limit reached is not an error but [`Reservation::Refused`].
#[async_trait]
pub trait Quotas: Send + Sync {
    /// Atomically, for `tenant` at `now`: unless `export_id` already holds a slot, takes one
    /// if fewer than `limits.concurrent_exports` are held; then, when `count_rate`, counts
    /// one request in the window holding `now` if fewer than `limits.exports_per_minute`
    /// are counted. Either limit reached: nothing is consumed (a slot taken by this call is
    /// given back) and the answer is `Refused` with the limit (the concurrent one is
    /// checked first). Concurrent reservations never exceed a limit.
    async fn reserve(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        limits: &QuotaSettings,
        count_rate: bool,
        now: OffsetDateTime,
    ) -> PortResult<Reservation>;
    /// Frees `export_id`'s slot. Idempotent: `Ok(false)` when it held none.
    async fn release(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<bool>;
    /// Gives back one request counted in the window holding `at` (never below zero).
    async fn refund(&self, tenant: &TenantId, at: OffsetDateTime) -> PortResult<()>;
    /// The tenant's usage at `now`, consuming nothing.
    async fn usage(&self, tenant: &TenantId, now: OffsetDateTime) -> PortResult<QuotaUsage>;
    /// Every export holding a slot of `tenant` (any order).
    async fn holders(&self, tenant: &TenantId) -> PortResult<Vec<SlotHolder>>;
}

/// Every port of one deployment, as a stack's builder wires them (`ec_embedded` for the
/// embedded stack, `ec_aws` for AWS). Nothing holds all of them but the builders: each
/// stage and API service takes only the ports it uses from here.
#[derive(Clone)]
pub struct Ports {
    pub jobs: Arc<dyn JobTable>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub queue: Arc<dyn WorkQueue>,
    pub objects: Arc<dyn ObjectStore>,
    pub catalog: Arc<dyn ScanCatalog>,
    pub scans: Arc<dyn ScanSource>,
    pub verdicts: Arc<dyn VerdictSource>,
    pub vex: Arc<dyn VexSource>,
    pub sboms: Arc<dyn SbomSource>,
    pub connections: Arc<dyn ConnectionRegistry>,
    pub push: Arc<dyn ConnectionPush>,
    /// The keys that seal bundles (see [`crate::signing_keys`]).
    pub signing: crate::signing_keys::SigningKeys,
    pub renderer: Arc<dyn ReportRenderer>,
    /// Recurring export definitions.
    pub schedules: Arc<dyn ScheduleStore>,
    /// What fires them: EventBridge Scheduler on AWS, a no-op on the embedded stack (whose
    /// scheduler loop reads `schedules`).
    pub trigger: Arc<dyn ScheduleTrigger>,
    /// The audit trail.
    pub audit: Arc<dyn AuditLog>,
    /// Per-tenant export quotas (requests per minute, concurrent exports).
    pub quotas: Arc<dyn Quotas>,
    /// Delivery destinations and their secrets.
    pub destinations: Arc<dyn DestinationStore>,
    pub destination_secrets: Arc<dyn DestinationSecrets>,
    /// Name resolution for destination hosts (the system's on both stacks; tests swap it).
    pub resolver: Arc<dyn AddressResolver>,
    /// Deliveries' HTTP requests.
    pub http: Arc<dyn HttpSender>,
    /// Deliveries' emails.
    pub mailer: Arc<dyn Mailer>,
    /// Deliveries to tenants' buckets.
    pub buckets: Arc<dyn BucketWriter>,
    /// Trusted time for sealed bundles, when a TSA is configured.
    pub timestamper: Option<Arc<dyn Timestamper>>,
}
