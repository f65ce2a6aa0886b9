//! The audit trail in SQLite: one row per entry, keyed by chain and `seq`. An append reads the
//! chain's last entry and inserts the next inside one immediate transaction, so concurrent
//! appends are serialised by the database and the chain never forks.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use ec_domain::PortError;
use ec_domain::audit::{AuditChain, AuditDraft, AuditEntry, AuditQuery};
use ec_domain::ports::{AuditLog, Page, PortResult};

use crate::db::Db;

/// [`AuditLog`] over the `audit` table.
#[derive(Debug, Clone)]
pub struct SqliteAuditLog {
    db: Db,
}

impl SqliteAuditLog {
    pub fn new(db: Db) -> Self {
        SqliteAuditLog { db }
    }
}

fn parse(doc: &str) -> Result<AuditEntry, PortError> {
    serde_json::from_str(doc).map_err(|e| PortError::Invalid(format!("audit entry: {e}")))
}

/// Rows read per round while filtering a listing.
const PAGE_ROWS: i64 = 500;

#[async_trait]
impl AuditLog for SqliteAuditLog {
    async fn append(&self, draft: &AuditDraft) -> PortResult<AuditEntry> {
        let draft = draft.clone();
        self.db
            .call(move |c| {
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let chain = draft.chain.as_str().to_string();
                let head: Option<String> = tx
                    .query_row(
                        "SELECT doc FROM audit WHERE chain = ?1 ORDER BY seq DESC LIMIT 1",
                        params![chain],
                        |r| r.get(0),
                    )
                    .optional()?;
                let head = head.as_deref().map(parse).transpose()?;
                let entry = draft.after(head.as_ref());
                let doc = serde_json::to_string(&entry).map_err(PortError::backend)?;
                tx.execute(
                    "INSERT INTO audit (chain, seq, doc) VALUES (?1, ?2, ?3)",
                    params![chain, entry.seq as i64, doc],
                )?;
                tx.commit()?;
                Ok(entry)
            })
            .await
    }

    async fn list(&self, chain: &AuditChain, query: &AuditQuery) -> PortResult<Page<AuditEntry>> {
        let (chain, query) = (chain.as_str().to_string(), query.clone());
        self.db
            .call(move |c| {
                let mut items = Vec::new();
                let newest_first = query.newest_first;
                let mut after = match (query.after_seq, newest_first) {
                    (Some(s), _) => s as i64,
                    (None, false) => 0,
                    (None, true) => i64::MAX,
                };
                let mut stmt = c.prepare(if newest_first {
                    "SELECT seq, doc FROM audit WHERE chain = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"
                } else {
                    "SELECT seq, doc FROM audit WHERE chain = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3"
                })?;
                loop {
                    let rows: Vec<(i64, String)> = stmt
                        .query_map(params![chain, after, PAGE_ROWS], |r| {
                            Ok((r.get(0)?, r.get(1)?))
                        })?
                        .collect::<Result<_, _>>()?;
                    let exhausted = (rows.len() as i64) < PAGE_ROWS;
                    for (seq, doc) in rows {
                        after = seq;
                        let e = parse(&doc)?;
                        if query.matches(&e) {
                            items.push(e);
                            if items.len() == query.limit {
                                return Ok(Page {
                                    items,
                                    next_cursor: Some(seq.to_string()),
                                });
                            }
                        }
                    }
                    if exhausted {
                        return Ok(Page {
                            items,
                            next_cursor: None,
                        });
                    }
                }
            })
            .await
    }
}
