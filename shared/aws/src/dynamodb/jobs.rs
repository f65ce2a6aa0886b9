//! Export jobs in DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ec_domain::PortError;
use ec_domain::job::{Job, JobStatus};
use ec_domain::ports::{JobTable, Page, PortResult};
use ec_domain::{ExportId, TenantId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::JOBS_BY_CREATED_INDEX;
use super::attrs::{Item, get_s, n, page_limit, read_pages, s, time_key};
use super::versioned::{Versioned, VersionedTable};

/// [`JobTable`] over a DynamoDB table keyed by (`tenant_id`, `export_id`), with the
/// `by_created` index for newest-first listings and optimistic concurrency on `version`: the
/// versioned-document table of jobs plus the listing. See the [module documentation](super) for
/// the schema.
#[derive(Debug, Clone)]
pub struct DynamoJobTable {
    docs: VersionedTable<Job>,
}

impl DynamoJobTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoJobTable {
            docs: VersionedTable::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.docs.table().name()
    }
}

impl Versioned for Job {
    const KIND: &'static str = "job";
    const ID_ATTR: &'static str = "export_id";

    fn key(&self) -> (&str, &str, u64) {
        (&self.tenant_id, &self.export_id, self.version)
    }

    fn index_attrs(&self, item: &mut Item) {
        item.insert(
            "created_key".into(),
            s(time_key(self.created_at, &self.export_id)),
        );
        item.insert("status".into(), s(self.status.as_str()));
        if let Some(exp) = self.expires_at {
            // The row outlives retention by a grace period so downloads answer 410, not 404.
            item.insert(
                "expires_at".into(),
                n((exp + EXPIRED_ROW_GRACE).unix_timestamp()),
            );
        }
        if let Some(due) = self.sweep_due() {
            item.insert("sweep_due".into(), n(due.unix_timestamp()));
        }
    }
}

/// The opaque list cursor: the `by_created` key of the last job returned (what DynamoDB
/// would give as `LastEvaluatedKey`), as base64url JSON.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Cursor {
    tenant_id: String,
    export_id: String,
    created_key: String,
}

impl Cursor {
    fn of(item: &Item) -> PortResult<Cursor> {
        Ok(Cursor {
            tenant_id: get_s(item, "tenant_id", "stored job")?.to_string(),
            export_id: get_s(item, "export_id", "stored job")?.to_string(),
            created_key: get_s(item, "created_key", "stored job")?.to_string(),
        })
    }

    fn encode(&self) -> PortResult<String> {
        let json = serde_json::to_vec(self)
            .map_err(|e| PortError::Invalid(format!("list cursor not serialisable: {e}")))?;
        Ok(URL_SAFE_NO_PAD.encode(json))
    }

    /// `Invalid` unless `cursor` is one of ours, for this tenant.
    fn decode(cursor: &str, tenant: &TenantId) -> PortResult<Cursor> {
        let bad = || PortError::Invalid("malformed list cursor".into());
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&raw).map_err(|_| bad())?;
        if c.tenant_id != tenant.as_str() || c.export_id.is_empty() || c.created_key.is_empty() {
            return Err(bad());
        }
        Ok(c)
    }

    fn into_key(self) -> Item {
        Item::from([
            ("tenant_id".to_string(), s(self.tenant_id)),
            ("export_id".to_string(), s(self.export_id)),
            ("created_key".to_string(), s(self.created_key)),
        ])
    }
}

#[async_trait]
impl JobTable for DynamoJobTable {
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
        let mut from = cursor
            .map(|c| Cursor::decode(c, tenant))
            .transpose()?
            .map(Cursor::into_key);
        // One item more than asked tells whether another page exists. With a status filter
        // DynamoDB applies `Limit` before filtering, so pages may come back short (or empty):
        // keep querying until enough items matched or the index is exhausted. The cursor is
        // built from the last item returned, never from a page's LastEvaluatedKey, so it is
        // exact whatever the page boundaries were.
        let what = format!("list jobs of {tenant}");
        let mut found = read_pages(limit.saturating_add(1), &what, |start, missing| {
            let q = self
                .docs
                .table()
                .query()
                .index_name(JOBS_BY_CREATED_INDEX)
                .key_condition_expression("#t = :t")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_values(":t", s(tenant))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.or_else(|| from.take()));
            match status {
                Some(st) => q
                    .filter_expression("#s = :s")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":s", s(st.as_str()))
                    // Read ahead: most items may not match.
                    .limit(page_limit(missing.max(100))),
                None => q.limit(page_limit(missing)),
            }
        })
        .await?;
        let more = found.len() > limit;
        found.truncate(limit);
        let next_cursor = match (more, found.last()) {
            (true, Some(last)) => Some(Cursor::of(last)?.encode()?),
            _ => None,
        };
        let items = found
            .iter()
            .map(VersionedTable::<Job>::decode)
            .collect::<PortResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor })
    }

    async fn sweepable(&self, now: OffsetDateTime, limit: usize) -> PortResult<Vec<Job>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Stored times are whole seconds, so `sweep_due <= now` is `<= floor(now)`.
        let mut due: Vec<(OffsetDateTime, Job)> = self
            .docs
            .scan_at_most("sweep_due", now.unix_timestamp())
            .await?
            .into_iter()
            .filter_map(|j| j.sweep_due().filter(|t| *t <= now).map(|t| (t, j)))
            .collect();
        due.sort_by(|(a, x), (b, y)| {
            (a, &x.tenant_id, &x.export_id).cmp(&(b, &y.tenant_id, &y.export_id))
        });
        due.truncate(limit);
        Ok(due.into_iter().map(|(_, j)| j).collect())
    }
}

/// How long an expired job stays readable before DynamoDB's TTL removes it.
const EXPIRED_ROW_GRACE: time::Duration = time::Duration::days(90);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = Cursor {
            tenant_id: "acme".into(),
            export_id: "exp-1".into(),
            created_key: "2024-12-24T00:26:40Z#exp-1".into(),
        };
        let enc = c.encode().unwrap();
        assert_eq!(Cursor::decode(&enc, &"acme".parse().unwrap()).unwrap(), c);
        assert!(matches!(
            Cursor::decode(&enc, &"globex".parse().unwrap()),
            Err(PortError::Invalid(_))
        ));
        for bad in [
            "",
            "!!!",
            &URL_SAFE_NO_PAD.encode("{}"),
            &URL_SAFE_NO_PAD.encode("[1]"),
            &URL_SAFE_NO_PAD.encode(r#"{"tenant_id":"acme","export_id":"","created_key":"k"}"#),
            &URL_SAFE_NO_PAD
                .encode(r#"{"tenant_id":"acme","export_id":"e","created_key":"k","x":1}"#),
        ] {
            assert!(
                matches!(
                    Cursor::decode(bad, &"acme".parse().unwrap()),
                    Err(PortError::Invalid(_))
                ),
                "{bad}"
            );
        }
    }
}
