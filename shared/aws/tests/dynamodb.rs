//! What only the DynamoDB adapters promise, against a moto server over HTTP
//! (`EC_MOTO_ENDPOINT`; without it every test fails, none skips): the item layout the SAM
//! template and TTL rely on, cursors bound to their tenant, the pruning of expired
//! connections, and the mapping of missing tables and dead endpoints. Every port's
//! contract runs in `contract.rs`; the tables come from `common::tables`.

mod common;

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use ec_aws::dynamodb::{DynamoConnections, DynamoIdempotency, DynamoJobTable};
use ec_domain::PortError;
use ec_domain::job::Stage;
use ec_domain::ports::{Claim, ConnectionRegistry, IdempotencyStore, JobTable};
use ec_port_contract::fixtures::{RET, job, t0};
use ec_port_contract::jobs::advance_to_ready;
use time::OffsetDateTime;

use common::tables::{self, CONNECTIONS, IDEMPOTENCY, JOBS, number, raw_item};
use common::{test_config, unique};

fn now_unix() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

#[tokio::test]
async fn jobs_item_layout_and_ttl_attribute() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-jobs", &JOBS).await;
    let jobs = DynamoJobTable::new(c.clone(), table.clone());
    let key = [("tenant_id", "acme"), ("export_id", "exp-1")];
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    let raw = raw_item(&c, &table, &key).await.unwrap();
    assert!(!raw.contains_key("expires_at"), "no TTL before retention");
    assert_eq!(number(&raw, "version"), 1);
    assert_eq!(
        raw.get("created_key"),
        Some(&AttributeValue::S("2024-12-24T00:26:40Z#exp-1".into()))
    );
    assert_eq!(raw.get("status"), Some(&AttributeValue::S("queued".into())));

    // Ready sets the retention end, which becomes the TTL attribute (epoch seconds).
    let stages = [
        Stage::Gathering,
        Stage::Rendering,
        Stage::Storing,
        Stage::Sealing,
    ];
    advance_to_ready(&jobs, j, &stages).await;
    let raw = raw_item(&c, &table, &key).await.unwrap();
    // TTL removes the row 90 days after retention ends, so downloads can still answer 410.
    assert_eq!(
        number(&raw, "expires_at"),
        (t0() + RET + time::Duration::days(90)).unix_timestamp()
    );
    assert_eq!(number(&raw, "version"), 6);
}

#[tokio::test]
async fn jobs_cursors_belong_to_their_tenant() {
    let c = tables::client().await;
    let jobs = DynamoJobTable::new(c.clone(), tables::create_table(&c, "ec-jobs", &JOBS).await);
    for id in ["exp-1", "exp-2"] {
        jobs.create(&job("acme", id, t0())).await.unwrap();
    }
    let first = jobs
        .list(&"acme".parse().unwrap(), None, 1, None)
        .await
        .unwrap();
    let acme_cursor = first.next_cursor.unwrap();
    assert!(matches!(
        jobs.list(&"globex".parse().unwrap(), None, 1, Some(&acme_cursor))
            .await,
        Err(PortError::Invalid(_))
    ));
}

#[tokio::test]
async fn idempotency_ttl_attribute() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-idem", &IDEMPOTENCY).await;
    let idem = DynamoIdempotency::new(c.clone(), table.clone());
    let day = Duration::from_secs(86_400);
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k1",
            "h1",
            &"exp-1".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        Claim::Claimed
    );
    // The TTL attribute is epoch seconds, about a day ahead.
    let raw = raw_item(&c, &table, &[("tenant_id", "acme"), ("idem_key", "k1")])
        .await
        .unwrap();
    let ttl = number(&raw, "expires_at");
    let now = now_unix();
    assert!((now + 86_390..=now + 86_410).contains(&ttl), "{ttl}");
}

#[tokio::test]
async fn connections_ttl_attribute_and_pruning() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-conns", &CONNECTIONS).await;
    let reg = DynamoConnections::new(c.clone(), table.clone());
    reg.register("c1", &"acme".parse().unwrap(), Duration::from_secs(3600))
        .await
        .unwrap();
    reg.register("c9", &"acme".parse().unwrap(), Duration::from_millis(300))
        .await
        .unwrap();
    let raw = raw_item(&c, &table, &[("connection_id", "c1")])
        .await
        .unwrap();
    let now = now_unix();
    let ttl = number(&raw, "expires_at");
    assert!((now + 3590..=now + 3610).contains(&ttl), "{ttl}");

    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired, though DynamoDB's (lazy) TTL has not deleted it: hidden, then pruned.
    assert_eq!(reg.list(&"acme".parse().unwrap()).await.unwrap(), ["c1"]);
    assert!(
        raw_item(&c, &table, &[("connection_id", "c9")])
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_missing_table_is_a_backend_error_and_no_server_is_unavailable() {
    let jobs = DynamoJobTable::new(tables::client().await, unique("ec-missing"));
    let err = jobs
        .get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Backend(_)), "{err:?}");

    // Nothing listens on port 9 of localhost: the connection is refused.
    let dead = aws_sdk_dynamodb::Client::new(&test_config("http://127.0.0.1:9").await);
    let jobs = DynamoJobTable::new(dead, "whatever");
    let err = jobs
        .get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
        .await
        .unwrap_err();
    assert!(matches!(err, PortError::Unavailable(_)), "{err:?}");
}
