//! DynamoDB tables for the emulator tests, created per test with a unique name from the
//! key schemas below, which mirror the module documentation of `ec_aws::dynamodb` (and so
//! the SAM template); and raw item access for the tests of the item layout.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};

use super::unique;

/// One table's key schema: partition key, optional sort key (all strings), GSIs
/// `(name, pk, sk)` projecting ALL, and the TTL attribute.
pub struct TableDef {
    pk: &'static str,
    sk: Option<&'static str>,
    gsis: &'static [(&'static str, &'static str, Option<&'static str>)],
    ttl: Option<&'static str>,
}

pub const JOBS: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("export_id"),
    gsis: &[("by_created", "tenant_id", Some("created_key"))],
    ttl: Some("expires_at"),
};
pub const AUDIT: TableDef = TableDef {
    pk: "chain",
    sk: Some("seq"),
    gsis: &[],
    ttl: None,
};
pub const IDEMPOTENCY: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("idem_key"),
    gsis: &[],
    ttl: Some("expires_at"),
};
pub const SCANS: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("scan_id"),
    gsis: &[("by_scanned", "tenant_id", Some("scanned_key"))],
    ttl: None,
};
pub const CONNECTIONS: TableDef = TableDef {
    pk: "connection_id",
    sk: None,
    gsis: &[("by_tenant", "tenant_id", None)],
    ttl: Some("expires_at"),
};
pub const QUOTAS: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("quota_key"),
    gsis: &[],
    ttl: Some("expires_at"),
};
pub const DESTINATIONS: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("destination_id"),
    gsis: &[],
    ttl: None,
};

pub const SCHEDULES: TableDef = TableDef {
    pk: "tenant_id",
    sk: Some("schedule_id"),
    gsis: &[],
    ttl: None,
};

fn key_schema(pk: &str, sk: Option<&str>) -> Vec<KeySchemaElement> {
    let el = |name: &str, kind: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(kind)
            .build()
            .expect("key schema element")
    };
    let mut keys = vec![el(pk, KeyType::Hash)];
    if let Some(sk) = sk {
        keys.push(el(sk, KeyType::Range));
    }
    keys
}

/// Creates a table from `def` with a unique name and returns the name.
pub async fn create_table(client: &Client, prefix: &str, def: &TableDef) -> String {
    let name = unique(prefix);
    let mut attrs: Vec<&str> = vec![def.pk];
    attrs.extend(def.sk);
    for (_, pk, sk) in def.gsis {
        attrs.push(pk);
        attrs.extend(*sk);
    }
    attrs.sort_unstable();
    attrs.dedup();
    let mut req = client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(key_schema(def.pk, def.sk)));
    for a in attrs {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .expect("attribute definition"),
        );
    }
    for (index, pk, sk) in def.gsis {
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(*index)
                .set_key_schema(Some(key_schema(pk, *sk)))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("gsi"),
        );
    }
    req.send().await.expect("create table");
    if let Some(ttl) = def.ttl {
        client
            .update_time_to_live()
            .table_name(&name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(ttl)
                    .enabled(true)
                    .build()
                    .expect("ttl spec"),
            )
            .send()
            .await
            .expect("enable ttl");
    }
    name
}

pub async fn raw_item(
    client: &Client,
    table: &str,
    key: &[(&str, &str)],
) -> Option<HashMap<String, AttributeValue>> {
    let key = key
        .iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect();
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key))
        .consistent_read(true)
        .send()
        .await
        .expect("raw get")
        .item
}

pub async fn corrupt_doc(client: &Client, table: &str, key: &[(&str, &str)]) {
    let key = key
        .iter()
        .map(|(k, v)| (k.to_string(), AttributeValue::S(v.to_string())))
        .collect();
    client
        .update_item()
        .table_name(table)
        .set_key(Some(key))
        .update_expression("SET #d = :d")
        .expression_attribute_names("#d", "doc")
        .expression_attribute_values(":d", AttributeValue::S("{not json".into()))
        .send()
        .await
        .expect("corrupt doc");
}

pub fn number(item: &HashMap<String, AttributeValue>, name: &str) -> i64 {
    match item.get(name) {
        Some(AttributeValue::N(v)) => v.parse().expect("number"),
        other => panic!("{name} is not a number: {other:?}"),
    }
}

/// A DynamoDB client of the moto server.
pub async fn client() -> Client {
    Client::new(&super::moto_config().await)
}
