//! The contract of every port in `ec_domain::ports`, written once as test suites and run
//! against both adapter sets: `shared/embedded/tests` (SQLite, files) and `shared/aws/tests`
//! (DynamoDB, S3, SQS on a moto server). Before this crate each set had its own copy of the
//! same tests, and the copies had started to drift.
//!
//! Each suite is an async function that panics on the first broken promise. Suites that
//! need an empty store take `fresh`, an async factory called once per scenario; the store
//! it returns must be new and empty (a new database file, table, bucket or queue). What a
//! suite cannot do in a backend-neutral way (corrupting a stored document, reading the
//! notifications an object store sent) it asks of the caller through a hook.
//!
//! Only what the ports promise is checked here; what one backend adds (SQLite durability,
//! DynamoDB item layout and TTL attributes, S3 checksums and presigned URLs, SQS redrive
//! policies) stays in that backend's own tests.

pub mod audit;
pub mod catalog;
pub mod connections;
pub mod destinations;
pub mod fixtures;
pub mod idempotency;
pub mod jobs;
pub mod objects;
pub mod queue;
pub mod quotas;
pub mod schedules;
pub mod trigger;

pub use audit::audit_log;
pub use catalog::{scan_catalog, scan_catalog_rejects_corrupt_documents};
pub use connections::connection_registry;
pub use destinations::{destination_secrets, destination_store};
pub use idempotency::idempotency_store;
pub use jobs::{job_table, job_table_rejects_corrupt_documents};
pub use objects::{object_store, object_store_notifies_report_puts};
pub use queue::work_queue;
pub use quotas::quotas;
pub use schedules::{schedule_store, schedule_store_rejects_corrupt_documents};
pub use trigger::schedule_trigger;
