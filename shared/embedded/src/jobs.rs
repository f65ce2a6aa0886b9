//! Export jobs in SQLite: the job as JSON, plus the columns the queries need.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ec_domain::PortError;
use ec_domain::job::{Job, JobStatus};
use ec_domain::ports::{JobTable, Page, PortResult};
use rusqlite::types::Value;
use rusqlite::{OptionalExtension, params, params_from_iter};

use crate::clock::to_ms;
use crate::db::{Db, DbError};

/// [`JobTable`] over the `jobs` table, keyed by (tenant, export id), with optimistic
/// concurrency on the job's `version`.
#[derive(Debug, Clone)]
pub struct SqliteJobTable {
    db: Db,
}

impl SqliteJobTable {
    pub fn new(db: Db) -> Self {
        SqliteJobTable { db }
    }

    /// Every tenant's jobs still `queued`, oldest first: at start-up, the process that owns
    /// the data directory re-sends their messages, since one that died between writing a
    /// job and sending its message left it with none.
    pub async fn queued(&self) -> PortResult<Vec<Job>> {
        self.db
            .call(|c| {
                let mut stmt = c.prepare(
                    "SELECT tenant, export_id, doc FROM jobs WHERE status = ?1
                     ORDER BY created_at, export_id",
                )?;
                let rows = stmt.query_map(params![JobStatus::Queued.as_str()], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                    ))
                })?;
                let mut jobs = Vec::new();
                for row in rows {
                    let (tenant, export_id, doc) = row?;
                    jobs.push(parse_job(&tenant, &export_id, &doc)?);
                }
                Ok(jobs)
            })
            .await
    }
}

/// The columns of one job row.
struct Row {
    tenant: String,
    export_id: String,
    status: &'static str,
    created_at: i64,
    version: i64,
    doc: String,
}

impl Row {
    fn of(job: &Job) -> PortResult<Row> {
        let version = i64::try_from(job.version)
            .map_err(|_| PortError::Invalid(format!("job version {} too large", job.version)))?;
        let doc = serde_json::to_string(job).map_err(|e| {
            PortError::Invalid(format!("job {} not serialisable: {e}", job.export_id))
        })?;
        Ok(Row {
            tenant: job.tenant_id.clone(),
            export_id: job.export_id.clone(),
            status: job.status.as_str(),
            created_at: to_ms(job.created_at),
            version,
            doc,
        })
    }
}

fn parse_job(tenant: &str, export_id: &str, doc: &str) -> Result<Job, DbError> {
    serde_json::from_str(doc).map_err(|e| {
        DbError::Port(PortError::Invalid(format!(
            "stored job {tenant}/{export_id} is unreadable: {e}"
        )))
    })
}

fn expected_i64(expected_version: u64) -> PortResult<i64> {
    i64::try_from(expected_version)
        .map_err(|_| PortError::Invalid(format!("job version {expected_version} too large")))
}

/// The opaque list cursor: the (created_at, export_id) of the last job returned.
fn encode_cursor(created_at: i64, export_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{created_at}:{export_id}"))
}

fn decode_cursor(cursor: &str) -> PortResult<(i64, String)> {
    let bad = || PortError::Invalid("malformed list cursor".into());
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (ms, id) = text.split_once(':').ok_or_else(bad)?;
    let ms: i64 = ms.parse().map_err(|_| bad())?;
    if id.is_empty() {
        return Err(bad());
    }
    Ok((ms, id.to_string()))
}

#[async_trait]
impl JobTable for SqliteJobTable {
    async fn create(&self, job: &Job) -> PortResult<()> {
        let row = Row::of(job)?;
        self.db
            .call(move |c| {
                let n = c.execute(
                    "INSERT INTO jobs (tenant, export_id, status, created_at, version, doc)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (tenant, export_id) DO NOTHING",
                    params![
                        row.tenant,
                        row.export_id,
                        row.status,
                        row.created_at,
                        row.version,
                        row.doc
                    ],
                )?;
                if n == 0 {
                    return Err(PortError::ConditionFailed(format!(
                        "job {}/{} already exists",
                        row.tenant, row.export_id
                    ))
                    .into());
                }
                Ok(())
            })
            .await
    }

    async fn get(&self, tenant: &str, export_id: &str) -> PortResult<Option<Job>> {
        let (tenant, export_id) = (tenant.to_string(), export_id.to_string());
        self.db
            .call(move |c| {
                let doc: Option<String> = c
                    .prepare_cached("SELECT doc FROM jobs WHERE tenant = ?1 AND export_id = ?2")?
                    .query_row(params![tenant, export_id], |r| r.get(0))
                    .optional()?;
                doc.map(|d| parse_job(&tenant, &export_id, &d)).transpose()
            })
            .await
    }

    async fn update(&self, job: &Job, expected_version: u64) -> PortResult<()> {
        let row = Row::of(job)?;
        let expected = expected_i64(expected_version)?;
        self.db
            .call(move |c| {
                let n = c.execute(
                    "UPDATE jobs SET status = ?3, created_at = ?4, version = ?5, doc = ?6
                     WHERE tenant = ?1 AND export_id = ?2 AND version = ?7",
                    params![
                        row.tenant,
                        row.export_id,
                        row.status,
                        row.created_at,
                        row.version,
                        row.doc,
                        expected
                    ],
                )?;
                if n == 0 {
                    return Err(PortError::ConditionFailed(format!(
                        "job {}/{} is missing or no longer at version {expected}",
                        row.tenant, row.export_id
                    ))
                    .into());
                }
                Ok(())
            })
            .await
    }

    async fn delete(&self, tenant: &str, export_id: &str) -> PortResult<()> {
        let (tenant, export_id) = (tenant.to_string(), export_id.to_string());
        self.db
            .call(move |c| {
                c.execute(
                    "DELETE FROM jobs WHERE tenant = ?1 AND export_id = ?2",
                    params![tenant, export_id],
                )?;
                Ok(())
            })
            .await
    }

    async fn list(
        &self,
        tenant: &str,
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
        let after = cursor.map(decode_cursor).transpose()?;
        let tenant = tenant.to_string();
        self.db
            .call(move |c| {
                let mut sql =
                    String::from("SELECT export_id, created_at, doc FROM jobs WHERE tenant = ?");
                let mut args: Vec<Value> = vec![Value::Text(tenant.clone())];
                if let Some(s) = status {
                    sql.push_str(" AND status = ?");
                    args.push(Value::Text(s.as_str().to_string()));
                }
                if let Some((ms, id)) = after {
                    sql.push_str(" AND (created_at, export_id) < (?, ?)");
                    args.push(Value::Integer(ms));
                    args.push(Value::Text(id));
                }
                sql.push_str(" ORDER BY created_at DESC, export_id DESC LIMIT ?");
                // One row more than asked tells whether another page exists.
                args.push(Value::Integer(
                    i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1),
                ));
                let mut stmt = c.prepare_cached(&sql)?;
                let rows = stmt
                    .query_map(params_from_iter(args), |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, i64>(1)?,
                            r.get::<_, String>(2)?,
                        ))
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                let more = rows.len() > limit;
                let mut items = Vec::with_capacity(rows.len().min(limit));
                let mut last = None;
                for (export_id, created_at, doc) in rows.into_iter().take(limit) {
                    items.push(parse_job(&tenant, &export_id, &doc)?);
                    last = Some((created_at, export_id));
                }
                let next_cursor = match (more, last) {
                    (true, Some((ms, id))) => Some(encode_cursor(ms, &id)),
                    _ => None,
                };
                Ok(Page { items, next_cursor })
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = encode_cursor(1_700_000_000_123, "exp-01:x");
        assert_eq!(
            decode_cursor(&c).unwrap(),
            (1_700_000_000_123, "exp-01:x".to_string())
        );
        for bad in [
            "",
            "!!!",
            &URL_SAFE_NO_PAD.encode("nocolon"),
            &URL_SAFE_NO_PAD.encode("x:y"),
            &URL_SAFE_NO_PAD.encode("5:"),
        ] {
            assert!(
                matches!(decode_cursor(bad), Err(PortError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
