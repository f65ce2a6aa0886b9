//! ExportCenter's embedded stack: single-machine adapters for the domain ports, with no cloud.
//!
//! - [`DataDir`]: the data directory, locked by the one process that owns it, with the
//!   database path, the objects root and secrets.
//! - [`Db`]: one SQLite file (WAL) with schema migrations; every adapter below shares it.
//! - [`SqliteJobTable`], [`SqliteIdempotency`], [`SqliteScanCatalog`], [`SqliteConnections`]:
//!   the tables (jobs and schedules share one versioned-document table implementation).
//! - [`SqliteQuotas`]: per-tenant export quotas (concurrent slots, requests per minute).
//! - [`SqliteSchedules`]: recurring export schedules (with `due` for the scheduler loop),
//!   and [`NoopTrigger`]: nothing to register, the loop reads the table.
//! - [`SqliteQueue`]: a durable work queue with SQS semantics (visibility timeout, receive
//!   count, dead letters) and in-process wake-ups.
//! - [`FsObjectStore`]: objects as files, atomic writes, presigned download URLs, and
//!   object-created notifications for report keys (the S3 → SQS imitation).
//! - [`Hub`]: live WebSocket connections of this process (the Management API imitation).
//! - [`Embedded`]: the builder that opens a data directory and wires all of them into
//!   [`Ports`](ec_domain::ports::Ports).

mod audit;
mod catalog;
mod clock;
mod connections;
mod cursor;
mod datadir;
mod db;
mod destinations;
mod hub;
mod idempotency;
mod jobs;
mod objects;
mod presign;
mod queue;
mod quotas;
mod schedules;
mod versioned;
mod wiring;

pub use audit::SqliteAuditLog;
pub use catalog::SqliteScanCatalog;
pub use connections::SqliteConnections;
pub use datadir::{DataDir, DataDirError};
pub use db::{Db, DbError};
pub use destinations::{SqliteDestinationSecrets, SqliteDestinations};
pub use ec_domain::keys::validate_key;
pub use hub::Hub;
pub use idempotency::SqliteIdempotency;
pub use jobs::SqliteJobTable;
pub use objects::FsObjectStore;
pub use presign::{PresignError, sign_presigned, verify_presigned};
pub use queue::{DEFAULT_MAX_RECEIVES, DeadLetter, QueueDepth, SqliteQueue};
pub use quotas::SqliteQuotas;
pub use schedules::{NoopTrigger, SqliteSchedules};
pub use wiring::{Embedded, EmbeddedConfig, WiringError};
