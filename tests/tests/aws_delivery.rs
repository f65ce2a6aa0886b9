//! Delivery on the AWS stack, against moto over HTTP (`EC_MOTO_ENDPOINT`): three
//! destinations made through the Lambda API handler — a webhook (its secret an SSM
//! SecureString), email through a real SMTP server, GitHub code scanning through the stub —,
//! a ready SARIF export (its report in the S3 store) naming them, their delivery messages on
//! the SQS deliver queue drained into the `export-deliver` batch handler: every receiver
//! (the webhook verified by the Standard Webhooks reference library) fails twice first, the
//! retries come back through the queue's delay, every batch is handled twice, and each
//! receiver accepts exactly once.

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
use ec_domain::ports::{ObjectStore, QueueConsumer};
use ec_domain::{Job, Transition};
use ec_lambda::aws::Aws;
use ec_tests::{receivers, repo_root, sqs_event};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const GITHUB_TOKEN: &str = "ghp_test-token-not-real";

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
async fn three_destinations_are_delivered_once_through_sqs() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets.json");
    let log = dir.path().join("received.jsonl");
    std::fs::write(
        &secrets,
        json!({"/hook": {"secret": SECRET, "fail_first": 2}}).to_string(),
    )
    .unwrap();
    let (_receiver, port) = receivers::start("webhook_receiver.py", &[&secrets, &log]);
    let mailbox = dir.path().join("mailbox.jsonl");
    let (_smtp, smtp_port) =
        receivers::start("smtp_receiver.py", &[&mailbox, std::path::Path::new("2")]);
    let github_log = dir.path().join("github.jsonl");
    let (_github, github_port) = receivers::start(
        "github_stub.py",
        &[
            std::path::Path::new(GITHUB_TOKEN),
            &github_log,
            std::path::Path::new("2"),
        ],
    );

    let sdk = common::moto_config().await;
    let ddb = tables::client().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let deliver = common::create_queue(&sqs, &[]).await;
    let store = common::s3_store().await;
    let bucket = store.bucket().to_string();
    let mut env: HashMap<String, String> = ec_tests::local_env();
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
        (
            "EXPORTCENTER_SMTP_URL",
            format!("smtp://127.0.0.1:{smtp_port}"),
        ),
        (
            "EXPORTCENTER_GITHUB_API_URL",
            format!("http://127.0.0.1:{github_port}"),
        ),
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
    let create = |destination: Value| {
        let (router, token) = (router.clone(), token.clone());
        async move {
            let mut req = api_event("POST", "/api/v1/destinations", &destination);
            req["headers"]["authorization"] = Value::String(format!("Bearer {token}"));
            let req =
                lambda_http::request::from_str(&req.to_string()).expect("an API Gateway event");
            let req = req.map(|b| axum::body::Body::from(b.to_vec()));
            let resp = router.oneshot(req).await.unwrap();
            let status = resp.status().as_u16();
            let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
                .await
                .unwrap();
            let created: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            assert_eq!(status, 201, "{created}");
            created["destination_id"].as_str().unwrap().to_string()
        }
    };
    let dst = create(json!({"name": "SIEM", "type": "webhook",
        "config": {"url": format!("http://127.0.0.1:{port}/hook"), "secret": SECRET}}))
    .await;
    let mail = create(json!({"name": "CISO", "type": "email",
        "config": {"to": ["ciso@acme.example"]}}))
    .await;
    let github = create(
        json!({"name": "code scanning", "type": "github_code_scanning",
        "config": {"repository": "acme/app", "ref": "refs/heads/main",
                   "commit_sha": "0123456789abcdef0123456789abcdef01234567",
                   "token": GITHUB_TOKEN}}),
    )
    .await;
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

    // A ready SARIF export naming them, its report in the store (the chain up to sealing
    // is aws_chain.rs's).
    let request = ec_domain::ExportRequest::from_json(
        &json!({"type": "scan_report", "format": "sarif", "scope": {"scan_ids": ["scan-1"]},
                "options": {"destinations": [dst, mail, github]}}),
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
    let job = ec_tests::walk_to_sealing(steps, job).await;
    let sarif = json!({"version": "2.1.0",
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "runs": [{"tool": {"driver": {"name": "ExportCenter"}}, "results": []}]})
    .to_string();
    let report_key = format!("acme/{}/report.sarif", job.export_id);
    store
        .put(&report_key, sarif.clone().into(), "application/sarif+json")
        .await
        .unwrap();
    let report = ec_domain::Artifact {
        kind: ec_domain::ArtifactKind::Report,
        key: report_key,
        media_type: "application/sarif+json".into(),
        size: sarif.len() as u64,
        sha256: ec_domain::ids::sha256_hex(sarif.as_bytes()),
    };
    let ready = steps
        .finish(
            &job,
            Transition::Ready {
                artifacts: vec![report],
            },
        )
        .await
        .unwrap();
    assert_eq!(
        ready.deliveries.len(),
        0,
        "recorded by the write after the transition"
    );

    // Drain the deliver queue into the batch handler, each batch twice, until every delivery
    // has an outcome.
    let consumer = ec_aws::SqsQueue::from_vars(
        &[("EXPORTCENTER_DELIVER_QUEUE_URL", deliver.as_str())],
        aws_sdk_sqs::Client::new(&sdk),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let records = loop {
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
        let done = job.deliveries.len() == 3
            && job
                .deliveries
                .iter()
                .all(|r| r.status != DeliveryStatus::Pending);
        if done {
            break job.deliveries;
        }
        assert!(
            Instant::now() < deadline,
            "no outcome: {:?}",
            job.deliveries
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    for id in [&dst, &mail, &github] {
        let record = records
            .iter()
            .find(|r| r.is(&id.parse().unwrap(), DeliveryEvent::ExportReady))
            .unwrap();
        assert_eq!(record.status, DeliveryStatus::Delivered, "{record:?}");
        assert_eq!(record.attempts, 3, "two failures first: {record:?}");
    }
    let mails = receivers::logged(&mailbox);
    assert_eq!(mails.len(), 1, "one email accepted: {mails:?}");
    assert!(
        mails[0]["subject"]
            .as_str()
            .unwrap()
            .contains(ready.export_id.as_str())
    );
    let uploads: Vec<Value> = receivers::logged(&github_log)
        .into_iter()
        .filter(|r| r["method"] == "POST")
        .collect();
    assert_eq!(
        uploads
            .iter()
            .map(|r| r["status"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [503, 503, 202],
        "one upload accepted: {uploads:?}"
    );
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
