//! Every port contract of `ec-port-contract`, run against the embedded adapters: each
//! scenario gets its own SQLite file or object directory under one temporary directory.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ec_domain::messages::QueueName;
use ec_embedded::{
    Db, FsObjectStore, NoopTrigger, SqliteConnections, SqliteDestinationSecrets,
    SqliteDestinations, SqliteIdempotency, SqliteJobTable, SqliteQueue, SqliteQuotas,
    SqliteScanCatalog, SqliteSchedules,
};
use tempfile::TempDir;

use super::objects::{Recorder, SECRET};

/// Fresh databases and directories, numbered, under one temporary directory.
struct Scratch {
    dir: TempDir,
    next: AtomicUsize,
}

impl Scratch {
    fn new() -> Scratch {
        Scratch {
            dir: tempfile::tempdir().unwrap(),
            next: AtomicUsize::new(0),
        }
    }

    fn path(&self, ext: &str) -> PathBuf {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        self.dir.path().join(format!("{n}{ext}"))
    }

    fn db(&self) -> Db {
        Db::open(self.path(".db")).unwrap()
    }

    fn objects(&self, queue: Arc<Recorder>) -> FsObjectStore {
        FsObjectStore::new(self.path(""), queue, SECRET.to_vec()).unwrap()
    }
}

/// Overwrites the stored document of one row of `table` with something that is not JSON.
async fn corrupt(db: &Db, table: &str, id_column: &str, tenant: &str, id: &str) {
    let sql =
        format!("UPDATE {table} SET doc = '{{not json' WHERE tenant = ?1 AND {id_column} = ?2");
    let (tenant, id) = (tenant.to_string(), id.to_string());
    let n = db
        .call(move |c| Ok(c.execute(&sql, [tenant, id])?))
        .await
        .unwrap();
    assert_eq!(n, 1, "one row corrupted");
}

#[tokio::test]
async fn job_table() {
    let s = Scratch::new();
    ec_port_contract::job_table(async || SqliteJobTable::new(s.db())).await;
}

#[tokio::test]
async fn job_table_rejects_corrupt_documents() {
    let s = Scratch::new();
    let db = s.db();
    let store = SqliteJobTable::new(db.clone());
    ec_port_contract::job_table_rejects_corrupt_documents(&store, async |tenant, id| {
        corrupt(&db, "jobs", "export_id", tenant, id).await
    })
    .await;
}

#[tokio::test]
async fn schedule_store() {
    let s = Scratch::new();
    ec_port_contract::schedule_store(async || SqliteSchedules::new(s.db())).await;
}

#[tokio::test]
async fn schedule_store_rejects_corrupt_documents() {
    let s = Scratch::new();
    let db = s.db();
    let store = SqliteSchedules::new(db.clone());
    ec_port_contract::schedule_store_rejects_corrupt_documents(&store, async |tenant, id| {
        corrupt(&db, "schedules", "schedule_id", tenant, id).await
    })
    .await;
}

#[tokio::test]
async fn schedule_trigger() {
    ec_port_contract::schedule_trigger(&NoopTrigger).await;
}

#[tokio::test]
async fn audit_log() {
    let s = Scratch::new();
    ec_port_contract::audit_log(async || ec_embedded::SqliteAuditLog::new(s.db())).await;
}

#[tokio::test]
async fn idempotency_store() {
    let s = Scratch::new();
    ec_port_contract::idempotency_store(async || SqliteIdempotency::new(s.db())).await;
}

#[tokio::test]
async fn connection_registry() {
    let s = Scratch::new();
    let db = s.db();
    ec_port_contract::connection_registry(&SqliteConnections::new(db)).await;
}

#[tokio::test]
async fn scan_catalog() {
    let s = Scratch::new();
    let db = s.db();
    ec_port_contract::scan_catalog(&SqliteScanCatalog::new(db)).await;
}

#[tokio::test]
async fn scan_catalog_rejects_corrupt_documents() {
    let s = Scratch::new();
    let db = s.db();
    let store = SqliteScanCatalog::new(db.clone());
    ec_port_contract::scan_catalog_rejects_corrupt_documents(&store, async |tenant, id| {
        corrupt(&db, "scans", "scan_id", tenant, id).await
    })
    .await;
}

#[tokio::test]
async fn work_queue() {
    let s = Scratch::new();
    ec_port_contract::work_queue(async || SqliteQueue::new(s.db())).await;
}

#[tokio::test]
async fn object_store() {
    let s = Scratch::new();
    ec_port_contract::object_store(async || s.objects(Arc::new(Recorder::default()))).await;
}

#[tokio::test]
async fn object_store_notifies_report_puts() {
    let rec = Arc::new(Recorder::default());
    let s = Scratch::new();
    let store = s.objects(rec.clone());
    ec_port_contract::object_store_notifies_report_puts(&store, async || {
        let sent = rec.sent.lock().unwrap().clone();
        assert!(sent.iter().all(|(q, _)| *q == QueueName::Seal));
        sent.into_iter().map(|(_, body)| body).collect()
    })
    .await;
}

#[tokio::test]
async fn quotas() {
    let s = Scratch::new();
    ec_port_contract::quotas(async || SqliteQuotas::new(s.db())).await;
}

#[tokio::test]
async fn destination_store() {
    let s = Scratch::new();
    ec_port_contract::destination_store(&SqliteDestinations::new(s.db())).await;
}

#[tokio::test]
async fn destination_secrets() {
    let s = Scratch::new();
    let db = s.db();
    let secrets = SqliteDestinationSecrets::new(db.clone(), &[7u8; 32]).unwrap();
    ec_port_contract::destination_secrets(&secrets).await;
    // Sealed at rest: the stored bytes are not the secret, and another key cannot open them.
    let (tenant, id) = ("acme".parse().unwrap(), "dst-r".parse().unwrap());
    let secret = ec_domain::destination::Secret::new("whsec_plain-text-would-show");
    ec_domain::ports::DestinationSecrets::put(&secrets, &tenant, &id, &secret)
        .await
        .unwrap();
    let stored: Vec<u8> = db
        .call(|c| {
            Ok(c.query_row(
                "SELECT sealed FROM destination_secrets WHERE destination_id = 'dst-r'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert!(!stored.windows(10).any(|w| w == b"whsec_plai"));
    let other = SqliteDestinationSecrets::new(db, &[8u8; 32]).unwrap();
    assert!(matches!(
        ec_domain::ports::DestinationSecrets::get(&other, &tenant, &id).await,
        Err(ec_domain::PortError::Invalid(_))
    ));
}
