//! Scheduled exports without any server: embedded adapters in a temp dir, the scheduler
//! loop driven pass by pass with a chosen `now`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bytes::Bytes;
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};

use ec_domain::messages::QueueName;
use ec_domain::ports::{ConnectionPush, PortResult, QueueConsumer, ScheduleTrigger};
use ec_domain::schedule::{CronSpec, Schedule, run_key};
use ec_domain::{ErrorCode, PortError};
use ec_embedded::{Db, SqliteQueue};
use ec_pipeline::Pipeline;
use ec_pipeline::app::Caller;
use ec_pipeline::app::inputs::SCHEDULE_KEY_PREFIX;
use ec_pipeline::scheduler::latest_slot;

mod support;
use support::Calls;

struct NoPush;

#[async_trait]
impl ConnectionPush for NoPush {
    async fn post(&self, id: &str, _: Bytes) -> PortResult<()> {
        Err(PortError::Gone(id.into()))
    }
}

/// Records registrations; fails them while `fail` is set.
#[derive(Default)]
struct TestTrigger {
    fail: AtomicBool,
    registered: Mutex<Vec<(String, String, String)>>,
    unregistered: Mutex<Vec<String>>,
}

#[async_trait]
impl ScheduleTrigger for TestTrigger {
    async fn register(&self, s: &Schedule, expression: &str, timezone: &str) -> PortResult<()> {
        if self.fail.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable("scheduler down".into()));
        }
        self.registered.lock().unwrap().push((
            s.schedule_id.to_string(),
            expression.into(),
            timezone.into(),
        ));
        Ok(())
    }

    async fn unregister(&self, s: &Schedule) -> PortResult<()> {
        self.unregistered
            .lock()
            .unwrap()
            .push(s.schedule_id.to_string());
        Ok(())
    }
}

struct Fixture {
    pipeline: Pipeline,
    db: Db,
    queue: Arc<SqliteQueue>,
    trigger: Arc<TestTrigger>,
    embedded: Option<ec_embedded::Embedded>,
    dir: tempfile::TempDir,
}

/// A pipeline on the database and objects of `dir` (a second one on the same dir is a
/// restarted process, once the first has released the directory).
async fn pipeline_on(
    dir: &std::path::Path,
    trigger: Arc<TestTrigger>,
) -> (Pipeline, ec_embedded::Embedded) {
    let e = support::embedded(dir).await;
    let mut ports = e.ports.clone();
    ports.push = Arc::new(NoPush);
    ports.trigger = trigger;
    (support::pipeline(ports), e)
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let trigger = Arc::new(TestTrigger::default());
    let (pipeline, e) = pipeline_on(dir.path(), trigger.clone()).await;
    Fixture {
        pipeline,
        db: e.db.clone(),
        queue: e.queue.clone(),
        trigger,
        embedded: Some(e),
        dir,
    }
}

const FIXTURE: &[u8] =
    include_bytes!("../../../tests/fixtures/real/trivy/trivy-golden_alpine-310.json");

fn acme() -> Caller {
    Caller {
        tenant: "acme".parse().unwrap(),
        subject: "alice".into(),
    }
}

fn globex() -> Caller {
    Caller {
        tenant: "globex".parse().unwrap(),
        subject: "bob".into(),
    }
}

fn export_request(scan_id: &str) -> Value {
    json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan_id]}})
}

impl Fixture {
    async fn scan(&self, caller: &Caller) -> String {
        self.pipeline
            .ingest_scan(caller, FIXTURE)
            .await
            .unwrap()
            .scan_id
            .to_string()
    }

    async fn jobs(&self, tenant: &str) -> Vec<ec_domain::Job> {
        support::jobs(&self.pipeline)
            .list(&tenant.parse().unwrap(), None, 200, None)
            .await
            .unwrap()
            .items
    }

    async fn gather_messages(&self) -> usize {
        self.queue
            .receive(QueueName::Gather, 100, std::time::Duration::from_secs(60))
            .await
            .unwrap()
            .len()
    }

    async fn stored(&self, tenant: &str) -> Vec<Schedule> {
        support::schedules(&self.pipeline)
            .list(&tenant.parse().unwrap())
            .await
            .unwrap()
    }

    /// Rewrites the stored schedule (a conditional update, as any writer would).
    async fn rewrite(&self, s: &Schedule, f: impl FnOnce(&mut Schedule)) -> Schedule {
        let current = self
            .pipeline
            .scheduler
            .store
            .get(&s.tenant_id, &s.schedule_id)
            .await
            .unwrap()
            .unwrap();
        let mut next = current.clone();
        f(&mut next);
        next.version = current.version + 1;
        self.pipeline
            .scheduler
            .store
            .update(&next, current.version)
            .await
            .unwrap();
        next
    }

    async fn get(&self, s: &Schedule) -> Schedule {
        self.pipeline
            .scheduler
            .store
            .get(&s.tenant_id, &s.schedule_id)
            .await
            .unwrap()
            .unwrap()
    }
}

fn at(s: &str) -> OffsetDateTime {
    ec_domain::time::parse_rfc3339(s).unwrap()
}

#[tokio::test]
async fn bad_schedules_are_refused_and_nothing_is_stored() {
    let f = fixture().await;
    let scan = f.scan(&acme()).await;
    let other_tenants_scan = f.scan(&globex()).await;
    let p = &f.pipeline;
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            json!({"cron": "0 6 * *", "request": export_request(&scan)}),
            422,
            "cron",
        ),
        (
            json!({"cron": "61 6 * * 1", "request": export_request(&scan)}),
            422,
            "cron",
        ),
        (
            json!({"cron": "0 6 1 * 1", "request": export_request(&scan)}),
            422,
            "cron",
        ),
        (
            json!({"cron": "0 6 * * 1", "timezone": "Mars/Olympus", "request": export_request(&scan)}),
            422,
            "timezone",
        ),
        (
            json!({"cron": 6, "request": export_request(&scan)}),
            422,
            "cron",
        ),
        (json!({"request": export_request(&scan)}), 422, "cron"),
        (json!({"cron": "0 6 * * 1"}), 422, "request"),
        (
            json!({"cron": "0 6 * * 1", "request": "nightly"}),
            422,
            "request",
        ),
        (
            json!({"cron": "0 6 * * 1", "request": export_request(&scan), "paused": true}),
            422,
            "paused",
        ),
        (json!(["0 6 * * 1"]), 422, "body"),
        // The request is validated like POST /api/v1/exports, fields named inside the body.
        (
            json!({"cron": "0 6 * * 1", "request": {"type": "scan_report", "format": "docx", "scope": {"scan_ids": [scan]}}}),
            422,
            "request.format",
        ),
        (
            json!({"cron": "0 6 * * 1", "request": {"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan]}, "extra": 1}}),
            422,
            "request.extra",
        ),
        (
            json!({"cron": "0 6 * * 1", "request": export_request("scan-missing")}),
            404,
            "request.scope.scan_ids",
        ),
        (
            json!({"cron": "0 6 * * 1", "request": export_request(&other_tenants_scan)}),
            404,
            "request.scope.scan_ids",
        ),
    ];
    for (body, status, field) in cases {
        let e = p.create_schedule(&acme(), &body).await.unwrap_err();
        assert_eq!(e.status(), status, "{body}: {e:?}");
        assert!(
            e.details.iter().any(|d| d.field == field),
            "{body}: expected a detail on {field}: {e:?}"
        );
    }
    assert!(f.stored("acme").await.is_empty());
    assert!(f.trigger.registered.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_schedule_is_stored_registered_and_due_at_its_next_slot() {
    let f = fixture().await;
    let scan = f.scan(&acme()).await;
    let p = &f.pipeline;
    let before = ec_domain::time::now();
    let s = p
        .create_schedule(
            &acme(),
            &json!({"cron": " 0  6 * * 1 ", "timezone": "Europe/Berlin", "request": export_request(&scan)}),
        )
        .await
        .unwrap();
    assert!(s.schedule_id.starts_with("sch-"), "{}", s.schedule_id);
    assert_eq!(
        (s.tenant_id.as_str(), s.created_by.as_str()),
        ("acme", "alice")
    );
    assert_eq!(
        (s.cron.as_str(), s.timezone.as_str()),
        ("0 6 * * 1", "Europe/Berlin")
    );
    assert_eq!(s.request, export_request(&scan));
    let spec = CronSpec::parse("0 6 * * 1", "Europe/Berlin").unwrap();
    let next = s.next_run_at.unwrap();
    assert_eq!(Some(next), spec.next_after(s.created_at));
    assert!(
        next > before && next <= before + Duration::days(7),
        "{next}"
    );
    assert_eq!(
        (s.last_run_at, &s.last_export_id, &s.last_error),
        (None, &None, &None)
    );
    assert_eq!(
        *f.trigger.registered.lock().unwrap(),
        vec![(
            s.schedule_id.to_string(),
            "cron(0 6 ? * 2 *)".to_string(),
            "Europe/Berlin".to_string()
        )]
    );

    // Time zone defaults to UTC.
    let utc = p
        .create_schedule(
            &acme(),
            &json!({"cron": "30 2 1 * *", "request": export_request(&scan)}),
        )
        .await
        .unwrap();
    assert_eq!(utc.timezone, "UTC");

    assert_eq!(
        p.list_schedules(&acme()).await.unwrap(),
        vec![s.clone(), utc.clone()]
    );
    assert_eq!(p.get_schedule(&acme(), &s.schedule_id).await.unwrap(), s);
    // Another tenant sees nothing.
    assert!(p.list_schedules(&globex()).await.unwrap().is_empty());
    for id in [s.schedule_id.as_str(), "sch-nope", "../x"] {
        assert_eq!(
            p.get_schedule(&globex(), id).await.unwrap_err().status(),
            404
        );
        assert_eq!(
            p.delete_schedule(&globex(), id).await.unwrap_err().status(),
            404
        );
    }
    assert_eq!(p.list_schedules(&acme()).await.unwrap().len(), 2);

    // Delete: unregistered, then gone; a run for it afterwards does nothing.
    p.delete_schedule(&acme(), &s.schedule_id).await.unwrap();
    assert_eq!(
        *f.trigger.unregistered.lock().unwrap(),
        vec![s.schedule_id.to_string()]
    );
    assert_eq!(
        p.get_schedule(&acme(), &s.schedule_id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert_eq!(
        p.delete_schedule(&acme(), &s.schedule_id)
            .await
            .unwrap_err()
            .status(),
        404
    );
    assert!(
        p.run_schedule("acme", &s.schedule_id, next)
            .await
            .unwrap()
            .is_none()
    );
    assert!(f.jobs("acme").await.is_empty());
}

#[tokio::test]
async fn a_failed_registration_leaves_nothing() {
    let f = fixture().await;
    let scan = f.scan(&acme()).await;
    f.trigger.fail.store(true, Ordering::SeqCst);
    let e = f
        .pipeline
        .create_schedule(
            &acme(),
            &json!({"cron": "0 6 * * 1", "request": export_request(&scan)}),
        )
        .await
        .unwrap_err();
    assert_eq!((e.status(), e.code), (503, ErrorCode::Unavailable));
    assert!(f.stored("acme").await.is_empty());
}

#[tokio::test]
async fn a_scheduled_time_runs_once_however_often_it_is_triggered() {
    let f = fixture().await;
    let scan = f.scan(&acme()).await;
    let p = &f.pipeline;
    let s = p
        .create_schedule(
            &acme(),
            &json!({"cron": "0 6 * * 1", "request": export_request(&scan)}),
        )
        .await
        .unwrap();
    let slot = s.next_run_at.unwrap();

    let job = p
        .run_schedule("acme", &s.schedule_id, slot)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.schedule_id.as_deref(), Some(s.schedule_id.as_str()));
    assert_eq!(job.requested_by, "alice");
    let again = p
        .run_schedule("acme", &s.schedule_id, slot)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.export_id, job.export_id);

    let after = f.get(&s).await;
    assert_eq!(after.last_run_at, Some(slot));
    assert_eq!(
        after.last_export_id.as_deref(),
        Some(job.export_id.as_str())
    );
    assert!(
        after.next_run_at.unwrap() > slot,
        "next run moved past the slot"
    );

    // A crash after the job was made but before the schedule recorded it: the next
    // delivery finds the job through the run's idempotency key.
    f.rewrite(&s, |x| {
        x.last_run_at = None;
        x.last_export_id = None;
        x.next_run_at = Some(slot);
    })
    .await;
    let third = p
        .run_schedule("acme", &s.schedule_id, slot)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(third.export_id, job.export_id);
    assert_eq!(
        f.get(&s).await.last_export_id.as_deref(),
        Some(job.export_id.as_str())
    );

    // ... and so does one replayed after the key expired (a long downtime): the run's
    // export id is derived from the run.
    p.app
        .exports
        .idempotency
        .release(&"acme".parse().unwrap(), &run_key(&s.schedule_id, slot))
        .await
        .unwrap();
    f.rewrite(&s, |x| {
        x.last_run_at = None;
        x.last_export_id = None;
        x.next_run_at = Some(slot);
    })
    .await;
    let fourth = p
        .run_schedule("acme", &s.schedule_id, slot)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(fourth.export_id, job.export_id);

    // One job, one gather message.
    let jobs = f.jobs("acme").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].schedule_id.as_deref(), Some(s.schedule_id.as_str()));
    assert_eq!(f.gather_messages().await, 1);

    // The next slot is another run; a stale trigger for an older slot is skipped.
    let slot2 = slot + Duration::days(7);
    let job2 = p
        .run_schedule("acme", &s.schedule_id, slot2)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(job2.export_id, job.export_id);
    assert!(
        p.run_schedule("acme", &s.schedule_id, slot)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(f.jobs("acme").await.len(), 2);

    // Clients cannot use a run's key themselves.
    let e = p
        .create_export(
            &acme(),
            &export_request(&scan),
            Some(&run_key(&s.schedule_id, slot2 + Duration::days(7))),
        )
        .await
        .unwrap_err();
    assert_eq!(e.status(), 422);
    assert!(run_key("sch-x", slot).starts_with(SCHEDULE_KEY_PREFIX));
}

#[tokio::test]
async fn missed_runs_coalesce_into_one_catch_up_and_a_restart_does_not_run_again() {
    let mut f = fixture().await;
    let scan = f.scan(&acme()).await;
    let p = &f.pipeline;
    let s = p
        .create_schedule(
            &acme(),
            &json!({"cron": "*/5 * * * *", "request": export_request(&scan)}),
        )
        .await
        .unwrap();
    let now = ec_domain::time::now();
    // Down for a little over an hour: a dozen slots missed.
    let long_ago = s.next_run_at.unwrap() - Duration::minutes(65);
    f.rewrite(&s, |x| x.next_run_at = Some(long_ago)).await;
    let spec = CronSpec::parse("*/5 * * * *", "UTC").unwrap();
    let latest = latest_slot(&spec, long_ago, now);
    assert!(
        latest <= now && now - latest < Duration::minutes(5),
        "{latest} vs {now}"
    );

    assert_eq!(p.run_due_schedules(now).await, 1);
    let jobs = f.jobs("acme").await;
    assert_eq!(jobs.len(), 1, "one catch-up run, not one per missed slot");
    assert_eq!(jobs[0].schedule_id.as_deref(), Some(s.schedule_id.as_str()));
    let after = f.get(&s).await;
    assert_eq!(
        after.last_run_at,
        Some(latest),
        "the catch-up is for the most recent slot"
    );
    assert_eq!(
        after.last_export_id.as_deref(),
        Some(jobs[0].export_id.as_str())
    );
    let next = after.next_run_at.unwrap();
    assert!(
        next > now && next <= now + Duration::minutes(5),
        "continues from now: {next}"
    );

    // Another pass at the same time, and a restarted process on the same data: nothing.
    assert_eq!(p.run_due_schedules(now).await, 0);
    // The first process lets go of the data directory (its lock), as a dead one does.
    drop(f.embedded.take());
    let (restarted, _restarted) = pipeline_on(f.dir.path(), f.trigger.clone()).await;
    assert_eq!(restarted.run_due_schedules(now).await, 0);
    assert_eq!(f.jobs("acme").await.len(), 1);

    // A crash between the run and any write to the schedule: the restarted loop finds
    // the same slot due again, and the run key dedups it.
    f.rewrite(&s, |x| {
        x.next_run_at = Some(long_ago);
        x.last_run_at = None;
        x.last_export_id = None;
    })
    .await;
    assert_eq!(restarted.run_due_schedules(now).await, 1);
    assert_eq!(
        f.jobs("acme").await.len(),
        1,
        "no double run after a restart"
    );
    let healed = f.get(&s).await;
    assert_eq!(
        healed.last_export_id.as_deref(),
        Some(jobs[0].export_id.as_str())
    );
    assert_eq!(healed.next_run_at, Some(next));

    // The next slot runs normally.
    assert_eq!(restarted.run_due_schedules(next).await, 1);
    assert_eq!(f.jobs("acme").await.len(), 2);
    assert_eq!(f.get(&s).await.last_run_at, Some(next));
}

#[tokio::test]
async fn a_run_whose_request_became_invalid_is_recorded_and_the_loop_goes_on() {
    let f = fixture().await;
    let gone = f.scan(&acme()).await;
    let kept = f.scan(&globex()).await;
    let p = &f.pipeline;
    let broken = p
        .create_schedule(
            &acme(),
            &json!({"cron": "*/5 * * * *", "request": export_request(&gone)}),
        )
        .await
        .unwrap();
    let fine = p
        .create_schedule(
            &globex(),
            &json!({"cron": "*/5 * * * *", "request": export_request(&kept)}),
        )
        .await
        .unwrap();
    // The scan is deleted after the schedule was made.
    let g = gone.clone();
    f.db.call(move |c| {
        Ok(c.execute(
            "DELETE FROM scans WHERE tenant = 'acme' AND scan_id = ?1",
            [g],
        )?)
    })
    .await
    .unwrap();

    let now = broken.next_run_at.unwrap().max(fine.next_run_at.unwrap()) + Duration::seconds(1);
    assert_eq!(
        p.run_due_schedules(now).await,
        1,
        "only the valid schedule ran"
    );
    assert!(f.jobs("acme").await.is_empty());
    assert_eq!(f.jobs("globex").await.len(), 1);

    let b = f.get(&broken).await;
    let err = b.last_error.clone().expect("the failure is recorded");
    assert_eq!(err.code.as_str(), "ERR_NOT_FOUND");
    assert!(err.message.contains(&gone), "{}", err.message);
    assert_eq!(b.last_export_id, None);
    assert!(b.next_run_at.unwrap() > now, "the broken schedule moves on");
    // It is not retried in a loop.
    assert_eq!(p.run_due_schedules(now).await, 0);
    assert_eq!(f.get(&broken).await.version, b.version);

    // A later successful run clears the error.
    let scan = f.scan(&acme()).await;
    f.rewrite(&broken, |x| x.request = export_request(&scan))
        .await;
    let job = p
        .run_schedule("acme", &broken.schedule_id, b.next_run_at.unwrap())
        .await
        .unwrap()
        .unwrap();
    let healed = f.get(&broken).await;
    assert_eq!(healed.last_error, None);
    assert_eq!(healed.last_export_id, Some(job.export_id));
}

#[test]
fn latest_slot_finds_the_most_recent_missed_time() {
    let spec = CronSpec::parse("0 6 * * 1", "UTC").unwrap();
    // Due 2024-12-02 (a Monday); now is Wednesday 2025-01-15: last Monday 06:00 is Jan 13.
    let due = at("2024-12-02T06:00:00Z");
    assert_eq!(
        latest_slot(&spec, due, at("2025-01-15T12:00:00Z")),
        at("2025-01-13T06:00:00Z")
    );
    // Nothing after the due time yet: the due time itself.
    assert_eq!(latest_slot(&spec, due, at("2024-12-02T06:00:30Z")), due);
    assert_eq!(latest_slot(&spec, due, at("2024-12-09T05:59:59Z")), due);
    // Exactly on a slot.
    assert_eq!(
        latest_slot(&spec, due, at("2024-12-09T06:00:00Z")),
        at("2024-12-09T06:00:00Z")
    );
    // Years of downtime on a minutely schedule: still one answer, quickly.
    let every = CronSpec::parse("* * * * *", "UTC").unwrap();
    assert_eq!(
        latest_slot(
            &every,
            at("2020-01-01T00:00:00Z"),
            at("2025-01-15T12:34:56Z")
        ),
        at("2025-01-15T12:34:00Z")
    );
    let first_of_month = CronSpec::parse("* * 1 * *", "UTC").unwrap();
    assert_eq!(
        latest_slot(
            &first_of_month,
            at("2020-01-01T00:00:00Z"),
            at("2025-01-15T12:34:56Z")
        ),
        at("2025-01-01T23:59:00Z")
    );
}
