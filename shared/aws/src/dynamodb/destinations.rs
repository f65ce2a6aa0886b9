//! Delivery destinations in DynamoDB (the versioned-document table).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use ec_domain::destination::Destination;
use ec_domain::ports::{DestinationStore, PortResult};
use ec_domain::{DestinationId, TenantId};

use super::attrs::{Item, n};
use super::versioned::{Versioned, VersionedTable};

/// [`DestinationStore`] over a DynamoDB table keyed by (`tenant_id`, `destination_id`).
#[derive(Debug, Clone)]
pub struct DynamoDestinations {
    docs: VersionedTable<Destination>,
}

impl DynamoDestinations {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoDestinations {
            docs: VersionedTable::new(client, table),
        }
    }
}

impl Versioned for Destination {
    const KIND: &'static str = "destination";
    const ID_ATTR: &'static str = "destination_id";

    fn key(&self) -> (&str, &str, u64) {
        (&self.tenant_id, &self.destination_id, self.version)
    }

    fn index_attrs(&self, item: &mut Item) {
        item.insert("created_at".into(), n(self.created_at.unix_timestamp()));
    }
}

#[async_trait]
impl DestinationStore for DynamoDestinations {
    async fn create(&self, destination: &Destination) -> PortResult<()> {
        self.docs.create(destination).await
    }

    async fn get(
        &self,
        tenant: &TenantId,
        destination_id: &DestinationId,
    ) -> PortResult<Option<Destination>> {
        self.docs.get(tenant, destination_id).await
    }

    async fn list(&self, tenant: &TenantId) -> PortResult<Vec<Destination>> {
        let mut all = self.docs.of_tenant(tenant).await?;
        all.sort_by(|a, b| {
            (a.created_at, &a.destination_id).cmp(&(b.created_at, &b.destination_id))
        });
        Ok(all)
    }

    async fn delete(&self, tenant: &TenantId, destination_id: &DestinationId) -> PortResult<()> {
        self.docs.delete(tenant, destination_id).await
    }
}
