//! The versioned-document table behind jobs and schedules: items keyed by (`tenant_id`,
//! an id attribute), the record as JSON in `doc`, optimistic concurrency on `version`, and
//! whatever typed attributes the record's queries need. Jobs and schedules used to write
//! this table twice; now [`super::DynamoJobTable`] and [`super::DynamoSchedules`] are thin
//! layers over [`VersionedTable`].

use std::marker::PhantomData;

use aws_sdk_dynamodb::Client;
use ec_domain::PortError;
use ec_domain::ports::PortResult;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::attrs::{Item, get_s, n, port_error, read_doc, read_pages, s, write_doc};
use super::table::Table;

/// A record stored as a versioned document.
pub(crate) trait Versioned: Serialize + DeserializeOwned + Send + Sync {
    /// What the record is called in messages (`job`, `schedule`).
    const KIND: &'static str;
    /// The sort key attribute holding the record's id (`export_id`, `schedule_id`).
    const ID_ATTR: &'static str;

    /// The record's tenant, id and version.
    fn key(&self) -> (&str, &str, u64);
    /// Adds the typed attributes indexes, filters and TTL use (besides the keys,
    /// `version` and `doc`).
    fn index_attrs(&self, item: &mut Item);
}

/// One DynamoDB table of `T` documents.
#[derive(Debug, Clone)]
pub(crate) struct VersionedTable<T> {
    table: Table,
    _doc: PhantomData<fn() -> T>,
}

impl<T: Versioned> VersionedTable<T> {
    pub(crate) fn new(client: Client, table: impl Into<String>) -> Self {
        VersionedTable {
            table: Table::new(client, table),
            _doc: PhantomData,
        }
    }

    pub(crate) fn table(&self) -> &Table {
        &self.table
    }

    pub(crate) fn key(tenant: &str, id: &str) -> Item {
        Item::from([
            ("tenant_id".to_string(), s(tenant)),
            (T::ID_ATTR.to_string(), s(id)),
        ])
    }

    fn what(tenant: &str, id: &str) -> String {
        format!("{} {tenant}/{id}", T::KIND)
    }

    /// The item of one record: keys, `version`, the index attributes and the document.
    fn item_of(doc: &T) -> PortResult<Item> {
        let (tenant, id, version) = doc.key();
        let w = Self::what(tenant, id);
        let mut item = Self::key(tenant, id);
        doc.index_attrs(&mut item);
        item.insert("version".into(), n(version));
        item.insert("doc".into(), write_doc(doc, &w)?);
        Ok(item)
    }

    /// The record of a stored item, checked against its key; `Invalid` when unreadable.
    pub(crate) fn decode(item: &Item) -> PortResult<T> {
        let stored = format!("stored {}", T::KIND);
        let tenant = get_s(item, "tenant_id", &stored)?;
        let id = get_s(item, T::ID_ATTR, &stored)?;
        let w = Self::what(tenant, id);
        let doc: T = read_doc(item, &w)?;
        let (doc_tenant, doc_id, _) = doc.key();
        if doc_tenant != tenant || doc_id != id {
            return Err(PortError::Invalid(format!(
                "{w}: stored document is for {doc_tenant}/{doc_id}"
            )));
        }
        Ok(doc)
    }

    /// Writes a new record; `ConditionFailed` if its id exists.
    pub(crate) async fn create(&self, doc: &T) -> PortResult<()> {
        self.put(doc, None).await
    }

    /// A strongly consistent read.
    pub(crate) async fn get(&self, tenant: &str, id: &str) -> PortResult<Option<T>> {
        let what = format!("get {}", Self::what(tenant, id));
        let item = self.table.get(Self::key(tenant, id), &what).await?;
        item.as_ref().map(Self::decode).transpose()
    }

    /// Replaces a record only if it exists at `expected_version` (`ConditionFailed`
    /// otherwise, and nothing is written).
    pub(crate) async fn update(&self, doc: &T, expected_version: u64) -> PortResult<()> {
        self.put(doc, Some(expected_version)).await
    }

    /// A conditional PutItem: the record must not exist (`expected: None`), or must exist
    /// at version `expected`.
    async fn put(&self, doc: &T, expected: Option<u64>) -> PortResult<()> {
        let (tenant, id, _) = doc.key();
        let w = Self::what(tenant, id);
        let req = self
            .table
            .put_item()
            .set_item(Some(Self::item_of(doc)?))
            .expression_attribute_names("#id", T::ID_ATTR);
        let (req, action, lost) = match expected {
            None => (
                req.condition_expression("attribute_not_exists(#id)"),
                "create",
                format!("{w} already exists"),
            ),
            Some(v) => (
                req.condition_expression("attribute_exists(#id) AND #v = :expected")
                    .expression_attribute_names("#v", "version")
                    .expression_attribute_values(":expected", n(v)),
                "update",
                format!("{w} is missing or no longer at version {v}"),
            ),
        };
        req.send()
            .await
            .map_err(|e| match port_error(&format!("{action} {w}"), e) {
                PortError::ConditionFailed(_) => PortError::ConditionFailed(lost),
                other => other,
            })?;
        Ok(())
    }

    /// Removes a record; removing one that does not exist is not an error.
    pub(crate) async fn delete(&self, tenant: &str, id: &str) -> PortResult<()> {
        let what = format!("delete {}", Self::what(tenant, id));
        self.table.delete(Self::key(tenant, id), &what).await
    }

    /// Every record of `tenant` (all pages of a consistent Query on the table's keys), in
    /// id order.
    pub(crate) async fn of_tenant(&self, tenant: &str) -> PortResult<Vec<T>> {
        let what = format!("list {}s of {tenant}", T::KIND);
        let items = read_pages(usize::MAX, &what, |start, _| {
            self.table
                .query()
                .key_condition_expression("#t = :t")
                .expression_attribute_names("#t", "tenant_id")
                .expression_attribute_values(":t", s(tenant))
                .consistent_read(true)
                .set_exclusive_start_key(start)
        })
        .await?;
        items.iter().map(Self::decode).collect()
    }

    /// Every record of every tenant whose number attribute `attr` is at most `max` (all
    /// pages of a consistent Scan; records without the attribute never match).
    pub(crate) async fn scan_at_most(&self, attr: &str, max: i64) -> PortResult<Vec<T>> {
        let what = format!("scan {}s", T::KIND);
        let items = read_pages(usize::MAX, &what, |start, _| {
            self.table
                .scan()
                .filter_expression("#a <= :max")
                .expression_attribute_names("#a", attr)
                .expression_attribute_values(":max", n(max))
                .consistent_read(true)
                .set_exclusive_start_key(start)
        })
        .await?;
        items.iter().map(Self::decode).collect()
    }
}
