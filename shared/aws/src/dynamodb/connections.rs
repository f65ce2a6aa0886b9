//! WebSocket connections per tenant, in DynamoDB.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ec_domain::PortError;
use ec_domain::TenantId;
use ec_domain::ports::{ConnectionRegistry, PortResult};

use super::CONNECTIONS_BY_TENANT_INDEX;
use super::attrs::{
    Item, after_ms, get_i64, get_s, n, now_ms, port_error, read_pages, s, ttl_seconds,
};
use super::table::Table;

/// [`ConnectionRegistry`] over a DynamoDB table keyed by `connection_id`, with the
/// `by_tenant` index. A registration lives for its `ttl` (re-register to extend it):
/// `expires_at` (epoch seconds, rounded up) lets DynamoDB's TTL delete the row eventually,
/// `expires_at_ms` is the exact expiry `list` checks. `list` reads the index, which is
/// eventually consistent: a connection registered a moment ago may be missing from it.
#[derive(Debug, Clone)]
pub struct DynamoConnections {
    table: Table,
}

impl DynamoConnections {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoConnections {
            table: Table::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.table.name()
    }

    fn key(connection_id: &str) -> Item {
        Item::from([("connection_id".to_string(), s(connection_id))])
    }

    /// Deletes a row found expired, unless it was re-registered meanwhile. Best effort:
    /// TTL removes it anyway.
    async fn prune(&self, connection_id: &str, now: i64) {
        let res = self
            .table
            .delete_item()
            .set_key(Some(Self::key(connection_id)))
            .condition_expression("#x <= :now")
            .expression_attribute_names("#x", "expires_at_ms")
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        if let Err(e) = res {
            match port_error(&format!("prune connection {connection_id}"), e) {
                PortError::ConditionFailed(_) => {}
                e => tracing::warn!(error = %e, "could not prune an expired connection"),
            }
        }
    }
}

#[async_trait]
impl ConnectionRegistry for DynamoConnections {
    async fn register(
        &self,
        connection_id: &str,
        tenant: &TenantId,
        ttl: Duration,
    ) -> PortResult<()> {
        let expires = after_ms(now_ms(), ttl);
        let mut item = Self::key(connection_id);
        item.insert("tenant_id".into(), s(tenant));
        item.insert("expires_at".into(), n(ttl_seconds(expires)));
        item.insert("expires_at_ms".into(), n(expires));
        let what = format!("register connection {connection_id}");
        self.table.put(item, &what).await
    }

    async fn remove(&self, connection_id: &str) -> PortResult<()> {
        let what = format!("remove connection {connection_id}");
        self.table.delete(Self::key(connection_id), &what).await
    }

    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<String>> {
        const W: &str = "stored connection";
        let now = now_ms();
        let what = format!("list connections of {tenant}");
        let items = read_pages(usize::MAX, &what, |start, _| {
            self.table
                .query()
                .index_name(CONNECTIONS_BY_TENANT_INDEX)
                .key_condition_expression("#t = :t")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_values(":t", s(tenant))
                .set_exclusive_start_key(start)
        })
        .await?;
        let mut live = Vec::new();
        let mut expired = Vec::new();
        for item in &items {
            let id = get_s(item, "connection_id", W)?.to_string();
            if get_i64(item, "expires_at_ms", W)? > now {
                live.push(id);
            } else {
                expired.push(id);
            }
        }
        for id in expired {
            self.prune(&id, now).await;
        }
        live.sort();
        Ok(live)
    }
}
