//! Export jobs in SQLite: the job as JSON, plus the columns the queries need (`status`,
//! `created_at`, and the sweeper's `sweep_due`), in the versioned-document table.

use async_trait::async_trait;
use ec_domain::job::{Job, JobStatus};
use ec_domain::ports::{JobTable, Page, PortResult};
use ec_domain::{ExportId, TenantId};
use rusqlite::types::Value;
use time::OffsetDateTime;

use crate::clock::to_ms;
use crate::cursor;
use crate::db::Db;
use crate::versioned::{Versioned, VersionedTable, limit_value};

/// [`JobTable`] over the `jobs` table, keyed by (tenant, export id), with optimistic
/// concurrency on the job's `version`: the versioned-document table of jobs plus the
/// listing.
#[derive(Debug, Clone)]
pub struct SqliteJobTable {
    docs: VersionedTable<Job>,
}

impl SqliteJobTable {
    pub fn new(db: Db) -> Self {
        SqliteJobTable {
            docs: VersionedTable::new(db),
        }
    }

    /// Every tenant's jobs still `queued`, oldest first: at start-up, the process that owns
    /// the data directory re-sends their messages, since one that died between writing a
    /// job and sending its message left it with none.
    pub async fn queued(&self) -> PortResult<Vec<Job>> {
        self.docs
            .select(
                "WHERE status = ? ORDER BY created_at, export_id".into(),
                vec![Value::Text(JobStatus::Queued.as_str().to_string())],
            )
            .await
    }
}

impl Versioned for Job {
    const KIND: &'static str = "job";
    const TABLE: &'static str = "jobs";
    const ID_COLUMN: &'static str = "export_id";
    const COLUMNS: &'static [&'static str] = &["status", "created_at", "sweep_due"];

    fn key(&self) -> (&str, &str, u64) {
        (&self.tenant_id, &self.export_id, self.version)
    }

    fn column_values(&self) -> Vec<Value> {
        vec![
            Value::Text(self.status.as_str().to_string()),
            Value::Integer(to_ms(self.created_at)),
            self.sweep_due()
                .map_or(Value::Null, |t| Value::Integer(to_ms(t))),
        ]
    }
}

#[async_trait]
impl JobTable for SqliteJobTable {
    async fn create(&self, job: &Job) -> PortResult<()> {
        self.docs.create(job).await
    }

    async fn get(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<Option<Job>> {
        self.docs.get(tenant, export_id).await
    }

    async fn update(&self, job: &Job, expected_version: u64) -> PortResult<()> {
        self.docs.update(job, expected_version).await
    }

    async fn delete(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<()> {
        self.docs.delete(tenant, export_id).await
    }

    async fn list(
        &self,
        tenant: &TenantId,
        status: Option<JobStatus>,
        limit: usize,
        cursor: Option<&str>,
    ) -> PortResult<Page<Job>> {
        if limit == 0 {
            return Ok(Page {
                items: Vec::new(),
                next_cursor: None,
            });
        }
        let after = cursor.map(cursor::decode).transpose()?;
        let mut clause = String::from("WHERE tenant = ?");
        let mut args: Vec<Value> = vec![Value::Text(tenant.to_string())];
        if let Some(s) = status {
            clause.push_str(" AND status = ?");
            args.push(Value::Text(s.as_str().to_string()));
        }
        if let Some((ms, id)) = after {
            clause.push_str(" AND (created_at, export_id) < (?, ?)");
            args.push(Value::Integer(ms));
            args.push(Value::Text(id));
        }
        clause.push_str(" ORDER BY created_at DESC, export_id DESC LIMIT ?");
        // One row more than asked tells whether another page exists.
        args.push(limit_value(limit.saturating_add(1)));
        let mut rows = self.docs.select_rows(clause, args).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        // The cursor holds the stored column: documents keep whole seconds only.
        let next_cursor = match (more, rows.last()) {
            (true, Some(last)) => Some(cursor::encode(
                last.integer("created_at")?,
                &last.doc.export_id,
            )),
            _ => None,
        };
        Ok(Page {
            items: rows.into_iter().map(|r| r.doc).collect(),
            next_cursor,
        })
    }

    async fn sweepable(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Job>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.docs
            .select(
                "WHERE sweep_due IS NOT NULL AND sweep_due <= ?1
                 ORDER BY sweep_due, tenant, export_id LIMIT ?2"
                    .into(),
                vec![Value::Integer(to_ms(now)), limit_value(limit)],
            )
            .await
    }
}
