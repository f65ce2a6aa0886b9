//! The Lambda glue without AWS: SQS batches with partial failures, S3 and SQS-wrapped S3
//! seal events, and the WebSocket routes, over embedded adapters in a temp dir.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::sqs::{SqsEvent, SqsMessage};
use bytes::Bytes;
use serde_json::{Value, json};

use ec_domain::messages::{JobMessage, QueueName};
use ec_domain::ports::*;
use ec_domain::{ExportId, TenantId};
use ec_domain::{Job, JobStatus, PortError};
use ec_embedded::*;
use ec_lambda::ws::WsRoutes;
use ec_pipeline::Pipeline;
use ec_pipeline::app::Caller;

#[path = "../../pipeline/tests/support/mod.rs"]
mod support;
use support::Calls;

/// Jobs whose id starts with `exp-flaky` cannot be read: an outage.
struct FlakyJobs(SqliteJobTable);

#[async_trait]
impl JobTable for FlakyJobs {
    async fn create(&self, job: &Job) -> PortResult<()> {
        self.0.create(job).await
    }
    async fn get(&self, tenant: &TenantId, id: &ExportId) -> PortResult<Option<Job>> {
        if id.starts_with("exp-flaky") {
            return Err(PortError::Unavailable("table throttled".into()));
        }
        self.0.get(tenant, id).await
    }
    async fn update(&self, job: &Job, v: u64) -> PortResult<()> {
        self.0.update(job, v).await
    }
    async fn delete(&self, tenant: &TenantId, id: &ExportId) -> PortResult<()> {
        self.0.delete(tenant, id).await
    }
    async fn list(
        &self,
        t: &TenantId,
        s: Option<JobStatus>,
        l: usize,
        c: Option<&str>,
    ) -> PortResult<Page<Job>> {
        self.0.list(t, s, l, c).await
    }
    async fn sweepable(&self, now: time::OffsetDateTime, l: usize) -> PortResult<Vec<Job>> {
        self.0.sweepable(now, l).await
    }
}

#[derive(Default)]
struct Pushes(Mutex<Vec<(String, Value)>>);

#[async_trait]
impl ConnectionPush for Pushes {
    async fn post(&self, id: &str, payload: Bytes) -> PortResult<()> {
        self.0
            .lock()
            .unwrap()
            .push((id.into(), serde_json::from_slice(&payload).unwrap()));
        Ok(())
    }
}

const SECRET: &[u8] = b"glue-test-secret";

struct World {
    pipeline: Pipeline,
    queue: Arc<SqliteQueue>,
    pushes: Arc<Pushes>,
    connections: Arc<SqliteConnections>,
    _embedded: Embedded,
    _dir: tempfile::TempDir,
}

async fn world() -> World {
    let dir = tempfile::tempdir().unwrap();
    let e = support::embedded(dir.path()).await;
    let pushes = Arc::new(Pushes::default());
    let mut ports = e.ports.clone();
    ports.jobs = Arc::new(FlakyJobs(SqliteJobTable::new(e.db.clone())));
    ports.push = pushes.clone();
    World {
        pipeline: support::pipeline(ports),
        queue: e.queue.clone(),
        pushes,
        connections: e.connections.clone(),
        _embedded: e,
        _dir: dir,
    }
}

fn record(id: &str, body: &str, receive_count: u32) -> SqsMessage {
    serde_json::from_value(json!({
        "messageId": id, "receiptHandle": "rh", "body": body, "eventSource": "aws:sqs",
        "attributes": {"ApproximateReceiveCount": receive_count.to_string()}, "messageAttributes": {}
    }))
    .unwrap()
}

fn batch(records: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = records;
    e
}

async fn queued_job(w: &World) -> Job {
    let caller = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "t".into(),
    };
    let doc = include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_amazon-2.json");
    let scan = w.pipeline.ingest_scan(&caller, doc).await.unwrap();
    let req = json!({"type":"scan_report","format":"json","scope":{"scan_ids":[scan.scan_id]}});
    w.pipeline.create_export(&caller, &req, None).await.unwrap()
}

async fn drain(w: &World, q: QueueName) -> Vec<String> {
    w.queue
        .receive(q, 10, Duration::from_secs(60))
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.body)
        .collect()
}

#[tokio::test]
async fn batches_report_only_retryable_failures() {
    let w = world().await;
    let job = queued_job(&w).await;
    let good = drain(&w, QueueName::Gather).await.remove(0);
    let flaky = serde_json::to_string(&JobMessage {
        tenant_id: "acme".parse().unwrap(),
        export_id: "exp-flaky-1".parse().unwrap(),
    })
    .unwrap();
    let resp = ec_lambda::sqs::handle_batch(
        &w.pipeline.stages,
        QueueName::Gather,
        batch(vec![
            record("m1", &good, 1),
            record("m2", &flaky, 1),
            record("m3", "{oops", 1),
        ]),
    )
    .await;
    let failed: Vec<_> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    assert_eq!(
        failed,
        ["m2"],
        "only the outage is retried; the malformed record is settled"
    );
    assert_eq!(
        w.pipeline
            .get_export(
                &Caller {
                    tenant: "acme".parse().unwrap(),
                    subject: "t".into()
                },
                &job.export_id
            )
            .await
            .unwrap()
            .stage
            .map(|s| s.as_str()),
        Some("rendering")
    );
    // On the last allowed receive the failure is final: settled, not reported.
    let resp = ec_lambda::sqs::handle_batch(
        &w.pipeline.stages,
        QueueName::Gather,
        batch(vec![record("m2", &flaky, 5)]),
    )
    .await;
    assert!(resp.batch_item_failures.is_empty());
}

#[tokio::test]
async fn seal_accepts_direct_and_sqs_wrapped_s3_events_once() {
    let w = world().await;
    let caller = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "t".into(),
    };
    let job = queued_job(&w).await;
    for q in [QueueName::Gather, QueueName::Render] {
        for body in drain(&w, q).await {
            assert!(
                ec_lambda::sqs::handle_batch(
                    &w.pipeline.stages,
                    q,
                    batch(vec![record("m", &body, 1)])
                )
                .await
                .batch_item_failures
                .is_empty()
            );
        }
    }
    assert_eq!(
        drain(&w, QueueName::Seal).await.len(),
        1,
        "the embedded store announced the report"
    );
    // What S3 sends: percent-encoded key, emulator-style record without userIdentity.
    let key = format!("reports%2Facme%2F{}%2Freport.json", job.export_id);
    let s3 = json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": key, "size": 1}}}]});
    ec_lambda::seal::handle(&w.pipeline.stages, s3.clone())
        .await
        .unwrap();
    let ready = w
        .pipeline
        .get_export(&caller, &job.export_id)
        .await
        .unwrap();
    assert_eq!(ready.status, JobStatus::Ready);
    // The same notification through SQS, again: settled, nothing re-sealed.
    let wrapped = json!({"Records": [{"messageId": "s1", "receiptHandle": "r", "body": s3.to_string(),
        "eventSource": "aws:sqs", "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}}]});
    let answer = ec_lambda::seal::handle(&w.pipeline.stages, wrapped)
        .await
        .unwrap();
    assert_eq!(answer["batchItemFailures"], json!([]));
    let again = w
        .pipeline
        .get_export(&caller, &job.export_id)
        .await
        .unwrap();
    assert_eq!(
        again.version, ready.version,
        "the duplicate changed nothing"
    );
}

#[tokio::test]
async fn websocket_routes_authenticate_register_and_answer() {
    let w = world().await;
    let routes = WsRoutes {
        auth: Arc::new(ec_api::Auth::hs256(SECRET)),
        audit: w.pipeline.app.audit.clone(),
        registry: w.connections.clone(),
        push: w.pushes.clone(),
        ttl: Duration::from_secs(60),
    };
    let token = ec_api::auth::mint(SECRET, "u", "acme", "export:read", 60).unwrap();
    let ev = |route: &str, extra: Value| {
        let mut e = json!({"requestContext": {"routeKey": route, "connectionId": "c-1", "requestId": "r-1"}});
        e.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        e
    };
    let bad = routes
        .handle(&ev(
            "$connect",
            json!({"queryStringParameters": {"token": "nope", "tenant": "acme"}}),
        ))
        .await;
    assert_eq!(bad["statusCode"], 401);
    let body: Value = serde_json::from_str(bad["body"].as_str().unwrap()).unwrap();
    assert_eq!(body["code"], "ERR_UNAUTHENTICATED");
    let wrong_tenant = routes.handle(&ev("$connect", json!({"headers": {"Authorization": format!("Bearer {token}"), "X-Tenant-Id": "globex"}}))).await;
    assert_eq!(wrong_tenant["statusCode"], 403);
    // Both refusals are in the operators' chain, without the token.
    let system = w
        .pipeline
        .app
        .audit
        .list(
            &ec_domain::audit::AuditChain::System,
            &ec_domain::audit::AuditQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .items;
    assert_eq!(
        system
            .iter()
            .map(|e| (e.status, e.resource.as_str()))
            .collect::<Vec<_>>(),
        [(401, "$connect"), (403, "$connect")]
    );
    assert!(!serde_json::to_string(&system).unwrap().contains(&token));
    assert!(
        w.connections
            .list(&"acme".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    let ok = routes
        .handle(&ev(
            "$connect",
            json!({"queryStringParameters": {"token": token, "tenant": "acme"}}),
        ))
        .await;
    assert_eq!(ok["statusCode"], 200);
    assert_eq!(
        w.connections.list(&"acme".parse().unwrap()).await.unwrap(),
        ["c-1"]
    );
    let pong = routes
        .handle(&ev("$default", json!({"body": "{\"action\":\"ping\"}"})))
        .await;
    assert_eq!(pong["statusCode"], 200);
    assert_eq!(
        w.pushes.0.lock().unwrap()[0],
        ("c-1".to_string(), json!({"type": "pong"}))
    );
    routes.handle(&ev("$disconnect", json!({}))).await;
    assert!(
        w.connections
            .list(&"acme".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );
}
