//! Every port contract of `ec-port-contract`, run against the AWS adapters on a moto server
//! (`EC_MOTO_ENDPOINT`; without it every test fails, none skips). Each scenario gets its own
//! table, bucket or queues, named with a ULID.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use ec_aws::SqsQueue;
use ec_aws::config::sqs_client;
use ec_aws::dynamodb::{
    DynamoConnections, DynamoDestinations, DynamoIdempotency, DynamoJobTable, DynamoQuotas,
    DynamoScanCatalog, DynamoSchedules,
};
use ec_domain::messages::QueueName;
use ec_domain::ports::QueueConsumer;

use common::tables::{
    self, AUDIT, CONNECTIONS, DESTINATIONS, IDEMPOTENCY, JOBS, QUOTAS, SCANS, SCHEDULES,
    corrupt_doc,
};
use common::{create_queue, moto_config, s3_store};

#[tokio::test]
async fn job_table() {
    let c = tables::client().await;
    ec_port_contract::job_table(async || {
        let table = tables::create_table(&c, "ec-jobs", &JOBS).await;
        DynamoJobTable::new(c.clone(), table)
    })
    .await;
}

#[tokio::test]
async fn job_table_rejects_corrupt_documents() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-jobs", &JOBS).await;
    let store = DynamoJobTable::new(c.clone(), table.clone());
    ec_port_contract::job_table_rejects_corrupt_documents(&store, async |tenant, id| {
        corrupt_doc(&c, &table, &[("tenant_id", tenant), ("export_id", id)]).await
    })
    .await;
}

#[tokio::test]
async fn schedule_store() {
    let c = tables::client().await;
    ec_port_contract::schedule_store(async || {
        let table = tables::create_table(&c, "ec-schedules", &SCHEDULES).await;
        DynamoSchedules::new(c.clone(), table)
    })
    .await;
}

#[tokio::test]
async fn schedule_store_rejects_corrupt_documents() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-schedules", &SCHEDULES).await;
    let store = DynamoSchedules::new(c.clone(), table.clone());
    ec_port_contract::schedule_store_rejects_corrupt_documents(&store, async |tenant, id| {
        corrupt_doc(&c, &table, &[("tenant_id", tenant), ("schedule_id", id)]).await
    })
    .await;
}

#[tokio::test]
async fn schedule_trigger() {
    ec_port_contract::schedule_trigger(&common::schedule_trigger().await).await;
}

#[tokio::test]
async fn audit_log() {
    let c = tables::client().await;
    ec_port_contract::audit_log(async || {
        let table = tables::create_table(&c, "ec-audit", &AUDIT).await;
        ec_aws::dynamodb::DynamoAuditLog::new(c.clone(), table)
    })
    .await;
}

#[tokio::test]
async fn idempotency_store() {
    let c = tables::client().await;
    ec_port_contract::idempotency_store(async || {
        let table = tables::create_table(&c, "ec-idem", &IDEMPOTENCY).await;
        DynamoIdempotency::new(c.clone(), table)
    })
    .await;
}

/// Fifty reservations at once go to DynamoDB as fifty concurrent conditional writes (a
/// multi-threaded runtime, so they really overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quotas() {
    let c = tables::client().await;
    ec_port_contract::quotas(async || {
        let table = tables::create_table(&c, "ec-quotas", &QUOTAS).await;
        DynamoQuotas::new(c.clone(), table)
    })
    .await;
}

#[tokio::test]
async fn connection_registry() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-conns", &CONNECTIONS).await;
    ec_port_contract::connection_registry(&DynamoConnections::new(c, table)).await;
}

#[tokio::test]
async fn scan_catalog() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-scans", &SCANS).await;
    ec_port_contract::scan_catalog(&DynamoScanCatalog::new(c, table)).await;
}

#[tokio::test]
async fn scan_catalog_rejects_corrupt_documents() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-scans", &SCANS).await;
    let store = DynamoScanCatalog::new(c.clone(), table.clone());
    ec_port_contract::scan_catalog_rejects_corrupt_documents(&store, async |tenant, id| {
        corrupt_doc(&c, &table, &[("tenant_id", tenant), ("scan_id", id)]).await
    })
    .await;
}

/// SQS queues, one per stage, all new.
async fn queues() -> SqsQueue {
    let client = sqs_client(&moto_config().await);
    let mut urls = HashMap::new();
    for &q in QueueName::ALL {
        urls.insert(q, create_queue(&client, &[]).await);
    }
    SqsQueue::new(client, urls)
}

#[tokio::test]
async fn work_queue() {
    ec_port_contract::work_queue(async || queues().await).await;
}

#[tokio::test]
async fn object_store() {
    ec_port_contract::object_store(async || s3_store().await).await;
}

/// Notifications are opt-in on S3 (the bucket's own notification does it on AWS); with
/// them the store sends to the seal queue like the embedded one.
#[tokio::test]
async fn object_store_notifies_report_puts() {
    let queue = Arc::new(queues().await);
    let store = s3_store().await.with_notifications(queue.clone());
    ec_port_contract::object_store_notifies_report_puts(&store, async || {
        let got = queue
            .receive(QueueName::Seal, 10, std::time::Duration::from_secs(30))
            .await
            .unwrap();
        // A standard queue keeps no order.
        let mut bodies: Vec<String> = got.into_iter().map(|d| d.body).collect();
        bodies.sort();
        bodies
    })
    .await;
}

#[tokio::test]
async fn destination_store() {
    let c = tables::client().await;
    let table = tables::create_table(&c, "ec-destinations", &DESTINATIONS).await;
    ec_port_contract::destination_store(&DynamoDestinations::new(c.clone(), table)).await;
}

/// Secrets as SSM SecureString parameters under a prefix of this test's own; what is stored
/// is a SecureString (moto keeps the type) and carries no part of the secret in its name.
#[tokio::test]
async fn destination_secrets() {
    let config = moto_config().await;
    let client = aws_sdk_ssm::Client::new(&config);
    let prefix = format!("/ec-test/{}", ulid::Ulid::new().to_string().to_lowercase());
    let secrets = ec_aws::SsmDestinationSecrets::new(client.clone(), &prefix, None);
    ec_port_contract::destination_secrets(&secrets).await;
    let (tenant, id) = ("acme".parse().unwrap(), "dst-t".parse().unwrap());
    let secret = ec_domain::destination::Secret::new("whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=");
    ec_domain::ports::DestinationSecrets::put(&secrets, &tenant, &id, &secret)
        .await
        .unwrap();
    let stored = client
        .get_parameter()
        .name(format!("{prefix}/acme/dst-t"))
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(
        stored.r#type,
        Some(aws_sdk_ssm::types::ParameterType::SecureString)
    );
}
