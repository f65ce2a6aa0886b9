//! The stage handlers without any server: embedded adapters in a temp dir, messages fed by
//! hand, including the duplicate deliveries SQS and S3 make.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;

use ec_domain::messages::{JobMessage, ObjectCreated, QueueName};
use ec_domain::ports::{ConnectionPush, ConnectionRegistry, PortResult, QueueConsumer};
use ec_domain::{JobStatus, PortError};
use ec_embedded::{SqliteConnections, SqliteQueue};
use ec_pipeline::app::Caller;
use ec_pipeline::{Outcome, Pipeline};

mod support;
use support::Calls;

/// Records every push; connection ids starting with `gone-` answer Gone.
#[derive(Default)]
struct Recorder(Mutex<Vec<(String, serde_json::Value)>>);

#[async_trait]
impl ConnectionPush for Recorder {
    async fn post(&self, id: &str, payload: Bytes) -> PortResult<()> {
        if id.starts_with("gone-") {
            return Err(PortError::Gone(id.into()));
        }
        self.0
            .lock()
            .unwrap()
            .push((id.into(), serde_json::from_slice(&payload).unwrap()));
        Ok(())
    }
}

struct Fixture {
    pipeline: Pipeline,
    ports: ec_domain::ports::Ports,
    queue: Arc<SqliteQueue>,
    pushes: Arc<Recorder>,
    connections: Arc<SqliteConnections>,
    _embedded: ec_embedded::Embedded,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let e = support::embedded(dir.path()).await;
    let pushes = Arc::new(Recorder::default());
    let mut ports = e.ports.clone();
    ports.push = pushes.clone();
    Fixture {
        pipeline: support::pipeline(ports.clone()),
        ports,
        queue: e.queue.clone(),
        pushes,
        connections: e.connections.clone(),
        _embedded: e,
        _dir: dir,
    }
}

const FIXTURE: &[u8] =
    include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_alpine-310.json");

impl Fixture {
    /// Receives one message of `queue` (it must be there) without acknowledging it.
    async fn take(&self, queue: QueueName) -> String {
        support::take(&self.queue, queue).await
    }

    fn ready_events(&self) -> usize {
        self.pushes
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|(_, v)| v["type"] == "export.ready")
            .count()
    }
}

#[tokio::test]
async fn duplicates_of_every_message_give_one_artifact_and_one_ready() {
    let f = fixture().await;
    let caller = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "alice".into(),
    };
    f.connections
        .register(
            "conn-1",
            &"acme".parse().unwrap(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    f.connections
        .register(
            "gone-2",
            &"acme".parse().unwrap(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    f.connections
        .register(
            "conn-3",
            &"globex".parse().unwrap(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();

    let scan = f.pipeline.ingest_scan(&caller, FIXTURE).await.unwrap();
    let req = serde_json::json!({"type":"scan_report","format":"json","scope":{"scan_ids":[scan.scan_id]}});
    let job = f.pipeline.create_export(&caller, &req, None).await.unwrap();
    let p = &f.pipeline;

    let gather = f.take(QueueName::Gather).await;
    assert_eq!(
        p.handle(QueueName::Gather, &gather).await.unwrap(),
        Outcome::Done
    );
    // A duplicate gather after the job moved on re-sends render (harmless) and does no work.
    assert!(matches!(
        p.handle(QueueName::Gather, &gather).await.unwrap(),
        Outcome::Skipped(_)
    ));

    let render = f.take(QueueName::Render).await;
    let render_dup = f.take(QueueName::Render).await;
    assert_eq!(
        p.handle(QueueName::Render, &render).await.unwrap(),
        Outcome::Done
    );
    // The job is now `storing`; a duplicate render rewrites the identical report.
    assert_eq!(
        p.handle(QueueName::Render, &render_dup).await.unwrap(),
        Outcome::Done
    );

    let seal = f.take(QueueName::Seal).await;
    let seal_dup = f.take(QueueName::Seal).await;
    let event: ObjectCreated = serde_json::from_str(&seal).unwrap();
    assert_eq!(
        event.key,
        format!("reports/acme/{}/report.json", job.export_id)
    );
    assert_eq!(
        p.handle(QueueName::Seal, &seal).await.unwrap(),
        Outcome::Done
    );
    assert!(matches!(
        p.handle(QueueName::Seal, &seal_dup).await.unwrap(),
        Outcome::Skipped(_)
    ));
    assert!(matches!(
        p.handle(QueueName::Render, &render).await.unwrap(),
        Outcome::Skipped(_)
    ));

    let done = p.get_export(&caller, &job.export_id).await.unwrap();
    assert_eq!(done.status, JobStatus::Ready);
    assert_eq!(done.artifacts.len(), 2);
    assert_eq!(f.ready_events(), 1, "exactly one export.ready");
    let pushes = f.pushes.0.lock().unwrap().clone();
    assert!(
        pushes.iter().all(|(id, _)| id == "conn-1"),
        "only the tenant's live connection: {pushes:?}"
    );
    assert_eq!(
        f.connections.list(&"acme".parse().unwrap()).await.unwrap(),
        ["conn-1"],
        "the gone connection was forgotten"
    );
}

#[tokio::test]
async fn cancelled_jobs_stop_and_failures_are_final() {
    let f = fixture().await;
    let caller = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "alice".into(),
    };
    let scan = f.pipeline.ingest_scan(&caller, FIXTURE).await.unwrap();
    let req = serde_json::json!({"type":"scan_report","format":"csv","scope":{"scan_ids":[scan.scan_id]}});
    let job = f.pipeline.create_export(&caller, &req, None).await.unwrap();
    f.pipeline
        .app
        .exports
        .cancel(&caller, &job.export_id)
        .await
        .unwrap();
    let gather = f.take(QueueName::Gather).await;
    assert!(matches!(
        f.pipeline.handle(QueueName::Gather, &gather).await.unwrap(),
        Outcome::Skipped(_)
    ));
    assert_eq!(
        f.pipeline
            .get_export(&caller, &job.export_id)
            .await
            .unwrap()
            .status,
        JobStatus::Cancelled
    );

    let msg = serde_json::to_string(&JobMessage {
        tenant_id: "acme".parse().unwrap(),
        export_id: "exp-none".parse().unwrap(),
    })
    .unwrap();
    assert!(matches!(
        f.pipeline.handle(QueueName::Render, &msg).await.unwrap(),
        Outcome::Skipped(_)
    ));
    let err = f
        .pipeline
        .handle(QueueName::Gather, "{not json")
        .await
        .unwrap_err();
    assert!(!err.is_retryable());

    // A job whose scan vanished fails for good, with a code, and says so.
    let job = f.pipeline.create_export(&caller, &req, None).await.unwrap();
    f.connections
        .register(
            "conn-1",
            &"acme".parse().unwrap(),
            std::time::Duration::from_secs(60),
        )
        .await
        .unwrap();
    let objects_dir = f._dir.path().join("objects/scans/acme");
    std::fs::remove_dir_all(objects_dir).unwrap();
    let gather = f.take(QueueName::Gather).await;
    let err = f
        .pipeline
        .handle(QueueName::Gather, &gather)
        .await
        .unwrap_err();
    f.pipeline.give_up(QueueName::Gather, &gather, &err).await;
    let failed = f
        .pipeline
        .get_export(&caller, &job.export_id)
        .await
        .unwrap();
    assert_eq!(failed.status, JobStatus::Failed);
    assert_eq!(failed.error.unwrap().code.as_str(), "ERR_DATA_SOURCE");
    // Asking for its report says why there is none.
    let e = f
        .pipeline
        .app
        .exports
        .download_url(&caller, &job.export_id, ec_domain::ArtifactKind::Report)
        .await
        .unwrap_err();
    assert_eq!(e.code, ec_domain::ErrorCode::NotReady);
    assert!(
        e.message.contains("failed") && e.message.contains("ERR_DATA_SOURCE"),
        "{}",
        e.message
    );
    assert!(
        f.pushes
            .0
            .lock()
            .unwrap()
            .iter()
            .any(|(_, v)| v["type"] == "export.failed")
    );
}

/// A first attempt that died after writing its job but before sending the message leaves a
/// queued job without one: replaying its idempotency key sends the message, and the job
/// completes; the replay never makes a second job.
#[tokio::test]
async fn replaying_a_key_resends_the_message_of_a_job_still_queued() {
    let mut f = fixture().await;
    // Any wait counts as too long here.
    f.pipeline = Pipeline::new(
        f.ports.clone(),
        ec_pipeline::Settings {
            resend_queued_after: std::time::Duration::ZERO,
            ..ec_pipeline::Settings::default()
        },
    );
    let caller = Caller {
        tenant: "acme".parse().unwrap(),
        subject: "alice".into(),
    };
    let scan = f.pipeline.ingest_scan(&caller, FIXTURE).await.unwrap();
    let req = serde_json::json!({"type":"scan_report","format":"csv","scope":{"scan_ids":[scan.scan_id]}});
    let job = f
        .pipeline
        .create_export(&caller, &req, Some("retry-1"))
        .await
        .unwrap();
    // The message is lost, as if the process had died before sending it.
    let lost = f
        .queue
        .receive(QueueName::Gather, 1, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    f.queue
        .ack(QueueName::Gather, &lost[0].receipt)
        .await
        .unwrap();
    assert_eq!(f.queue.depth(QueueName::Gather).await.unwrap().total(), 0);

    let replay = f
        .pipeline
        .create_export(&caller, &req, Some("retry-1"))
        .await
        .unwrap();
    assert_eq!(replay.export_id, job.export_id);
    let p = &f.pipeline;
    let gather = f.take(QueueName::Gather).await;
    assert_eq!(
        p.handle(QueueName::Gather, &gather).await.unwrap(),
        Outcome::Done
    );
    let render = f.take(QueueName::Render).await;
    assert_eq!(
        p.handle(QueueName::Render, &render).await.unwrap(),
        Outcome::Done
    );
    let created = f.take(QueueName::Seal).await;
    assert_eq!(
        p.handle(QueueName::Seal, &created).await.unwrap(),
        Outcome::Done
    );
    let done = p.get_export(&caller, &job.export_id).await.unwrap();
    assert_eq!(done.status, JobStatus::Ready);

    // Once the job has left `queued`, a replay sends nothing more (the one message taken
    // above is still unacknowledged, so only new ones would be visible).
    p.create_export(&caller, &req, Some("retry-1"))
        .await
        .unwrap();
    let depth = f.queue.depth(QueueName::Gather).await.unwrap();
    assert_eq!((depth.visible, depth.delayed), (0, 0));
}
