//! `Idempotency-Key` records in DynamoDB.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::types::ReturnValuesOnConditionCheckFailure;
use ec_domain::PortError;
use ec_domain::ports::{Claim, IdempotencyStore, PortResult};
use ec_domain::{ExportId, TenantId};

use super::attrs::{Item, after_ms, get_i64, get_s, n, now_ms, port_error, s, ttl_seconds};
use super::table::Table;

/// How often a claim is retried when the record it lost to vanished before it could be read
/// (released or expired in between).
const CLAIM_ATTEMPTS: usize = 4;

/// [`IdempotencyStore`] over a DynamoDB table keyed by (`tenant_id`, `idem_key`). A record
/// lives for the `ttl` given when it was claimed (`expires_at_ms`, exact); once expired the
/// key can be claimed afresh even before DynamoDB's TTL (`expires_at`) removes the row.
#[derive(Debug, Clone)]
pub struct DynamoIdempotency {
    table: Table,
}

enum Attempt {
    Done(Claim),
    /// Lost to a record that was gone (or expired) when read back: try again.
    Retry,
}

impl DynamoIdempotency {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoIdempotency {
            table: Table::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.table.name()
    }

    fn key(tenant: &TenantId, key: &str) -> Item {
        Item::from([
            ("tenant_id".to_string(), s(tenant)),
            ("idem_key".to_string(), s(key)),
        ])
    }

    /// The claim a live stored record stands for; `None` when it expired by `now`.
    fn existing(item: &Item, now: i64) -> PortResult<Option<Claim>> {
        const W: &str = "stored idempotency record";
        if get_i64(item, "expires_at_ms", W)? <= now {
            return Ok(None);
        }
        Ok(Some(Claim::Existing {
            request_hash: get_s(item, "request_hash", W)?.to_string(),
            export_id: ExportId::parse(get_s(item, "export_id", W)?)
                .map_err(|e| PortError::Invalid(format!("{W}: {e}")))?,
        }))
    }

    /// One conditional write of `record` (the item at `key` but for its expiry, which is
    /// `ttl` from now) over a missing or expired one; `what` names the key in errors.
    async fn attempt(
        &self,
        what: &str,
        key: &Item,
        mut record: Item,
        ttl: Duration,
    ) -> PortResult<Attempt> {
        let now = now_ms();
        let expires = after_ms(now, ttl);
        record.insert("expires_at".into(), n(ttl_seconds(expires)));
        record.insert("expires_at_ms".into(), n(expires));
        let put = self
            .table
            .put_item()
            .set_item(Some(record))
            .condition_expression("attribute_not_exists(idem_key) OR #x <= :now")
            .expression_attribute_names("#x", "expires_at_ms")
            .expression_attribute_values(":now", n(now))
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let err = match put {
            Ok(_) => return Ok(Attempt::Done(Claim::Claimed)),
            Err(e) => e,
        };
        // The old item comes with the failure where the backend supports it; else read it.
        let old = match err.as_service_error() {
            Some(PutItemError::ConditionalCheckFailedException(c)) => c.item.clone(),
            _ => return Err(port_error(&format!("claim {what}"), err)),
        };
        let old = match old {
            Some(item) => Some(item),
            None => self.table.get(key.clone(), &format!("read {what}")).await?,
        };
        match old {
            Some(item) => Ok(match Self::existing(&item, now)? {
                Some(claim) => Attempt::Done(claim),
                None => Attempt::Retry,
            }),
            None => Ok(Attempt::Retry),
        }
    }
}

#[async_trait]
impl IdempotencyStore for DynamoIdempotency {
    async fn claim(
        &self,
        tenant: &TenantId,
        key: &str,
        request_hash: &str,
        export_id: &ExportId,
        ttl: Duration,
    ) -> PortResult<Claim> {
        let what = format!("idempotency key {tenant}/{key}");
        let key = Self::key(tenant, key);
        let mut record = key.clone();
        record.insert("request_hash".into(), s(request_hash));
        record.insert("export_id".into(), s(export_id));
        for _ in 0..CLAIM_ATTEMPTS {
            if let Attempt::Done(claim) = self.attempt(&what, &key, record.clone(), ttl).await? {
                return Ok(claim);
            }
        }
        Err(PortError::Unavailable(format!(
            "{what} is contended; try again"
        )))
    }

    async fn release(&self, tenant: &TenantId, key: &str) -> PortResult<()> {
        let what = format!("release idempotency key {tenant}/{key}");
        self.table.delete(Self::key(tenant, key), &what).await
    }
}
