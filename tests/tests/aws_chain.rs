//! The AWS stack end to end against a real emulator over HTTP (moto_server, started by the
//! test command; `EC_MOTO_ENDPOINT`): the export-api handler fed the `events/` payloads, the
//! job row in DynamoDB, SQS gather and render batches, the report in S3, the emulator's own
//! S3 → SQS notification drained into export-seal, the sealed bundle, `ready`, and
//! PostToConnection for the tenant's connection; duplicate deliveries; a scheduled run.
//!
//! One test function: it sets the process environment the functions read.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType,
};
use bytes::Bytes;
use serde_json::{Value, json};
use tower::ServiceExt;

use ec_domain::messages::QueueName;
use ec_domain::ports::{ConnectionPush, PortResult, QueueConsumer};
use ec_lambda::aws::Aws;
use ec_tests::repo_root;

/// Forwards to the real PostToConnection adapter and remembers what was sent.
struct Recording {
    inner: Arc<dyn ConnectionPush>,
    sent: Mutex<Vec<(String, Value)>>,
}

#[async_trait]
impl ConnectionPush for Recording {
    async fn post(&self, id: &str, payload: Bytes) -> PortResult<()> {
        self.inner.post(id, payload.clone()).await?;
        self.sent.lock().unwrap().push((
            id.into(),
            serde_json::from_slice(&payload).unwrap_or_default(),
        ));
        Ok(())
    }
}

fn event(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("events").join(name)).unwrap()
}

/// Reads the `local.env` the README tells users to run with.
fn local_env() -> Vec<(String, String)> {
    let mut env: Vec<_> = ec_tests::local_env().into_iter().collect();
    env.sort();
    env
}

async fn create_table(
    client: &aws_sdk_dynamodb::Client,
    name: &str,
    keys: &[(&str, KeyType)],
    gsi: Option<(&str, &[(&str, KeyType)])>,
) {
    let key = |(n, t): &(&str, KeyType)| {
        KeySchemaElement::builder()
            .attribute_name(*n)
            .key_type(t.clone())
            .build()
            .unwrap()
    };
    let mut attrs: Vec<&str> = keys.iter().map(|(n, _)| *n).collect();
    let mut req = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::PayPerRequest)
        .set_key_schema(Some(keys.iter().map(key).collect()));
    if let Some((index, gkeys)) = gsi {
        attrs.extend(gkeys.iter().map(|(n, _)| *n));
        req = req.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(gkeys.iter().map(key).collect()))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .unwrap(),
        );
    }
    attrs.sort();
    attrs.dedup();
    for a in attrs {
        req = req.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(a)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        );
    }
    req.send()
        .await
        .unwrap_or_else(|e| panic!("create table {name}: {e:?}"));
}

use ec_tests::sqs_event;

async fn api(router: &axum::Router, event_json: &str) -> (u16, Value) {
    let req = lambda_http::request::from_str(event_json).expect("an API Gateway event");
    let req = req.map(|b| axum::body::Body::from(b.to_vec()));
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_chain_on_the_emulator() {
    let endpoint = std::env::var("EC_MOTO_ENDPOINT").expect(
        "EC_MOTO_ENDPOINT is not set: run the README's test command, which starts moto_server",
    );
    let suffix = ulid::Ulid::new().to_string().to_lowercase();
    let n = |s: &str| format!("ec-{s}-{suffix}");

    // The environment of events/local.env, pointed at this emulator and this test's resources.
    let mut env = local_env();
    let overrides = [
        ("AWS_ENDPOINT_URL", endpoint.clone()),
        ("EXPORTCENTER_BUCKET", n("artifacts")),
        ("EXPORTCENTER_JOBS_TABLE", n("jobs")),
        ("EXPORTCENTER_IDEMPOTENCY_TABLE", n("idem")),
        ("EXPORTCENTER_SCANS_TABLE", n("scans")),
        ("EXPORTCENTER_CONNECTIONS_TABLE", n("conns")),
        ("EXPORTCENTER_SCHEDULES_TABLE", n("schedules")),
        ("EXPORTCENTER_AUDIT_TABLE", n("audit")),
        ("EXPORTCENTER_QUOTAS_TABLE", n("quotas")),
        ("EXPORTCENTER_DESTINATIONS_TABLE", n("destinations")),
        ("EXPORTCENTER_WS_MANAGEMENT_ENDPOINT", endpoint.clone()),
        ("EXPORTCENTER_SCHEDULE_GROUP", n("group")),
    ];
    for (k, v) in overrides {
        env.retain(|(key, _)| key != k);
        env.push((k.to_string(), v));
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;

    // Queues, with S3 → SQS notifications for the reports prefix as the emulator's stand-in
    // for S3 → Lambda.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let mut urls = std::collections::HashMap::new();
    for &q in QueueName::ALL {
        let url = sqs
            .create_queue()
            .queue_name(n(q.as_str()))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        env.push((ec_aws::sqs::queue_url_env(q).to_string(), url.clone()));
        urls.insert(q, url);
    }
    let seal_arn = sqs
        .get_queue_attributes()
        .queue_url(&urls[&QueueName::Seal])
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket()
        .bucket(n("artifacts"))
        .send()
        .await
        .unwrap();
    use aws_sdk_s3::types::*;
    s3.put_bucket_notification_configuration()
        .bucket(n("artifacts"))
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(
                    QueueConfiguration::builder()
                        .queue_arn(seal_arn)
                        .events(Event::S3ObjectCreated)
                        .filter(
                            NotificationConfigurationFilter::builder()
                                .key(
                                    S3KeyFilter::builder()
                                        .filter_rules(
                                            FilterRule::builder()
                                                .name(FilterRuleName::Prefix)
                                                .value("reports/")
                                                .build(),
                                        )
                                        .build(),
                                )
                                .build(),
                        )
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ddb = aws_sdk_dynamodb::Client::new(&sdk);
    use KeyType::{Hash, Range};
    create_table(
        &ddb,
        &n("jobs"),
        &[("tenant_id", Hash), ("export_id", Range)],
        Some(("by_created", &[("tenant_id", Hash), ("created_key", Range)])),
    )
    .await;
    create_table(
        &ddb,
        &n("idem"),
        &[("tenant_id", Hash), ("idem_key", Range)],
        None,
    )
    .await;
    create_table(
        &ddb,
        &n("scans"),
        &[("tenant_id", Hash), ("scan_id", Range)],
        Some(("by_scanned", &[("tenant_id", Hash), ("scanned_key", Range)])),
    )
    .await;
    create_table(
        &ddb,
        &n("conns"),
        &[("connection_id", Hash)],
        Some(("by_tenant", &[("tenant_id", Hash)])),
    )
    .await;
    create_table(
        &ddb,
        &n("schedules"),
        &[("tenant_id", Hash), ("schedule_id", Range)],
        None,
    )
    .await;
    create_table(&ddb, &n("audit"), &[("chain", Hash), ("seq", Range)], None).await;
    create_table(
        &ddb,
        &n("quotas"),
        &[("tenant_id", Hash), ("quota_key", Range)],
        None,
    )
    .await;
    create_table(
        &ddb,
        &n("destinations"),
        &[("tenant_id", Hash), ("destination_id", Range)],
        None,
    )
    .await;
    let scheduler = aws_sdk_scheduler::Client::new(&sdk);
    scheduler
        .create_schedule_group()
        .name(n("group"))
        .send()
        .await
        .unwrap();

    for (k, v) in &env {
        // SAFETY: this test binary has this one test, which sets the environment before it
        // starts anything that reads it.
        unsafe { std::env::set_var(k, v) };
    }

    // What export-api, export-gather/render/seal, export-notify and export-schedule build.
    let aws = Aws::from_env().await.unwrap();
    let mut ports = aws.ports().unwrap();
    // As export-render's main does: only that function renders.
    ports.renderer = Arc::new(
        ec_adapters::renderer::LocalRenderer::from_env(&ec_pipeline::settings::ProcessEnv).unwrap(),
    );
    let recording = Arc::new(Recording {
        inner: ports.push.clone(),
        sent: Mutex::new(Vec::new()),
    });
    ports.push = recording.clone();
    let pipeline = ec_pipeline::Pipeline::new(ports, aws.settings().clone());
    let mut state = aws.api_state().unwrap();
    state.app = pipeline.app.clone();
    let router = ec_api::router(state);
    let ws = aws.ws_routes().unwrap();

    // $connect with the sample event registers the tenant's connection in DynamoDB.
    let connect: Value = serde_json::from_str(&event("ws-connect.json")).unwrap();
    assert_eq!(ws.handle(&connect).await["statusCode"], 200);

    let (status, health) = api(&router, &event("api-healthz.json")).await;
    assert_eq!((status, &health["status"]), (200, &json!("ok")));
    let (status, scan) = api(&router, &event("api-post-scan.json")).await;
    assert_eq!(status, 201, "{scan}");
    assert_eq!(
        scan["scan_id"], "scan-8b3c7c805e84a0c17021e382",
        "events/api-post-export.json names this scan"
    );
    let (status, job) = api(&router, &event("api-post-export.json")).await;
    assert_eq!(status, 202, "{job}");
    let export_id = job["export_id"].as_str().unwrap().to_string();
    let (status, again) = api(&router, &event("api-post-export.json")).await;
    assert_eq!(
        (status, again["export_id"].as_str()),
        (202, Some(export_id.as_str())),
        "Idempotency-Key honoured"
    );
    let row = pipeline
        .app
        .exports
        .jobs
        .get(&"acme".parse().unwrap(), &export_id.parse().unwrap())
        .await
        .unwrap()
        .expect("job row in DynamoDB");
    assert_eq!(row.status.as_str(), "queued");

    // Gather: the real SQS message, delivered twice.
    let consumer =
        ec_aws::SqsQueue::from_vars(&ec_domain::env::ProcessEnv, aws_sdk_sqs::Client::new(&sdk));
    let receive = |q: QueueName| {
        let consumer = &consumer;
        async move {
            let mut got = Vec::new();
            for _ in 0..50 {
                got.extend(
                    consumer
                        .receive(q, 10, Duration::from_secs(30))
                        .await
                        .unwrap(),
                );
                if !got.is_empty() {
                    // Give the emulator a moment for a second (duplicate) message, then stop.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    got.extend(
                        consumer
                            .receive(q, 10, Duration::from_secs(30))
                            .await
                            .unwrap(),
                    );
                    return got;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            panic!("no message on the {} queue", q.as_str())
        }
    };
    let gather = receive(QueueName::Gather).await;
    assert_eq!(gather.len(), 1);
    for _ in 0..2 {
        let r =
            ec_lambda::sqs::handle_batch(&pipeline.stages, QueueName::Gather, sqs_event(&gather))
                .await;
        assert!(r.batch_item_failures.is_empty());
    }
    let render = receive(QueueName::Render).await;
    assert!(!render.is_empty());
    for _ in 0..2 {
        let r =
            ec_lambda::sqs::handle_batch(&pipeline.stages, QueueName::Render, sqs_event(&render))
                .await;
        assert!(r.batch_item_failures.is_empty());
    }
    let report_key = format!("reports/acme/{export_id}/report.json");
    s3.head_object()
        .bucket(n("artifacts"))
        .key(&report_key)
        .send()
        .await
        .expect("report in S3");

    // The emulator's S3 → SQS notification, drained into export-seal, twice.
    // (moto also sends an `s3:TestEvent` when the configuration is set: the handler ignores it.)
    let mut seal = Vec::new();
    for _ in 0..50 {
        seal.extend(
            consumer
                .receive(QueueName::Seal, 10, Duration::from_secs(30))
                .await
                .unwrap(),
        );
        if seal
            .iter()
            .filter(|d| d.body.contains("ObjectCreated"))
            .count()
            >= 2
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        seal.iter()
            .filter(|d| d.body.contains("ObjectCreated"))
            .count()
            >= 2,
        "one S3 notification per put of the report (the duplicate renders put it again)"
    );
    for _ in 0..2 {
        let r =
            ec_lambda::sqs::handle_batch(&pipeline.stages, QueueName::Seal, sqs_event(&seal)).await;
        assert!(r.batch_item_failures.is_empty());
    }
    let done = pipeline
        .app
        .exports
        .jobs
        .get(&"acme".parse().unwrap(), &export_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status.as_str(), "ready", "{:?}", done.error);
    assert_eq!(done.artifacts.len(), 2);
    let ready: Vec<_> = recording
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["type"] == "export.ready")
        .cloned()
        .collect();
    assert_eq!(ready.len(), 1, "one export.ready for all the duplicates");
    assert_eq!(
        ready[0].0, "conn-local-1",
        "PostToConnection to the registered connection"
    );
    let sealed = s3
        .list_objects_v2()
        .bucket(n("artifacts"))
        .prefix(format!("sealed/acme/{export_id}/"))
        .send()
        .await
        .unwrap()
        .key_count;
    assert_eq!(sealed, Some(1), "one sealed artifact");

    // Download through the presigned S3 URL and verify the bundle offline.
    let token_event: Value = serde_json::from_str(&event("api-list-exports.json")).unwrap();
    let mut download = token_event.clone();
    download["rawPath"] = json!(format!("/api/v1/exports/{export_id}/download"));
    download["rawQueryString"] = json!("artifact=sealed");
    download["queryStringParameters"] = json!({"artifact": "sealed"});
    download["requestContext"]["http"]["path"] = download["rawPath"].clone();
    let req = lambda_http::request::from_str(&download.to_string())
        .unwrap()
        .map(|b| axum::body::Body::from(b.to_vec()));
    let resp = router.clone().oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 302);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let bundle = reqwest::get(&location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let verified = ec_seal::verify(&bundle).expect("sealed bundle verifies");
    assert_eq!(verified.export_id, export_id);

    let (status, list) = api(&router, &event("api-list-exports.json")).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().map(Vec::len), Some(1));
    let (status, missing) = api(&router, &event("api-get-export.json")).await;
    assert_eq!((status, &missing["code"]), (404, &json!("ERR_NOT_FOUND")));

    // A schedule: created through the API (a real EventBridge Scheduler schedule), then fired
    // twice for the same time by the export-schedule handler: one job, with the schedule id.
    let (status, schedule) = api(&router, &event("api-post-schedule.json")).await;
    assert_eq!(status, 201, "{schedule}");
    let schedule_id = schedule["schedule_id"].as_str().unwrap().to_string();
    let registered = scheduler
        .get_schedule()
        .group_name(n("group"))
        .name(&schedule_id)
        .send()
        .await
        .unwrap();
    assert_eq!(registered.schedule_expression(), Some("cron(0 6 ? * 2 *)"));
    let mut fire: Value = serde_json::from_str(&event("schedule.json")).unwrap();
    fire["schedule_id"] = json!(schedule_id);
    let first = ec_lambda::schedule::handle(&pipeline.scheduler, &fire)
        .await
        .unwrap();
    let second = ec_lambda::schedule::handle(&pipeline.scheduler, &fire)
        .await
        .unwrap();
    let run_id = first["export_id"]
        .as_str()
        .expect("a scheduled export")
        .to_string();
    assert_eq!(
        second["export_id"], first["export_id"],
        "a duplicate trigger starts nothing new"
    );
    let run = pipeline
        .app
        .exports
        .jobs
        .get(&"acme".parse().unwrap(), &run_id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(run.schedule_id.as_deref(), Some(schedule_id.as_str()));
    let (_, list) = api(&router, &event("api-list-exports.json")).await;
    assert_eq!(list["items"].as_array().map(Vec::len), Some(2));

    let disconnect: Value = serde_json::from_str(&event("ws-disconnect.json")).unwrap();
    assert_eq!(ws.handle(&disconnect).await["statusCode"], 200);

    // The tenant's audit trail in DynamoDB: one unbroken chain holding the chain's
    // changes, the seal's entry once despite the duplicate deliveries.
    let trail = pipeline
        .app
        .audit
        .list(
            &ec_domain::audit::AuditChain::Tenant("acme".parse().unwrap()),
            &ec_domain::audit::AuditQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    ec_domain::audit::verify_chain(&trail).expect("an unbroken chain");
    let count = |a: &str| trail.iter().filter(|e| e.action.as_str() == a).count();
    assert_eq!(count("scan.ingest"), 1, "{trail:?}");
    assert!(count("export.create") >= 2, "{trail:?}");
    assert_eq!(count("export.sealed"), 1, "{trail:?}");
    assert_eq!(count("schedule.create"), 1, "{trail:?}");
}
