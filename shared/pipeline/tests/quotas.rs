//! Quotas in the export service, over the embedded adapters: a slot is released exactly once
//! when a job ends (ready, failed, cancelled), whatever the duplicate deliveries; replays and
//! refusals consume nothing; scheduled runs need a slot but are not counted per minute; a
//! slot left behind by a crash is reclaimed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};
use time::OffsetDateTime;

use ec_domain::messages::QueueName;
use ec_domain::ports::{PortResult, QueueConsumer, QuotaUsage, Quotas, Reservation, SlotHolder};
use ec_domain::tenant_settings::{QuotaSettings, TenantSettings, TenantSettingsBook};
use ec_domain::{ErrorCode, ExportId, JobStatus, StageError, TenantId};
use ec_pipeline::app::Caller;
use ec_pipeline::{Outcome, Pipeline, Settings};

mod support;
use support::Calls;

/// Forwards to the real adapter and counts `release` calls per export.
struct Counting {
    inner: Arc<dyn Quotas>,
    releases: Mutex<HashMap<ExportId, usize>>,
}

#[async_trait]
impl Quotas for Counting {
    async fn reserve(
        &self,
        t: &TenantId,
        id: &ExportId,
        l: &QuotaSettings,
        count: bool,
        now: OffsetDateTime,
    ) -> PortResult<Reservation> {
        self.inner.reserve(t, id, l, count, now).await
    }
    async fn release(&self, t: &TenantId, id: &ExportId) -> PortResult<bool> {
        *self.releases.lock().unwrap().entry(id.clone()).or_default() += 1;
        self.inner.release(t, id).await
    }
    async fn refund(&self, t: &TenantId, at: OffsetDateTime) -> PortResult<()> {
        self.inner.refund(t, at).await
    }
    async fn usage(&self, t: &TenantId, now: OffsetDateTime) -> PortResult<QuotaUsage> {
        self.inner.usage(t, now).await
    }
    async fn holders(&self, t: &TenantId) -> PortResult<Vec<SlotHolder>> {
        self.inner.holders(t).await
    }
}

struct Fixture {
    pipeline: Pipeline,
    quotas: Arc<Counting>,
    embedded: ec_embedded::Embedded,
    _dir: tempfile::TempDir,
}

async fn fixture(exports_per_minute: u32, concurrent_exports: u32) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let e = support::embedded(dir.path()).await;
    let quotas = Arc::new(Counting {
        inner: e.ports.quotas.clone(),
        releases: Mutex::default(),
    });
    let mut ports = e.ports.clone();
    ports.quotas = quotas.clone();
    let settings = Settings {
        tenants: TenantSettingsBook::uniform(TenantSettings {
            quota: QuotaSettings {
                exports_per_minute,
                concurrent_exports,
            },
            ..TenantSettings::default()
        }),
        ..Settings::default()
    };
    Fixture {
        pipeline: Pipeline::new(ports, settings),
        quotas,
        embedded: e,
        _dir: dir,
    }
}

fn acme() -> Caller {
    Caller {
        tenant: "acme".parse().unwrap(),
        subject: "alice".into(),
    }
}

const FIXTURE: &[u8] =
    include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_alpine-310.json");

impl Fixture {
    async fn request(&self) -> Value {
        let scan = self.pipeline.ingest_scan(&acme(), FIXTURE).await.unwrap();
        json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan.scan_id]}})
    }

    async fn usage(&self) -> QuotaUsage {
        let now = ec_domain::time::now();
        self.quotas.usage(&acme().tenant, now).await.unwrap()
    }

    fn releases(&self, id: &ExportId) -> usize {
        self.quotas
            .releases
            .lock()
            .unwrap()
            .get(id)
            .copied()
            .unwrap_or(0)
    }

    /// Every message of `queue` now visible, unacknowledged.
    async fn take_all(&self, queue: QueueName) -> Vec<String> {
        let got = self
            .embedded
            .queue
            .receive(queue, 100, std::time::Duration::from_secs(600))
            .await
            .unwrap();
        got.into_iter().map(|d| d.body).collect()
    }

    /// Delivers every message of `queue` twice.
    async fn deliver_twice(&self, queue: QueueName) {
        for body in self.take_all(queue).await {
            for _ in 0..2 {
                let _ = self.pipeline.handle(queue, &body).await;
            }
        }
    }

    async fn jobs(&self) -> usize {
        let page = support::jobs(&self.pipeline);
        page.list(&acme().tenant, None, 100, None)
            .await
            .unwrap()
            .items
            .len()
    }
}

#[tokio::test]
async fn a_slot_is_released_exactly_once_when_its_job_ends() {
    let f = fixture(100, 2).await;
    let req = f.request().await;
    let p = &f.pipeline;
    let a = p.create_export(&acme(), &req, None).await.unwrap();
    let b = p.create_export(&acme(), &req, None).await.unwrap();
    let refused = p.create_export(&acme(), &req, None).await.unwrap_err();
    assert_eq!(refused.code, ErrorCode::Quota);
    assert!(
        refused
            .message
            .contains("tenant acme has 2 exports queued or running (concurrent limit 2)"),
        "{}",
        refused.message
    );
    assert_eq!(f.jobs().await, 2, "a refusal writes no job");
    let gathers = f.take_all(QueueName::Gather).await;
    assert_eq!(gathers.len(), 2, "and sends no message");
    assert_eq!(f.usage().await.minute_used, 2, "nor counts the request");

    // `a` goes to ready with every message delivered twice; `b` is cancelled.
    for body in gathers.iter().filter(|g| g.contains(a.export_id.as_str())) {
        for _ in 0..2 {
            p.handle(QueueName::Gather, body).await.unwrap();
        }
    }
    f.deliver_twice(QueueName::Render).await;
    f.deliver_twice(QueueName::Seal).await;
    assert_eq!(
        p.get_export(&acme(), &a.export_id).await.unwrap().status,
        JobStatus::Ready
    );
    assert_eq!(f.releases(&a.export_id), 1);
    p.app.exports.cancel(&acme(), &b.export_id).await.unwrap();
    assert!(p.app.exports.cancel(&acme(), &b.export_id).await.is_err());
    assert_eq!(f.releases(&b.export_id), 1);
    assert_eq!(f.usage().await.concurrent_used, 0);

    // `c` fails for good, twice over (a retried give-up, and a duplicate message after).
    let c = p.create_export(&acme(), &req, None).await.unwrap();
    let d = p.create_export(&acme(), &req, None).await.unwrap();
    let gather = f
        .take_all(QueueName::Gather)
        .await
        .into_iter()
        .find(|g| g.contains(c.export_id.as_str()))
        .unwrap();
    let error = StageError::permanent(ErrorCode::DataSource, "the scanner said no");
    p.give_up(QueueName::Gather, &gather, &error).await;
    p.give_up(QueueName::Gather, &gather, &error).await;
    assert!(matches!(
        p.handle(QueueName::Gather, &gather).await.unwrap(),
        Outcome::Skipped(_)
    ));
    assert_eq!(
        p.get_export(&acme(), &c.export_id).await.unwrap().status,
        JobStatus::Failed
    );
    assert_eq!(f.releases(&c.export_id), 1);
    assert_eq!(f.releases(&d.export_id), 0);
    assert_eq!(f.usage().await.concurrent_used, 1, "d still holds its slot");
}

#[tokio::test]
async fn replays_and_refusals_consume_nothing() {
    let f = fixture(3, 1).await;
    let req = f.request().await;
    let p = &f.pipeline;
    let a = p.create_export(&acme(), &req, Some("k-a")).await.unwrap();
    let before = f.usage().await;
    assert_eq!((before.minute_used, before.concurrent_used), (1, 1));
    // At the concurrent limit, the replay still answers its job, and counts nothing.
    for _ in 0..3 {
        let again = p.create_export(&acme(), &req, Some("k-a")).await.unwrap();
        assert_eq!(again.export_id, a.export_id);
    }
    assert_eq!(f.usage().await, before);
    // A refused request gives its key back: once a slot is free the same key makes a job.
    let refused = p
        .create_export(&acme(), &req, Some("k-b"))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::Quota);
    assert_eq!(f.usage().await, before);
    p.app.exports.cancel(&acme(), &a.export_id).await.unwrap();
    let b = p.create_export(&acme(), &req, Some("k-b")).await.unwrap();
    assert_ne!(b.export_id, a.export_id);
    // The per-minute limit (3): two counted so far.
    p.app.exports.cancel(&acme(), &b.export_id).await.unwrap();
    let c = p.create_export(&acme(), &req, None).await.unwrap();
    p.app.exports.cancel(&acme(), &c.export_id).await.unwrap();
    let e = p.create_export(&acme(), &req, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Quota);
    assert!(e.message.contains("(limit 3 per minute)"), "{}", e.message);
}

#[tokio::test]
async fn scheduled_runs_need_a_slot_but_are_not_counted_per_minute() {
    let f = fixture(1, 2).await;
    let req = f.request().await;
    let p = &f.pipeline;
    p.create_export(&acme(), &req, None).await.unwrap();
    let s = p
        .create_schedule(&acme(), &json!({"cron": "0 6 * * 1", "request": req}))
        .await
        .unwrap();
    let slot = s.next_run_at.unwrap();
    let job = p.run_schedule("acme", &s.schedule_id, slot).await.unwrap();
    assert!(job.is_some(), "the per-minute limit (1) does not apply");
    assert_eq!(f.usage().await.minute_used, 1);
    // Both slots taken: the next run waits (a retryable refusal), and stays due.
    let next = slot + time::Duration::weeks(1);
    let e = p
        .run_schedule("acme", &s.schedule_id, next)
        .await
        .unwrap_err();
    assert!(e.is_retryable(), "{e}");
}

#[tokio::test]
async fn a_slot_left_by_a_crash_is_reclaimed_after_the_grace_period() {
    let f = fixture(100, 1).await;
    let req = f.request().await;
    let p = &f.pipeline;
    let limits = QuotaSettings {
        exports_per_minute: 100,
        concurrent_exports: 1,
    };
    let tenant = acme().tenant;
    // A process took a slot and died before writing its job: just now, the slot stands.
    let ghost: ExportId = "exp-ghost".parse().unwrap();
    let now = ec_domain::time::now();
    let r = f
        .quotas
        .reserve(&tenant, &ghost, &limits, false, now)
        .await
        .unwrap();
    assert!(matches!(r, Reservation::Granted(_)));
    let e = p.create_export(&acme(), &req, None).await.unwrap_err();
    assert_eq!(e.code, ErrorCode::Quota);
    // Taken over two minutes ago: reclaimed, and the request goes through.
    f.quotas.release(&tenant, &ghost).await.unwrap();
    let old = now - time::Duration::minutes(2);
    f.quotas
        .reserve(&tenant, &ghost, &limits, false, old)
        .await
        .unwrap();
    p.create_export(&acme(), &req, None).await.unwrap();
    let holders = f.quotas.holders(&tenant).await.unwrap();
    assert_eq!(holders.len(), 1);
    assert_ne!(holders[0].export_id, ghost);
}
