//! The audit trail in DynamoDB: partition key `chain` (the tenant id or `_system`), sort key
//! `seq` (S: the number zero-padded to 20 digits, so text order is number order), the entry as JSON in `doc`. An append reads the chain's last entry (strongly
//! consistent) and writes the next with `attribute_not_exists(seq)`: of concurrent appenders
//! exactly one gets each `seq`, the others read the new head and try again (with jittered
//! back-off), so the chain never forks.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ec_domain::PortError;
use ec_domain::audit::{AuditChain, AuditDraft, AuditEntry, AuditQuery};
use ec_domain::ports::{AuditLog, Page, PortResult};

use super::attrs::{Item, port_error, read_doc, s, write_doc};
use super::table::Table;

const W: &str = "audit entry";
/// Appends that lose the race this many times in a row give up (`Unavailable`).
const MAX_ATTEMPTS: u32 = 100;
/// Items read per query page while filtering a listing.
const PAGE_ITEMS: i32 = 500;

/// [`AuditLog`] over one table (`EXPORTCENTER_AUDIT_TABLE`).
#[derive(Debug, Clone)]
pub struct DynamoAuditLog {
    table: Table,
}

impl DynamoAuditLog {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoAuditLog {
            table: Table::new(client, table),
        }
    }

    async fn head(&self, chain: &str) -> PortResult<Option<AuditEntry>> {
        let out = self
            .table
            .query()
            .key_condition_expression("#c = :c")
            .expression_attribute_names("#c", "chain")
            .expression_attribute_values(":c", s(chain))
            .scan_index_forward(false)
            .limit(1)
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| port_error("read the audit chain's head", e))?;
        out.items
            .unwrap_or_default()
            .first()
            .map(|item| read_doc(item, W))
            .transpose()
    }
}

/// The sort key of `seq`: fixed width, so the table orders entries by number.
fn seq_key(seq: u64) -> String {
    format!("{seq:020}")
}

/// A pause of up to `2^attempt` ms (capped at 50 ms), different for each appender.
fn backoff(attempt: u32) -> Duration {
    let cap = 1u64 << attempt.min(6);
    let jitter = u64::from(ulid::Ulid::new().random() as u32) % cap.clamp(1, 50);
    Duration::from_millis(jitter)
}

#[async_trait]
impl AuditLog for DynamoAuditLog {
    async fn append(&self, draft: &AuditDraft) -> PortResult<AuditEntry> {
        let chain = draft.chain.as_str();
        for attempt in 0..MAX_ATTEMPTS {
            let head = self.head(chain).await?;
            let entry = draft.after(head.as_ref());
            let mut item = Item::new();
            item.insert("chain".into(), s(chain));
            item.insert("seq".into(), s(seq_key(entry.seq)));
            item.insert("doc".into(), write_doc(&entry, W)?);
            let put = self
                .table
                .put_item()
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#s)")
                .expression_attribute_names("#s", "seq")
                .send()
                .await;
            match put.map_err(|e| port_error("append an audit entry", e)) {
                Ok(_) => return Ok(entry),
                Err(PortError::ConditionFailed(_)) => tokio::time::sleep(backoff(attempt)).await,
                Err(e) => return Err(e),
            }
        }
        Err(PortError::Unavailable(format!(
            "audit chain {chain}: {MAX_ATTEMPTS} appends in a row lost to other writers"
        )))
    }

    async fn list(&self, chain: &AuditChain, query: &AuditQuery) -> PortResult<Page<AuditEntry>> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        let (condition, after) = match (query.newest_first, query.after_seq) {
            (false, after) => ("#c = :c AND #s > :after", after.unwrap_or(0)),
            (true, Some(after)) => ("#c = :c AND #s < :after", after),
            // Past every seq: the whole chain, newest first.
            (true, None) => ("#c = :c AND #s < :after", u64::MAX),
        };
        loop {
            let out = self
                .table
                .query()
                .key_condition_expression(condition)
                .scan_index_forward(!query.newest_first)
                .expression_attribute_names("#c", "chain")
                .expression_attribute_names("#s", "seq")
                .expression_attribute_values(":c", s(chain.as_str()))
                .expression_attribute_values(":after", s(seq_key(after)))
                .limit(PAGE_ITEMS)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| port_error("list the audit chain", e))?;
            for item in out.items.unwrap_or_default() {
                let e: AuditEntry = read_doc(&item, W)?;
                if query.matches(&e) {
                    let seq = e.seq;
                    items.push(e);
                    if items.len() >= query.limit {
                        return Ok(Page {
                            items,
                            next_cursor: Some(seq.to_string()),
                        });
                    }
                }
            }
            match out.last_evaluated_key.filter(|k| !k.is_empty()) {
                Some(k) => start = Some(k),
                None => {
                    return Ok(Page {
                        items,
                        next_cursor: None,
                    });
                }
            }
        }
    }
}
