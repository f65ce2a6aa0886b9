//! DynamoDB adapters for the table ports: one table per concern, each held as a
//! `table::Table` (client and name, and the plain put, get and delete); jobs and schedules
//! share one versioned-document implementation (`versioned.rs`). Every item carries the
//! whole record as a JSON string attribute `doc` (the faithful round trip) plus the typed
//! attributes the keys, indexes, conditions and filters need. Table names come from the
//! environment of the functions (`EXPORTCENTER_*_TABLE`); the adapters only take the name.
//!
//! # Table schemas
//!
//! All key attributes are strings (`S`); every GSI projects `ALL`. Billing mode is up to the
//! template (on-demand is what the tests use).
//!
//! | Adapter | Env var | Partition key | Sort key | GSIs | TTL attribute |
//! |---|---|---|---|---|---|
//! | [`DynamoJobTable`] | `EXPORTCENTER_JOBS_TABLE` | `tenant_id` (S) | `export_id` (S) | `by_created`: PK `tenant_id` (S), SK `created_key` (S) | `expires_at` |
//! | [`DynamoIdempotency`] | `EXPORTCENTER_IDEMPOTENCY_TABLE` | `tenant_id` (S) | `idem_key` (S) | — | `expires_at` |
//! | [`DynamoScanCatalog`] | `EXPORTCENTER_SCANS_TABLE` | `tenant_id` (S) | `scan_id` (S) | `by_scanned`: PK `tenant_id` (S), SK `scanned_key` (S) | — |
//! | [`DynamoConnections`] | `EXPORTCENTER_CONNECTIONS_TABLE` | `connection_id` (S) | — | `by_tenant`: PK `tenant_id` (S), no SK | `expires_at` |
//! | [`DynamoSchedules`] | `EXPORTCENTER_SCHEDULES_TABLE` | `tenant_id` (S) | `schedule_id` (S) | — | — |
//! | [`DynamoAuditLog`] | `EXPORTCENTER_AUDIT_TABLE` | `chain` (S) | `seq` (S) | — | — |
//! | [`DynamoQuotas`] | `EXPORTCENTER_QUOTAS_TABLE` | `tenant_id` (S) | `quota_key` (S) | — | `expires_at` |
//! | [`DynamoDestinations`] | `EXPORTCENTER_DESTINATIONS_TABLE` | `tenant_id` (S) | `destination_id` (S) | — | — |
//!
//! In SAM terms, `AttributeDefinitions` must list exactly the key attributes above
//! (jobs: `tenant_id`, `export_id`, `created_key`; idempotency: `tenant_id`, `idem_key`;
//! scans: `tenant_id`, `scan_id`, `scanned_key`; connections: `connection_id`, `tenant_id`;
//! schedules: `tenant_id`, `schedule_id`; audit: `chain`, `seq`; quotas: `tenant_id`,
//! `quota_key`; destinations: `tenant_id`, `destination_id`), and `TimeToLiveSpecification` names `expires_at` on the jobs, idempotency,
//! connections and quotas tables.
//!
//! # Non-key attributes
//!
//! * jobs: `status` (S, filter of `list`), `version` (N, optimistic concurrency),
//!   `created_key` = RFC 3339 `created_at` (UTC, whole seconds) + `#` + `export_id`, so a
//!   descending query on `by_created` is newest first with ties broken by id, descending;
//!   `expires_at` (N, epoch seconds) = the job's retention end, only when set. DynamoDB
//!   deletes the row some time after that (typically within a day or two), so an
//!   `expired` job is visible only until then. `sweep_due` (N, epoch seconds) = when the
//!   retention sweeper must act (`Job::sweep_due`), only when set: `sweepable` is a
//!   consistent full-table Scan filtered on it (the sweep runs hourly; the rows it reads
//!   are every tenant's jobs, which a GSI keyed by a sparse attribute would avoid once
//!   tables grow large).
//! * idempotency: `request_hash`, `export_id` (S), `expires_at` (N, epoch seconds, rounded
//!   up, for TTL) and `expires_at_ms` (N, epoch milliseconds, the exact expiry the claim
//!   condition uses; TTL deletion is lazy, so expired rows are overwritten by a new claim).
//! * scans: `scanned_key` = RFC 3339 `scanned_at` + `#` + `scan_id`; `scanned_at` (N, epoch
//!   seconds, informational).
//! * connections: `tenant_id` (S), `expires_at` (N, epoch seconds, rounded up) and
//!   `expires_at_ms` (N, exact); `list` hides expired rows and deletes them (conditionally).
//! * audit: `seq` is the entry's number zero-padded to 20 digits (text order = number
//!   order); `doc` holds the entry, whose hash chain `ec_domain::audit` defines.
//! * schedules: `version` (N), `created_at` (N, epoch seconds), `next_run_at` (N, epoch
//!   seconds, only when set; used by [`DynamoSchedules`]'s `due`, a full-table Scan that the
//!   AWS stack does not use — EventBridge Scheduler fires schedules there).
//! * quotas: the item `quota_key = "concurrent"` has `holders` (M: export id → N, epoch
//!   ms of the reservation); the items `quota_key = "minute#{epoch seconds}"` have `used`
//!   (N) and `expires_at` (N, an hour after the window). See [`DynamoQuotas`].
//!
//! # Errors
//!
//! As for every AWS adapter, decided in [`crate::sdk_error`]:
//! `ConditionalCheckFailedException` → [`PortError::ConditionFailed`]; throttling, 5xx,
//! timeouts and connection failures → [`PortError::Unavailable`]; anything else (a missing
//! table included) → [`PortError::Backend`]. An unreadable item (missing attribute, corrupt `doc`, malformed
//! cursor) → [`PortError::Invalid`].
//!
//! [`PortError::ConditionFailed`]: ec_domain::PortError::ConditionFailed
//! [`PortError::Unavailable`]: ec_domain::PortError::Unavailable
//! [`PortError::Backend`]: ec_domain::PortError::Backend
//! [`PortError::Invalid`]: ec_domain::PortError::Invalid

mod attrs;
mod audit;
mod catalog;
mod connections;
mod destinations;
mod idempotency;
mod jobs;
mod quotas;
mod schedules;
mod table;
mod versioned;

pub use audit::DynamoAuditLog;
pub use catalog::DynamoScanCatalog;
pub use connections::DynamoConnections;
pub use destinations::DynamoDestinations;
pub use idempotency::DynamoIdempotency;
pub use jobs::DynamoJobTable;
pub use quotas::DynamoQuotas;
pub use schedules::DynamoSchedules;

/// Name of the jobs table's GSI (PK `tenant_id`, SK `created_key`).
pub const JOBS_BY_CREATED_INDEX: &str = "by_created";
/// Name of the scans table's GSI (PK `tenant_id`, SK `scanned_key`).
pub const SCANS_BY_SCANNED_INDEX: &str = "by_scanned";
/// Name of the connections table's GSI (PK `tenant_id`).
pub const CONNECTIONS_BY_TENANT_INDEX: &str = "by_tenant";
