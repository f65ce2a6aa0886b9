use ec_domain::PortError;
use ec_domain::ports::{ScheduleStore, ScheduleTrigger};
use ec_domain::schedule::Schedule;
use ec_embedded::{Db, NoopTrigger, SqliteSchedules};
use time::{Duration, OffsetDateTime};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_735_000_000).unwrap()
}

fn schedule(tenant: &str, id: &str, created: i64, next: Option<i64>) -> Schedule {
    Schedule::new(
        id.into(),
        tenant.into(),
        "0 6 * * 1".into(),
        "UTC".into(),
        serde_json::json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": ["scan-a"]}}),
        "alice".into(),
        t0() + Duration::seconds(created),
        next.map(|s| t0() + Duration::seconds(s)),
    )
}

#[tokio::test]
async fn create_get_list_delete() {
    let (_d, db) = super::temp_db();
    let store = SqliteSchedules::new(db);
    let a = schedule("acme", "sch-a", 10, Some(100));
    let b = schedule("acme", "sch-b", 5, Some(200));
    let g = schedule("globex", "sch-g", 1, Some(50));
    for s in [&a, &b, &g] {
        store.create(s).await.unwrap();
    }
    assert_eq!(store.get("acme", "sch-a").await.unwrap(), Some(a.clone()));
    // Ids are per tenant: another tenant's id is unknown.
    assert_eq!(store.get("acme", "sch-g").await.unwrap(), None);
    assert_eq!(store.get("globex", "sch-a").await.unwrap(), None);

    let err = store.create(&a).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");

    // Oldest first.
    assert_eq!(
        store.list("acme").await.unwrap(),
        vec![b.clone(), a.clone()]
    );
    assert_eq!(store.list("globex").await.unwrap(), vec![g.clone()]);
    assert!(store.list("nobody").await.unwrap().is_empty());

    store.delete("acme", "sch-a").await.unwrap();
    assert_eq!(store.get("acme", "sch-a").await.unwrap(), None);
    // Deleting what is gone (or another tenant's) is a no-op.
    store.delete("acme", "sch-a").await.unwrap();
    store.delete("acme", "sch-g").await.unwrap();
    assert_eq!(store.list("acme").await.unwrap(), vec![b]);
    assert_eq!(store.list("globex").await.unwrap(), vec![g]);
}

#[tokio::test]
async fn conditional_update() {
    let (_d, db) = super::temp_db();
    let store = SqliteSchedules::new(db);
    let s = schedule("acme", "sch-a", 0, Some(100));
    store.create(&s).await.unwrap();

    let mut ran = s.clone();
    ran.last_run_at = Some(t0() + Duration::seconds(100));
    ran.last_export_id = Some("exp-1".into());
    ran.next_run_at = Some(t0() + Duration::seconds(700));
    ran.version = 2;
    store.update(&ran, 1).await.unwrap();
    assert_eq!(store.get("acme", "sch-a").await.unwrap(), Some(ran.clone()));

    // A second writer that read version 1 loses, and changes nothing.
    let mut other = s.clone();
    other.next_run_at = None;
    other.version = 2;
    let err = store.update(&other, 1).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(store.get("acme", "sch-a").await.unwrap(), Some(ran));

    // Updating a schedule that does not exist (or was deleted) loses too.
    let ghost = schedule("acme", "sch-ghost", 0, Some(1));
    assert!(matches!(
        store.update(&ghost, 1).await,
        Err(PortError::ConditionFailed(_))
    ));
}

#[tokio::test]
async fn concurrent_updates_have_one_winner() {
    let (_d, db) = super::temp_db();
    let store = SqliteSchedules::new(db);
    let s = schedule("acme", "sch-a", 0, Some(100));
    store.create(&s).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (store, s) = (store.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            let mut next = s.clone();
            next.next_run_at = Some(t0() + Duration::seconds(1000 + i));
            next.version = 2;
            store.update(&next, 1).await.is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn due_is_by_next_run_at_across_tenants() {
    let (_d, db) = super::temp_db();
    let store = SqliteSchedules::new(db);
    let late = schedule("acme", "sch-late", 0, Some(300));
    let early = schedule("globex", "sch-early", 1, Some(100));
    let mid = schedule("acme", "sch-mid", 2, Some(200));
    let never = schedule("acme", "sch-never", 3, None);
    let future = schedule("acme", "sch-future", 4, Some(10_000));
    for s in [&late, &early, &mid, &never, &future] {
        store.create(s).await.unwrap();
    }
    let at = |s: i64| t0() + Duration::seconds(s);
    let ids = |v: Vec<Schedule>| v.into_iter().map(|s| s.schedule_id).collect::<Vec<_>>();

    assert!(store.due(at(99), 10).await.unwrap().is_empty());
    // Inclusive of `now`, soonest first.
    assert_eq!(ids(store.due(at(100), 10).await.unwrap()), ["sch-early"]);
    assert_eq!(
        ids(store.due(at(300), 10).await.unwrap()),
        ["sch-early", "sch-mid", "sch-late"]
    );
    assert_eq!(
        ids(store.due(at(5000), 2).await.unwrap()),
        ["sch-early", "sch-mid"]
    );
    assert!(store.due(at(5000), 0).await.unwrap().is_empty());

    // Advancing a schedule takes it out of `due`; clearing next_run_at stops it.
    let mut advanced = early.clone();
    advanced.next_run_at = Some(at(20_000));
    advanced.version = 2;
    store.update(&advanced, 1).await.unwrap();
    let mut stopped = mid.clone();
    stopped.next_run_at = None;
    stopped.version = 2;
    store.update(&stopped, 1).await.unwrap();
    assert_eq!(
        ids(store.due(at(15_000), 10).await.unwrap()),
        ["sch-late", "sch-future"]
    );
    store.delete("acme", "sch-late").await.unwrap();
    assert_eq!(
        ids(store.due(at(15_000), 10).await.unwrap()),
        ["sch-future"]
    );
}

#[tokio::test]
async fn schedules_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.db");
    let s = schedule("acme", "sch-a", 0, Some(100));
    SqliteSchedules::new(Db::open(&path).unwrap())
        .create(&s)
        .await
        .unwrap();
    let again = SqliteSchedules::new(Db::open(&path).unwrap());
    assert_eq!(again.get("acme", "sch-a").await.unwrap(), Some(s));
}

#[tokio::test]
async fn the_noop_trigger_accepts_everything() {
    let s = schedule("acme", "sch-a", 0, Some(100));
    NoopTrigger
        .register(&s, "cron(0 6 ? * 2 *)", "UTC")
        .await
        .unwrap();
    NoopTrigger.unregister(&s).await.unwrap();
}
