//! Integration tests of the embedded adapters, on real SQLite files and directories: every
//! port's shared contract (`contract.rs`, from `ec-port-contract`) and what only the
//! embedded adapters promise (the other modules).

mod connections;
mod contract;
mod datadir;
mod db;
mod idempotency;
mod jobs;
mod objects;
mod presign;
mod queue;
mod schedules;

use ec_embedded::Db;
use tempfile::TempDir;

/// A fresh database file in a temporary directory (kept alive by the returned guard).
pub fn temp_db() -> (TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("test.db")).unwrap();
    (dir, db)
}
