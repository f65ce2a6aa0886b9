//! The SQLite database every embedded adapter shares.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use ec_domain::PortError;
use ec_domain::messages::QueueName;
use rusqlite::{Connection, ErrorCode};
use tokio::sync::Notify;

/// How long a statement waits for a lock held by another connection before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Schema migrations, applied in order inside one transaction each. `PRAGMA user_version`
/// records how many have been applied. Append new migrations at the end; never edit or
/// reorder released ones.
const MIGRATIONS: &[&str] = &[
    // 1: jobs, idempotency keys, scan catalogue, WebSocket connections, work queue.
    r#"
    CREATE TABLE jobs (
        tenant      TEXT    NOT NULL,
        export_id   TEXT    NOT NULL,
        status      TEXT    NOT NULL,
        created_at  INTEGER NOT NULL, -- unix ms
        version     INTEGER NOT NULL,
        doc         TEXT    NOT NULL, -- the Job as JSON
        PRIMARY KEY (tenant, export_id)
    ) WITHOUT ROWID;
    CREATE INDEX jobs_by_time ON jobs (tenant, created_at DESC, export_id DESC);
    CREATE INDEX jobs_by_status_time ON jobs (tenant, status, created_at DESC, export_id DESC);

    CREATE TABLE idempotency (
        tenant       TEXT    NOT NULL,
        key          TEXT    NOT NULL,
        request_hash TEXT    NOT NULL,
        export_id    TEXT    NOT NULL,
        expires_at   INTEGER NOT NULL, -- unix ms
        PRIMARY KEY (tenant, key)
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_by_expiry ON idempotency (expires_at);

    CREATE TABLE scans (
        tenant     TEXT    NOT NULL,
        scan_id    TEXT    NOT NULL,
        scanned_at INTEGER NOT NULL, -- unix ms
        doc        TEXT    NOT NULL, -- the ScanSummary as JSON
        PRIMARY KEY (tenant, scan_id)
    ) WITHOUT ROWID;
    CREATE INDEX scans_by_time ON scans (tenant, scanned_at, scan_id);

    CREATE TABLE connections (
        connection_id TEXT    NOT NULL PRIMARY KEY,
        tenant        TEXT    NOT NULL,
        expires_at    INTEGER NOT NULL -- unix ms
    ) WITHOUT ROWID;
    CREATE INDEX connections_by_tenant ON connections (tenant, connection_id);
    CREATE INDEX connections_by_expiry ON connections (expires_at);

    CREATE TABLE queue_messages (
        id            INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: FIFO order
        queue         TEXT    NOT NULL,
        body          TEXT    NOT NULL,
        sent_at       INTEGER NOT NULL, -- unix ms
        visible_at    INTEGER NOT NULL, -- unix ms
        receive_count INTEGER NOT NULL DEFAULT 0,
        receipt       TEXT              -- receipt of the latest delivery
    );
    CREATE INDEX queue_fifo ON queue_messages (queue, id);
    CREATE INDEX queue_visibility ON queue_messages (queue, visible_at);
    CREATE UNIQUE INDEX queue_receipts ON queue_messages (receipt) WHERE receipt IS NOT NULL;

    CREATE TABLE queue_dead_letters (
        id            INTEGER PRIMARY KEY, -- the message's id in queue_messages
        queue         TEXT    NOT NULL,
        body          TEXT    NOT NULL,
        sent_at       INTEGER NOT NULL,
        receive_count INTEGER NOT NULL,
        dead_at       INTEGER NOT NULL
    );
    CREATE INDEX dead_letters_by_queue ON queue_dead_letters (queue, id);
    "#,
    // 2: recurring export schedules.
    r#"
    CREATE TABLE schedules (
        tenant      TEXT    NOT NULL,
        schedule_id TEXT    NOT NULL,
        created_at  INTEGER NOT NULL, -- unix ms
        next_run_at INTEGER,          -- unix ms; NULL: never fires
        version     INTEGER NOT NULL,
        doc         TEXT    NOT NULL, -- the Schedule as JSON
        PRIMARY KEY (tenant, schedule_id)
    ) WITHOUT ROWID;
    CREATE INDEX schedules_by_time ON schedules (tenant, created_at, schedule_id);
    CREATE INDEX schedules_due ON schedules (next_run_at) WHERE next_run_at IS NOT NULL;
    "#,
    // 3: the audit trail, one hash chain per tenant (and `_system`).
    r#"
    CREATE TABLE audit (
        chain  TEXT    NOT NULL,
        seq    INTEGER NOT NULL,
        doc    TEXT    NOT NULL, -- the AuditEntry as JSON
        PRIMARY KEY (chain, seq)
    ) WITHOUT ROWID;
    "#,
    // 4: per-tenant export quotas: concurrent slots by export, requests per minute.
    r#"
    CREATE TABLE quota_slots (
        tenant      TEXT    NOT NULL,
        export_id   TEXT    NOT NULL,
        reserved_at INTEGER NOT NULL, -- unix ms
        PRIMARY KEY (tenant, export_id)
    ) WITHOUT ROWID;
    CREATE TABLE quota_windows (
        tenant       TEXT    NOT NULL,
        window_start INTEGER NOT NULL, -- unix seconds, a whole minute
        used         INTEGER NOT NULL,
        PRIMARY KEY (tenant, window_start)
    ) WITHOUT ROWID;
    "#,
    // 5: delivery destinations, and their secrets (AES-256-GCM, the key in the data dir).
    r#"
    CREATE TABLE destinations (
        tenant         TEXT    NOT NULL,
        destination_id TEXT    NOT NULL,
        created_at     INTEGER NOT NULL, -- unix ms
        version        INTEGER NOT NULL,
        doc            TEXT    NOT NULL, -- the Destination as JSON (no secret)
        PRIMARY KEY (tenant, destination_id)
    ) WITHOUT ROWID;
    CREATE TABLE destination_secrets (
        tenant         TEXT NOT NULL,
        destination_id TEXT NOT NULL,
        sealed         BLOB NOT NULL, -- nonce (12 bytes) || ciphertext || tag
        PRIMARY KEY (tenant, destination_id)
    ) WITHOUT ROWID;
    "#,
    // 6: the retention sweeper's due time (`Job::sweep_due`), unix ms; NULL when it has
    // nothing to do. Filled for the jobs already stored: ready and not held.
    r#"
    ALTER TABLE jobs ADD COLUMN sweep_due INTEGER;
    UPDATE jobs SET sweep_due = CAST(strftime('%s', json_extract(doc, '$.expires_at')) AS INTEGER) * 1000
     WHERE status = 'ready'
       AND json_extract(doc, '$.expires_at') IS NOT NULL
       AND COALESCE(json_extract(doc, '$.legal_hold'), 0) = 0;
    CREATE INDEX jobs_sweep_due ON jobs (sweep_due) WHERE sweep_due IS NOT NULL;
    "#,
];

/// Errors inside a database closure: SQLite's own, or a port error raised by the closure.
/// Converts into [`PortError`]: busy/locked databases become `Unavailable`, the rest
/// `Backend`.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Sql(#[from] rusqlite::Error),
    #[error(transparent)]
    Port(#[from] PortError),
}

impl From<DbError> for PortError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Port(p) => p,
            DbError::Sql(e) => match e.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
                    PortError::Unavailable(format!("database busy: {e}"))
                }
                _ => PortError::Backend(format!("sqlite: {e}")),
            },
        }
    }
}

/// Wake-ups for queue consumers, one per queue, shared by every handle on the database.
pub(crate) struct QueueSignals {
    by_queue: HashMap<QueueName, Notify>,
    fallback: Notify,
}

impl QueueSignals {
    fn new() -> Self {
        QueueSignals {
            by_queue: QueueName::ALL.iter().map(|q| (*q, Notify::new())).collect(),
            fallback: Notify::new(),
        }
    }

    pub(crate) fn get(&self, queue: QueueName) -> &Notify {
        self.by_queue.get(&queue).unwrap_or(&self.fallback)
    }
}

/// One SQLite database file (WAL mode, `synchronous=NORMAL`), migrated on open. Cheap to
/// clone; all clones share one connection behind a mutex, used from blocking threads so
/// async callers never block the runtime.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
    signals: Arc<QueueSignals>,
    path: Option<PathBuf>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").field("path", &self.path).finish()
    }
}

impl Db {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    /// Blocking: call it at start-up (or inside `spawn_blocking`).
    pub fn open(path: impl AsRef<Path>) -> Result<Db, PortError> {
        let path = path.as_ref();
        let conn = Connection::open(path).map_err(|e| {
            PortError::Backend(format!("cannot open database {}: {e}", path.display()))
        })?;
        let journal: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(DbError::from)?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(PortError::Backend(format!(
                "database {} refused WAL mode (journal_mode={journal})",
                path.display()
            )));
        }
        Self::setup(conn, Some(path.to_path_buf()))
    }

    /// A private in-memory database (for tests of code built on these adapters).
    pub fn open_in_memory() -> Result<Db, PortError> {
        let conn = Connection::open_in_memory().map_err(DbError::from)?;
        Self::setup(conn, None)
    }

    fn setup(mut conn: Connection, path: Option<PathBuf>) -> Result<Db, PortError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(DbError::from)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(DbError::from)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(DbError::from)?;
        migrate(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
            signals: Arc::new(QueueSignals::new()),
            path,
        })
    }

    /// The database file, `None` for an in-memory database.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version (`PRAGMA user_version`): the number of migrations applied.
    pub async fn schema_version(&self) -> Result<u32, PortError> {
        self.call(|c| Ok(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
            .await
    }

    /// The number of migrations this build knows.
    pub fn latest_schema_version() -> u32 {
        u32::try_from(MIGRATIONS.len()).unwrap_or(u32::MAX)
    }

    /// Runs `f` with the connection on a blocking thread. Closures may use `?` on both
    /// `rusqlite::Error` and `PortError`.
    pub async fn call<T, F>(&self, f: F) -> Result<T, PortError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, DbError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = lock(&conn);
            f(&mut guard).map_err(PortError::from)
        })
        .await
        .map_err(|e| PortError::Backend(format!("database task failed: {e}")))?
    }

    pub(crate) fn signals(&self) -> &QueueSignals {
        &self.signals
    }
}

/// Locks the connection. A panic inside an earlier closure poisons the mutex, but the
/// connection itself stays sound (an open transaction is rolled back when it is dropped
/// during unwinding), so the poison is cleared rather than failing every later call.
fn lock(conn: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    conn.lock().unwrap_or_else(|poisoned: PoisonError<_>| {
        tracing::warn!("database mutex was poisoned by a panic; recovering");
        conn.clear_poison();
        poisoned.into_inner()
    })
}

fn migrate(conn: &mut Connection) -> Result<(), PortError> {
    let known = MIGRATIONS.len();
    loop {
        // The version is read inside the exclusive transaction, so two processes opening
        // a fresh file at once cannot both apply the same migration.
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Exclusive)
            .map_err(DbError::from)?;
        let current: i64 = tx
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(DbError::from)?;
        let current = usize::try_from(current)
            .map_err(|_| PortError::Backend(format!("bad database schema version {current}")))?;
        if current > known {
            return Err(PortError::Backend(format!(
                "database schema version {current} is newer than this build knows ({known}); \
                 upgrade ExportCenter"
            )));
        }
        let Some(sql) = MIGRATIONS.get(current) else {
            return Ok(());
        };
        let version = current + 1;
        tx.execute_batch(sql)
            .map_err(|e| PortError::Backend(format!("migration {version} failed: {e}")))?;
        tx.pragma_update(None, "user_version", version as i64)
            .map_err(DbError::from)?;
        tx.commit().map_err(DbError::from)?;
        tracing::info!(version, "applied database migration");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A data dir made before the sweeper: its ready jobs become due at their retention's
    /// end; held and unfinished ones do not.
    #[test]
    fn migration_6_fills_the_sweepers_column() {
        let mut conn = Connection::open_in_memory().unwrap();
        for sql in &MIGRATIONS[..5] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 5).unwrap();
        let row = |id: &str, status: &str, doc: &str| {
            conn.execute(
                "INSERT INTO jobs (tenant, export_id, created_at, status, version, doc)
                 VALUES ('acme', ?1, 0, ?2, 1, ?3)",
                rusqlite::params![id, status, doc],
            )
            .unwrap();
        };
        row(
            "exp-ready",
            "ready",
            r#"{"expires_at":"2024-12-24T00:26:40Z","legal_hold":false}"#,
        );
        row(
            "exp-old",
            "ready",
            r#"{"expires_at":"2024-12-24T00:26:40Z"}"#,
        );
        row(
            "exp-held",
            "ready",
            r#"{"expires_at":null,"legal_hold":true}"#,
        );
        row("exp-running", "running", r#"{"expires_at":null}"#);
        migrate(&mut conn).unwrap();
        let mut stmt = conn
            .prepare("SELECT export_id, sweep_due FROM jobs ORDER BY export_id")
            .unwrap();
        let got: Vec<(String, Option<i64>)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let due = Some(1_735_000_000_000);
        assert_eq!(
            got,
            [
                ("exp-held".to_string(), None),
                ("exp-old".to_string(), due),
                ("exp-ready".to_string(), due),
                ("exp-running".to_string(), None),
            ]
        );
    }
}
