//! Export jobs in DynamoDB.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ec_domain::PortError;
use ec_domain::job::{Job, JobStatus};
use ec_domain::ports::{JobTable, Page, PortResult};
use serde::{Deserialize, Serialize};

use super::JOBS_BY_CREATED_INDEX;
use super::attrs::{Item, get_s, n, page_limit, port_error, read_doc, s, time_key, write_doc};

/// [`JobTable`] over a DynamoDB table keyed by (`tenant_id`, `export_id`), with the
/// `by_created` index for newest-first listings and optimistic concurrency on `version`.
/// See the [module documentation](super) for the schema.
#[derive(Debug, Clone)]
pub struct DynamoJobTable {
    client: Client,
    table: String,
}

impl DynamoJobTable {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoJobTable {
            client,
            table: table.into(),
        }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn key(tenant: &str, export_id: &str) -> Item {
        Item::from([
            ("tenant_id".to_string(), s(tenant)),
            ("export_id".to_string(), s(export_id)),
        ])
    }
}

fn what(tenant: &str, export_id: &str) -> String {
    format!("job {tenant}/{export_id}")
}

/// The item of one job: keys, the attributes queries and conditions use, and the document.
fn item_of(job: &Job) -> PortResult<Item> {
    let w = what(&job.tenant_id, &job.export_id);
    let mut item = DynamoJobTable::key(&job.tenant_id, &job.export_id);
    item.insert(
        "created_key".into(),
        s(time_key(job.created_at, &job.export_id)),
    );
    item.insert("status".into(), s(job.status.as_str()));
    item.insert("version".into(), n(job.version));
    if let Some(exp) = job.expires_at {
        // The row outlives retention by a grace period so downloads answer 410, not 404.
        item.insert(
            "expires_at".into(),
            n((exp + EXPIRED_ROW_GRACE).unix_timestamp()),
        );
    }
    item.insert("doc".into(), write_doc(job, &w)?);
    Ok(item)
}

/// The job of a stored item, checked against its key.
fn job_of(item: &Item) -> PortResult<Job> {
    let tenant = get_s(item, "tenant_id", "stored job")?;
    let export_id = get_s(item, "export_id", "stored job")?;
    let w = what(tenant, export_id);
    let job: Job = read_doc(item, &w)?;
    if job.tenant_id != tenant || job.export_id != export_id {
        return Err(PortError::Invalid(format!(
            "{w}: stored document is for {}/{}",
            job.tenant_id, job.export_id
        )));
    }
    Ok(job)
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
    fn decode(cursor: &str, tenant: &str) -> PortResult<Cursor> {
        let bad = || PortError::Invalid("malformed list cursor".into());
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
        let c: Cursor = serde_json::from_slice(&raw).map_err(|_| bad())?;
        if c.tenant_id != tenant || c.export_id.is_empty() || c.created_key.is_empty() {
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
        let w = what(&job.tenant_id, &job.export_id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(job)?))
            .condition_expression("attribute_not_exists(export_id)")
            .send()
            .await
            .map_err(|e| match port_error(&format!("create {w}"), e) {
                PortError::ConditionFailed(_) => {
                    PortError::ConditionFailed(format!("{w} already exists"))
                }
                other => other,
            })?;
        Ok(())
    }

    async fn get(&self, tenant: &str, export_id: &str) -> PortResult<Option<Job>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(tenant, export_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error(&format!("get {}", what(tenant, export_id)), e))?;
        out.item.as_ref().map(job_of).transpose()
    }

    async fn update(&self, job: &Job, expected_version: u64) -> PortResult<()> {
        let w = what(&job.tenant_id, &job.export_id);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item_of(job)?))
            .condition_expression("attribute_exists(export_id) AND #v = :expected")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":expected", n(expected_version))
            .send()
            .await
            .map_err(|e| match port_error(&format!("update {w}"), e) {
                PortError::ConditionFailed(_) => PortError::ConditionFailed(format!(
                    "{w} is missing or no longer at version {expected_version}"
                )),
                other => other,
            })?;
        Ok(())
    }

    async fn delete(&self, tenant: &str, export_id: &str) -> PortResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(tenant, export_id)))
            .send()
            .await
            .map_err(|e| port_error(&format!("delete {}", what(tenant, export_id)), e))?;
        Ok(())
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
        let mut start = cursor
            .map(|c| Cursor::decode(c, tenant))
            .transpose()?
            .map(Cursor::into_key);
        // One item more than asked tells whether another page exists. With a status filter
        // DynamoDB applies `Limit` before filtering, so pages may come back short (or empty):
        // keep querying until enough items matched or the index is exhausted. The cursor is
        // built from the last item returned, never from a page's LastEvaluatedKey, so it is
        // exact whatever the page boundaries were.
        let wanted = limit.saturating_add(1);
        let mut found: Vec<Item> = Vec::new();
        loop {
            let missing = wanted - found.len();
            let mut q = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(JOBS_BY_CREATED_INDEX)
                .key_condition_expression("#t = :t")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_values(":t", s(tenant))
                .scan_index_forward(false)
                .set_exclusive_start_key(start.take());
            q = match status {
                Some(st) => q
                    .filter_expression("#s = :s")
                    .expression_attribute_names("#s", "status")
                    .expression_attribute_values(":s", s(st.as_str()))
                    // Read ahead: most items may not match.
                    .limit(page_limit(missing.max(100))),
                None => q.limit(page_limit(missing)),
            };
            let out = q
                .send()
                .await
                .map_err(|e| port_error(&format!("list jobs of {tenant}"), e))?;
            found.extend(out.items.unwrap_or_default().into_iter().take(missing));
            if found.len() >= wanted {
                break;
            }
            match out.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        let more = found.len() > limit;
        found.truncate(limit);
        let next_cursor = match (more, found.last()) {
            (true, Some(last)) => Some(Cursor::of(last)?.encode()?),
            _ => None,
        };
        let items = found.iter().map(job_of).collect::<PortResult<Vec<_>>>()?;
        Ok(Page { items, next_cursor })
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
        assert_eq!(Cursor::decode(&enc, "acme").unwrap(), c);
        assert!(matches!(
            Cursor::decode(&enc, "globex"),
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
                matches!(Cursor::decode(bad, "acme"), Err(PortError::Invalid(_))),
                "{bad}"
            );
        }
    }
}
