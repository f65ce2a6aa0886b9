//! Delivery on the AWS stack, against moto over HTTP (`EC_MOTO_ENDPOINT`): a webhook
//! destination made through the Lambda API handler (its secret an SSM SecureString), a ready
//! export naming it, its delivery message on the SQS deliver queue drained into the
//! `export-deliver` batch handler — the receiver (verified by the Standard Webhooks
//! reference library) fails twice first, the retries come back through the queue's delay,
//! every batch is handled twice, and the receiver is answered once.

#[path = "../../shared/aws/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tower::ServiceExt;

use common::tables::{self, AUDIT, DESTINATIONS, JOBS, QUOTAS};
use ec_aws::wiring::AwsAdapters;
use ec_domain::delivery::DeliveryStatus;
use ec_domain::destination::DeliveryEvent;
use ec_domain::messages::QueueName;
use ec_domain::ports::QueueConsumer;
use ec_domain::{Job, Stage, Transition};
use ec_lambda::aws::Aws;
use ec_tests::{receivers, repo_root, sqs_event};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// An API Gateway event of `method path` with a JSON body and the sample's token.
fn api_event(method: &str, path: &str, body: &Value) -> Value {
    let text = std::fs::read_to_string(repo_root().join("events/api-post-export.json")).unwrap();
    let mut e: Value = serde_json::from_str(&text).unwrap();
    e["rawPath"] = Value::String(path.into());
    e["requestContext"]["http"]["method"] = Value::String(method.into());
    e["requestContext"]["http"]["path"] = Value::String(path.into());
    e["body"] = Value::String(body.to_string());
    e["isBase64Encoded"] = Value::Bool(false);
    if let Some(h) = e["headers"].as_object_mut() {
        h.remove("idempotency-key");
    }
    e
}

/// The development secret `events/local.env` gives export-api.
fn env_jwt_secret() -> String {
    std::fs::read_to_string(repo_root().join("events/local.env"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("EXPORTCENTER_JWT_SECRET="))
        .expect("local.env names a JWT secret")
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_delivered_once_through_sqs() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.json");
    let log = dir.path().join("received.jsonl");
    std::fs::write(
        &secrets,
        json!({"/hook": {"secret": SECRET, "fail_first": 2}}).to_string(),
    )
    .unwrap();
    let (_receiver, port) = receivers::start("webhook_receiver.py", &[&secrets, &log]);

    let sdk = common::moto_config().await;
    let ddb = tables::client().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let deliver = common::create_queue(&sqs, &[]).await;
    let bucket = common::s3_store().await.bucket().to_string();
    let mut env: HashMap<String, String> =
        std::fs::read_to_string(repo_root().join("events/local.env"))
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .filter_map(|l| {
                l.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect();
    let prefix = format!("/ec-test/{}", ulid::Ulid::new().to_string().to_lowercase());
    for (k, v) in [
        ("AWS_ENDPOINT_URL", common::moto_endpoint()),
        ("EXPORTCENTER_BUCKET", bucket),
        (
            "EXPORTCENTER_JOBS_TABLE",
            tables::create_table(&ddb, "ec-jobs", &JOBS).await,
        ),
        (
            "EXPORTCENTER_QUOTAS_TABLE",
            tables::create_table(&ddb, "ec-quotas", &QUOTAS).await,
        ),
        (
            "EXPORTCENTER_AUDIT_TABLE",
            tables::create_table(&ddb, "ec-audit", &AUDIT).await,
        ),
        (
            "EXPORTCENTER_DESTINATIONS_TABLE",
            tables::create_table(&ddb, "ec-dst", &DESTINATIONS).await,
        ),
        ("EXPORTCENTER_SECRETS_PREFIX", prefix.clone()),
        ("EXPORTCENTER_DELIVER_QUEUE_URL", deliver.clone()),
        (
            "EXPORTCENTER_WS_MANAGEMENT_ENDPOINT",
            common::moto_endpoint(),
        ),
        ("EXPORTCENTER_ALLOW_PRIVATE_DESTINATIONS", "true".into()),
        ("EXPORTCENTER_DELIVERY_RETRY_BASE_SECS", "1".into()),
        ("EXPORTCENTER_DELIVERY_RETRY_CAP_SECS", "1".into()),
    ] {
        env.insert(k.to_string(), v);
    }
    let aws = Aws::new(std::sync::Arc::new(env), AwsAdapters::from_sdk(sdk.clone())).unwrap();
    let state = aws.api_state().unwrap();
    let router = ec_api::router(state);
    let pipeline = aws.pipeline().unwrap();

    // The destination, through export-api; its secret is a SecureString under the prefix.
    let jwt = env_jwt_secret();
    let token = ec_api::auth::mint(
        jwt.as_bytes(),
        "alice",
        "acme",
        "destination:write export:read",
        600,
    )
    .unwrap();
    let mut req = api_event(
        "POST",
        "/api/v1/destinations",
        &json!({"name": "SIEM", "type": "webhook",
                "config": {"url": format!("http://127.0.0.1:{port}/hook"), "secret": SECRET}}),
    );
    req["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
    let req = lambda_http::request::from_str(&req.to_string()).expect("an API Gateway event");
    let req = req.map(|b| axum::body::Body::from(b.to_vec()));
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let created: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    assert_eq!(status, 201, "{created}");
    let dst = created["destination_id"].as_str().unwrap().to_string();
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let param = ssm
        .get_parameter()
        .name(format!("{prefix}/acme/{dst}"))
        .with_decryption(true)
        .send()
        .await
        .unwrap()
        .parameter
        .unwrap();
    assert_eq!(
        param.r#type,
        Some(aws_sdk_ssm::types::ParameterType::SecureString)
    );
    assert_eq!(param.value.as_deref(), Some(SECRET));

    // A ready export naming it (the chain up to sealing is aws_chain.rs's).
    let request = ec_domain::ExportRequest::from_json(
        &json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": ["scan-1"]},
                "options": {"destinations": [dst]}}),
        "acme",
    )
    .unwrap();
    let now = ec_domain::time::now();
    let job = Job::new(
        ec_domain::ExportId::generate(),
        "acme".parse().unwrap(),
        request,
        "alice".into(),
        None,
        now,
    );
    let steps = &pipeline.stages.steps;
    steps.jobs.create(&job).await.unwrap();
    let mut job = job;
    for stage in [
        Stage::Gathering,
        Stage::Rendering,
        Stage::Storing,
        Stage::Sealing,
    ] {
        job = steps
            .transition(&job, Transition::Enter(stage))
            .await
            .unwrap();
    }
    let ready = steps
        .finish(&job, Transition::Ready { artifacts: vec![] })
        .await
        .unwrap();
    assert_eq!(
        ready.deliveries.len(),
        0,
        "recorded by the write after the transition"
    );

    // Drain the deliver queue into the batch handler, each batch twice, until the delivery
    // has an outcome.
    let consumer = ec_aws::SqsQueue::from_vars(
        &[("EXPORTCENTER_DELIVER_QUEUE_URL", deliver.as_str())],
        aws_sdk_sqs::Client::new(&sdk),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let record = loop {
        let got = consumer
            .receive(QueueName::Deliver, 10, Duration::from_secs(30))
            .await
            .unwrap();
        if !got.is_empty() {
            let event = sqs_event(&got);
            for _ in 0..2 {
                let r = ec_lambda::sqs::handle_batch(
                    &pipeline.stages,
                    QueueName::Deliver,
                    event.clone(),
                )
                .await;
                assert!(
                    r.batch_item_failures.is_empty(),
                    "{:?}",
                    r.batch_item_failures
                );
            }
            for d in &got {
                consumer.ack(QueueName::Deliver, &d.receipt).await.unwrap();
            }
        }
        let job = steps
            .load(&ready.tenant_id, &ready.export_id)
            .await
            .unwrap()
            .unwrap();
        let r = job
            .deliveries
            .iter()
            .find(|r| r.is(&dst.parse().unwrap(), DeliveryEvent::ExportReady))
            .cloned();
        if let Some(r) = r.filter(|r| r.status != DeliveryStatus::Pending) {
            break r;
        }
        assert!(
            Instant::now() < deadline,
            "no outcome: {:?}",
            job.deliveries
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(record.status, DeliveryStatus::Delivered, "{record:?}");
    assert_eq!(record.attempts, 3);
    let received = receivers::logged(&log);
    assert_eq!(
        received
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [500, 500, 204],
        "once delivered, never again: {received:?}"
    );
    assert!(received.iter().all(|r| r["verified"] == true));
    assert!(received.iter().all(|r| r["id"] == received[0]["id"]));
    assert_eq!(
        received[2]["payload"]["data"]["export_id"],
        ready.export_id.as_str()
    );
}
