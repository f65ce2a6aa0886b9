//! Per-tenant quotas on the AWS stack through the Lambda API handler, against moto over
//! HTTP (`EC_MOTO_ENDPOINT`): 50 concurrent `POST /api/v1/exports` (the `events/` payload,
//! each with its own `Idempotency-Key`) against the default concurrent limit of 10 give
//! exactly 10 × 202 and 40 × 429 with the quota headers; the DynamoDB job table holds 10
//! jobs, the gather queue 10 messages; a replay consumes nothing; a cancel frees one slot.

#[path = "../../shared/aws/tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use futures_util::future::join_all;
use serde_json::Value;
use tower::ServiceExt;

use common::tables::{self, AUDIT, IDEMPOTENCY, JOBS, QUOTAS, SCANS};
use ec_aws::wiring::AwsAdapters;
use ec_domain::messages::QueueName;
use ec_domain::ports::QueueConsumer;
use ec_lambda::aws::Aws;
use ec_tests::repo_root;

struct Answer {
    status: u16,
    headers: http::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<u64> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
    }
}

fn event(name: &str) -> Value {
    let text = std::fs::read_to_string(repo_root().join("events").join(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Sends an API Gateway event through the router export-api serves.
async fn api(router: &axum::Router, event: &Value) -> Answer {
    let req = lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event");
    let req = req.map(|b| axum::body::Body::from(b.to_vec()));
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

/// `events/api-post-export.json` with `key` as its `Idempotency-Key`.
fn post_export(key: &str) -> Value {
    let mut e = event("api-post-export.json");
    e["headers"]["idempotency-key"] = Value::String(key.into());
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_exports_through_the_lambda_api_handler() {
    let sdk = common::moto_config().await;
    let ddb = tables::client().await;
    let bucket = common::s3_store().await.bucket().to_string();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let gather = common::create_queue(&sqs, &[]).await;
    let render = common::create_queue(&sqs, &[]).await;
    let local: HashMap<String, String> = ec_tests::local_env();
    let mut env = local.clone();
    for (k, v) in [
        ("EXPORTCENTER_BUCKET", bucket),
        (
            "EXPORTCENTER_JOBS_TABLE",
            tables::create_table(&ddb, "ec-jobs", &JOBS).await,
        ),
        (
            "EXPORTCENTER_IDEMPOTENCY_TABLE",
            tables::create_table(&ddb, "ec-idem", &IDEMPOTENCY).await,
        ),
        (
            "EXPORTCENTER_SCANS_TABLE",
            tables::create_table(&ddb, "ec-scans", &SCANS).await,
        ),
        (
            "EXPORTCENTER_QUOTAS_TABLE",
            tables::create_table(&ddb, "ec-quotas", &QUOTAS).await,
        ),
        (
            "EXPORTCENTER_AUDIT_TABLE",
            tables::create_table(&ddb, "ec-audit", &AUDIT).await,
        ),
        ("EXPORTCENTER_GATHER_QUEUE_URL", gather.clone()),
        ("EXPORTCENTER_RENDER_QUEUE_URL", render),
        (
            "EXPORTCENTER_WS_MANAGEMENT_ENDPOINT",
            common::moto_endpoint(),
        ),
    ] {
        env.insert(k.to_string(), v);
    }
    let aws = Aws::new(Arc::new(env), AwsAdapters::from_sdk(sdk)).unwrap();
    let state = aws.api_state().unwrap();
    let audit = state.app.audit.clone();
    let router = ec_api::router(state);

    let scan = api(&router, &event("api-post-scan.json")).await;
    assert_eq!(scan.status, 201, "{}", scan.body);
    // The same report gzipped, as API Gateway hands a compressed upload to the function
    // (base64, `isBase64Encoded`): decompressed by the API, the same scan (issue 14).
    let mut gzipped = event("api-post-scan.json");
    let plain = gzipped["body"]
        .as_str()
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let mut packer = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut packer, &plain).unwrap();
    let packed = packer.finish().unwrap();
    gzipped["body"] = Value::String(base64::engine::general_purpose::STANDARD.encode(packed));
    gzipped["isBase64Encoded"] = Value::Bool(true);
    gzipped["headers"]["content-encoding"] = Value::String("gzip".into());
    let again = api(&router, &gzipped).await;
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body["scan_id"], scan.body["scan_id"]);

    let keys: Vec<String> = (0..50).map(|i| format!("aws-burst-{i}")).collect();
    let events: Vec<Value> = keys.iter().map(|k| post_export(k)).collect();
    let answers = join_all(events.iter().map(|e| api(&router, e))).await;
    let accepted: Vec<usize> = (0..50).filter(|i| answers[*i].status == 202).collect();
    assert_eq!(
        accepted.len(),
        10,
        "{:?}",
        answers.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    for a in &answers {
        assert_eq!(a.header("x-quota-limit"), Some(60), "{:?}", a.headers);
        assert!(a.header("x-quota-remaining").is_some(), "{:?}", a.headers);
        assert!(
            a.header("x-quota-reset")
                .is_some_and(|r| (1..=60).contains(&r))
        );
        if a.status != 202 {
            assert_eq!(a.status, 429, "{}", a.body);
            assert_eq!(a.body["code"], "ERR_QUOTA");
            assert!(a.header("retry-after").is_some_and(|s| s >= 1));
            let message = a.body["message"].as_str().unwrap();
            assert!(message.contains("(concurrent limit 10)"), "{message}");
        }
    }
    // Exactly ten jobs and ten gather messages: a refusal leaves nothing behind.
    let ports = aws.ports().unwrap();
    let acme = "acme".parse().unwrap();
    let page = ports.jobs.list(&acme, None, 100, None).await.unwrap();
    assert_eq!(page.items.len(), 10);
    let queue = ec_aws::SqsQueue::new(aws_sdk_sqs::Client::new(&common::moto_config().await), {
        let mut m = HashMap::new();
        m.insert(QueueName::Gather, gather);
        m
    });
    let mut messages = 0;
    for _ in 0..10 {
        let got = queue
            .receive(QueueName::Gather, 10, Duration::from_secs(300))
            .await
            .unwrap();
        if got.is_empty() {
            break;
        }
        messages += got.len();
    }
    assert_eq!(messages, 10);

    // A replay answers its job and consumes nothing.
    let replay = api(&router, &post_export(&keys[accepted[0]])).await;
    assert_eq!(replay.status, 202, "{}", replay.body);
    assert_eq!(
        replay.body["export_id"],
        answers[accepted[0]].body["export_id"]
    );
    assert_eq!(replay.header("x-quota-concurrent-remaining"), Some(0));
    assert_eq!(api(&router, &post_export("one-more")).await.status, 429);

    // Cancelling one frees exactly one slot.
    let id = answers[accepted[1]].body["export_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut cancel = event("api-post-export.json");
    cancel["rawPath"] = Value::String(format!("/api/v1/exports/{id}"));
    cancel["requestContext"]["http"]["method"] = Value::String("DELETE".into());
    cancel["requestContext"]["http"]["path"] = Value::String(format!("/api/v1/exports/{id}"));
    cancel["body"] = Value::Null;
    let c = api(&router, &cancel).await;
    assert_eq!(c.status, 202, "{}", c.body);
    assert_eq!(api(&router, &cancel).await.status, 409);
    assert_eq!(api(&router, &post_export("after-cancel")).await.status, 202);
    assert_eq!(api(&router, &post_export("after-that")).await.status, 429);

    // The audit chain in DynamoDB after the burst: one unbroken chain, every request in it.
    let query = ec_domain::audit::AuditQuery {
        limit: 1000,
        ..Default::default()
    };
    let trail = audit
        .list(
            &ec_domain::audit::AuditChain::Tenant("acme".parse().unwrap()),
            &query,
        )
        .await
        .unwrap()
        .items;
    ec_domain::audit::verify_chain(&trail).expect("an unbroken chain after the burst");
    let creates = trail
        .iter()
        .filter(|e| e.action == ec_domain::audit::AuditAction::ExportCreate)
        .count();
    assert!(creates >= 50, "{creates} export.create entries");
    assert!(trail.iter().filter(|e| e.status == 429).count() >= 40);
}

/// On AWS the tenant settings document may be an SSM parameter: `EXPORTCENTER_TENANT_SETTINGS`
/// naming no file is read from SSM at cold start (on moto); a missing parameter stops the
/// start with the variable named.
#[tokio::test]
async fn tenant_settings_from_an_ssm_parameter() {
    let sdk = common::moto_config().await;
    let name = format!("/exportcenter/{}", common::unique("tenant-settings"));
    let document = r#"{"default": {"quota": {"concurrent_exports": 4}},
        "tenants": {"acme": {"quota": {"concurrent_exports": 2, "exports_per_minute": 7}}}}"#;
    aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&name)
        .value(document)
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .expect("put the parameter");
    let env: HashMap<String, String> = [
        ("EXPORTCENTER_TENANT_SETTINGS".to_string(), name.clone()),
        ("EXPORTCENTER_JWT_SECRET".to_string(), "x".repeat(32)),
    ]
    .into_iter()
    .collect();
    let aws = Aws::resolve(Arc::new(env.clone()), AwsAdapters::from_sdk(sdk.clone()))
        .await
        .expect("settings from SSM");
    let acme = aws.settings().tenants.for_tenant(&"acme".parse().unwrap());
    assert_eq!(
        (acme.quota.concurrent_exports, acme.quota.exports_per_minute),
        (2, 7)
    );
    let other = aws
        .settings()
        .tenants
        .for_tenant(&"globex".parse().unwrap());
    assert_eq!(other.quota.concurrent_exports, 4);

    let mut missing = env;
    missing.insert(
        "EXPORTCENTER_TENANT_SETTINGS".into(),
        format!("{name}-missing"),
    );
    let e = Aws::resolve(Arc::new(missing), AwsAdapters::from_sdk(sdk))
        .await
        .err()
        .expect("a missing parameter is an error");
    let message = e.to_string();
    assert!(
        message.contains("EXPORTCENTER_TENANT_SETTINGS") && message.contains("missing"),
        "{message}"
    );
}
