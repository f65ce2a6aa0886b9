//! One DynamoDB table as every adapter here holds it: the client and the table's name. It
//! starts each request already addressed to the table, and makes the unconditional
//! single-item requests (put, consistent get, delete) that every adapter used to spell out
//! on its own.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder;
use aws_sdk_dynamodb::operation::put_item::builders::PutItemFluentBuilder;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::scan::builders::ScanFluentBuilder;
use aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder;
use ec_domain::ports::PortResult;

use super::attrs::{Item, port_error};

/// A DynamoDB table: client and name.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    client: Client,
    name: String,
}

impl Table {
    pub(crate) fn new(client: Client, name: impl Into<String>) -> Self {
        Table {
            client,
            name: name.into(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// A PutItem on this table, to add the item and any condition to.
    pub(crate) fn put_item(&self) -> PutItemFluentBuilder {
        self.client.put_item().table_name(&self.name)
    }

    /// A DeleteItem on this table, to add the key and any condition to.
    pub(crate) fn delete_item(&self) -> DeleteItemFluentBuilder {
        self.client.delete_item().table_name(&self.name)
    }

    /// An UpdateItem on this table, to add the key, expressions and condition to.
    pub(crate) fn update_item(&self) -> UpdateItemFluentBuilder {
        self.client.update_item().table_name(&self.name)
    }

    /// A Query on this table.
    pub(crate) fn query(&self) -> QueryFluentBuilder {
        self.client.query().table_name(&self.name)
    }

    /// A Scan of this table.
    pub(crate) fn scan(&self) -> ScanFluentBuilder {
        self.client.scan().table_name(&self.name)
    }

    /// Writes `item` unconditionally, replacing any item with its key. `context` says what
    /// was being done, in errors.
    pub(crate) async fn put(&self, item: Item, context: &str) -> PortResult<()> {
        let sent = self.put_item().set_item(Some(item)).send().await;
        sent.map(drop).map_err(|e| port_error(context, e))
    }

    /// A strongly consistent read of the item at `key`.
    pub(crate) async fn get(&self, key: Item, context: &str) -> PortResult<Option<Item>> {
        self.client
            .get_item()
            .table_name(&self.name)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map(|out| out.item)
            .map_err(|e| port_error(context, e))
    }

    /// Deletes the item at `key` unconditionally; deleting one that does not exist is not
    /// an error.
    pub(crate) async fn delete(&self, key: Item, context: &str) -> PortResult<()> {
        let sent = self.delete_item().set_key(Some(key)).send().await;
        sent.map(drop).map_err(|e| port_error(context, e))
    }
}
