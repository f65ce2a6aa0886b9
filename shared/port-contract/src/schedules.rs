//! The [`ScheduleStore`] contract: `ConditionFailed` on a duplicate create and on a stale or
//! missing update, ids per tenant, listings oldest first, idempotent deletes, and `due`
//! across tenants by `next_run_at`, most overdue first.

use ec_domain::PortError;
use ec_domain::job::JobError;
use ec_domain::ports::ScheduleStore;
use ec_domain::schedule::Schedule;
use futures_util::future::join_all;

use crate::fixtures::{at, schedule};

/// Runs every scenario, each on a store `fresh` returns (new and empty: `due` reads every
/// tenant's schedules).
pub async fn schedule_store<S: ScheduleStore>(fresh: impl AsyncFn() -> S) {
    create_get_list_delete(&fresh().await).await;
    conditional_update(&fresh().await).await;
    concurrent_updates_have_one_winner(&fresh().await).await;
    due_is_by_next_run_at_across_tenants(&fresh().await).await;
    crud_conditional_update_and_due(&fresh().await).await;
}

/// A stored document that cannot be read is `Invalid` (never a panic) for `get` and `list`.
/// `corrupt(tenant, schedule_id)` must overwrite the stored document of that schedule with
/// something that is not a schedule.
pub async fn schedule_store_rejects_corrupt_documents(
    store: &dyn ScheduleStore,
    corrupt: impl AsyncFnOnce(&str, &str),
) {
    store
        .create(&schedule("acme", "sch-c", 100, None))
        .await
        .unwrap();
    corrupt("acme", "sch-c").await;
    assert!(matches!(
        store
            .get(&"acme".parse().unwrap(), &"sch-c".parse().unwrap())
            .await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        store.list(&"acme".parse().unwrap()).await,
        Err(PortError::Invalid(_))
    ));
}

fn ids(v: Vec<Schedule>) -> Vec<String> {
    v.into_iter().map(|s| s.schedule_id.to_string()).collect()
}

async fn create_get_list_delete(store: &dyn ScheduleStore) {
    let a = schedule("acme", "sch-a", 10, Some(100));
    let b = schedule("acme", "sch-b", 5, Some(200));
    let g = schedule("globex", "sch-g", 1, Some(50));
    for s in [&a, &b, &g] {
        store.create(s).await.unwrap();
    }
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        Some(a.clone())
    );
    // Ids are per tenant: another tenant's id is unknown.
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-g".parse().unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .get(&"globex".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        None
    );

    let err = store.create(&a).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");

    // Oldest first.
    assert_eq!(
        store.list(&"acme".parse().unwrap()).await.unwrap(),
        vec![b.clone(), a.clone()]
    );
    assert_eq!(
        store.list(&"globex".parse().unwrap()).await.unwrap(),
        vec![g.clone()]
    );
    assert!(
        store
            .list(&"nobody".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    store
        .delete(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        None
    );
    // Deleting what is gone (or another tenant's) is a no-op.
    store
        .delete(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
        .await
        .unwrap();
    store
        .delete(&"acme".parse().unwrap(), &"sch-g".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(store.list(&"acme".parse().unwrap()).await.unwrap(), vec![b]);
    assert_eq!(
        store.list(&"globex".parse().unwrap()).await.unwrap(),
        vec![g]
    );
}

async fn conditional_update(store: &dyn ScheduleStore) {
    let s = schedule("acme", "sch-a", 0, Some(100));
    store.create(&s).await.unwrap();

    let mut ran = s.clone();
    ran.last_run_at = Some(at(100));
    ran.last_export_id = Some(crate::fixtures::id_of("exp-1"));
    ran.next_run_at = Some(at(700));
    ran.version = 2;
    store.update(&ran, 1).await.unwrap();
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        Some(ran.clone())
    );

    // A second writer that read version 1 loses, and changes nothing.
    let mut other = s.clone();
    other.next_run_at = None;
    other.version = 2;
    let err = store.update(&other, 1).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        Some(ran)
    );

    // Updating a schedule that does not exist (or was deleted) loses too.
    let ghost = schedule("acme", "sch-ghost", 0, Some(1));
    assert!(matches!(
        store.update(&ghost, 1).await,
        Err(PortError::ConditionFailed(_))
    ));
}

async fn concurrent_updates_have_one_winner(store: &dyn ScheduleStore) {
    let s = schedule("acme", "sch-a", 0, Some(100));
    store.create(&s).await.unwrap();
    let updates = (0..8).map(|i| {
        let mut next = s.clone();
        next.next_run_at = Some(at(1000 + i));
        next.version = 2;
        async move { store.update(&next, 1).await }
    });
    let mut wins = 0;
    for r in join_all(updates).await {
        match r {
            Ok(()) => wins += 1,
            Err(PortError::ConditionFailed(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

async fn due_is_by_next_run_at_across_tenants(store: &dyn ScheduleStore) {
    let late = schedule("acme", "sch-late", 0, Some(300));
    let early = schedule("globex", "sch-early", 1, Some(100));
    let mid = schedule("acme", "sch-mid", 2, Some(200));
    let never = schedule("acme", "sch-never", 3, None);
    let future = schedule("acme", "sch-future", 4, Some(10_000));
    for s in [&late, &early, &mid, &never, &future] {
        store.create(s).await.unwrap();
    }

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
    store
        .delete(&"acme".parse().unwrap(), &"sch-late".parse().unwrap())
        .await
        .unwrap();
    assert_eq!(
        ids(store.due(at(15_000), 10).await.unwrap()),
        ["sch-future"]
    );
}

async fn crud_conditional_update_and_due(store: &dyn ScheduleStore) {
    let s2 = schedule("acme", "sch-b", 100, Some(2_000));
    let s1 = schedule("acme", "sch-a", 200, Some(1_000));
    let s3 = schedule("acme", "sch-c", 100, None);
    let g = schedule("globex", "sch-g", 50, Some(1_500));
    for s in [&s2, &s1, &s3, &g] {
        store.create(s).await.unwrap();
    }
    assert!(matches!(
        store.create(&s1).await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        Some(s1.clone())
    );
    assert_eq!(
        store
            .get(&"globex".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        None
    );

    // Oldest first, ties by id.
    assert_eq!(
        ids(store.list(&"acme".parse().unwrap()).await.unwrap()),
        ["sch-b", "sch-c", "sch-a"]
    );
    assert_eq!(
        ids(store.list(&"globex".parse().unwrap()).await.unwrap()),
        ["sch-g"]
    );
    assert!(
        store
            .list(&"initech".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // Due: at or before now, most overdue first, across tenants; never the unscheduled.
    assert_eq!(
        ids(store.due(at(2_000), 10).await.unwrap()),
        ["sch-a", "sch-g", "sch-b"]
    );
    assert_eq!(
        ids(store.due(at(1_999), 10).await.unwrap()),
        ["sch-a", "sch-g"]
    );
    assert_eq!(ids(store.due(at(1_600), 1).await.unwrap()), ["sch-a"]);
    assert!(store.due(at(999), 10).await.unwrap().is_empty());
    assert!(store.due(at(5_000), 0).await.unwrap().is_empty());

    // Conditional update: the stale writer loses; the next run moves.
    let mut ran = s1.clone();
    ran.last_run_at = Some(at(1_000));
    ran.last_export_id = Some(crate::fixtures::id_of("exp-1"));
    ran.last_error = Some(JobError::new(ec_domain::ErrorCode::Internal, "y"));
    ran.next_run_at = Some(at(3_000));
    ran.version = 2;
    store.update(&ran, 1).await.unwrap();
    let mut stale = s1.clone();
    stale.version = 2;
    stale.cron = "0 7 * * 1".into();
    assert!(matches!(
        store.update(&stale, 1).await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        Some(ran.clone())
    );
    assert!(matches!(
        store
            .update(&schedule("acme", "sch-ghost", 1, None), 1)
            .await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-ghost".parse().unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ids(store.due(at(2_000), 10).await.unwrap()),
        ["sch-g", "sch-b"]
    );
    // Clearing next_run_at takes a schedule out of `due`.
    let mut paused = ran.clone();
    paused.next_run_at = None;
    paused.version = 3;
    store.update(&paused, 2).await.unwrap();
    assert_eq!(
        ids(store.due(at(10_000), 10).await.unwrap()),
        ["sch-g", "sch-b"]
    );

    store
        .delete(&"acme".parse().unwrap(), &"sch-b".parse().unwrap())
        .await
        .unwrap();
    store
        .delete(&"acme".parse().unwrap(), &"sch-b".parse().unwrap())
        .await
        .unwrap(); // idempotent
    assert_eq!(
        store
            .get(&"acme".parse().unwrap(), &"sch-b".parse().unwrap())
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        ids(store.list(&"acme".parse().unwrap()).await.unwrap()),
        ["sch-c", "sch-a"]
    );
    assert_eq!(ids(store.due(at(10_000), 10).await.unwrap()), ["sch-g"]);
}
