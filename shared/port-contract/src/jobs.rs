//! The [`JobTable`] contract: `ConditionFailed` on a duplicate create and on a stale or
//! missing update, one winner among concurrent updates, tenants kept apart, idempotent
//! deletes, newest-first listings in pages with exact, opaque cursors, and the retention
//! sweeper's read across tenants.

use ec_domain::PortError;
use ec_domain::job::{Job, JobError, JobStatus, Stage, Transition};
use ec_domain::ports::JobTable;
use futures_util::future::join_all;
use time::Duration;

use crate::fixtures::{RET, job, t0};

/// Runs every scenario, each on a store `fresh` returns (new and empty).
pub async fn job_table<S: JobTable>(fresh: impl AsyncFn() -> S) {
    create_get_and_duplicate(&fresh().await).await;
    conditional_update(&fresh().await).await;
    concurrent_updates_have_one_winner(&fresh().await).await;
    list_pages_newest_first_with_status_filter(&fresh().await).await;
    sparse_status_filter_across_many_jobs(&fresh().await).await;
    tenants_are_isolated_and_delete_works(&fresh().await).await;
    sweepable_is_what_retention_must_remove(&fresh().await).await;
}

/// A stored document that cannot be read is `Invalid` (never a panic) for `get` and `list`.
/// `corrupt(tenant, export_id)` must overwrite the stored document of that job with
/// something that is not a job.
pub async fn job_table_rejects_corrupt_documents(
    store: &dyn JobTable,
    corrupt: impl AsyncFnOnce(&str, &str),
) {
    store.create(&job("acme", "exp-1", t0())).await.unwrap();
    corrupt("acme", "exp-1").await;
    assert!(matches!(
        store
            .get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        store.list(&"acme".parse().unwrap(), None, 10, None).await,
        Err(PortError::Invalid(_))
    ));
}

async fn create_get_and_duplicate(jobs: &dyn JobTable) {
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap(),
        Some(j.clone())
    );
    let err = jobs.create(&j).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"nope".parse().unwrap())
            .await
            .unwrap(),
        None
    );
}

async fn conditional_update(jobs: &dyn JobTable) {
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();

    let g = j
        .apply(Transition::Enter(Stage::Gathering), t0(), RET)
        .unwrap();
    jobs.update(&g, j.version).await.unwrap();
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .version,
        2
    );

    // A second worker that read version 1 loses.
    let other = j.apply(Transition::Cancel, t0(), RET).unwrap();
    let err = jobs.update(&other, j.version).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap()
            .unwrap(),
        g
    );

    // Updating a job that does not exist is a lost condition too, and creates nothing.
    let ghost = job("acme", "exp-ghost", t0());
    assert!(matches!(
        jobs.update(&ghost, 1).await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-ghost".parse().unwrap())
            .await
            .unwrap(),
        None
    );

    // The status the listing filters on follows the document.
    let page = jobs
        .list(&"acme".parse().unwrap(), Some(JobStatus::Running), 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![g.clone()]);

    // Every transition to the end is stored whole.
    let stages = [Stage::Rendering, Stage::Storing, Stage::Sealing];
    let ready = advance_to_ready(jobs, g, &stages).await;
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap(),
        Some(ready)
    );
}

/// Moves a stored `job` into each of `stages` and then to `ready`, storing every step
/// with the version it read; the ready job.
pub async fn advance_to_ready(jobs: &dyn JobTable, job: Job, stages: &[Stage]) -> Job {
    let mut cur = job;
    let steps = stages.iter().map(|s| Transition::Enter(*s));
    for step in steps.chain([Transition::Ready { artifacts: vec![] }]) {
        let next = cur.apply(step, t0(), RET).unwrap();
        jobs.update(&next, cur.version).await.unwrap();
        cur = next;
    }
    cur
}

async fn concurrent_updates_have_one_winner(jobs: &dyn JobTable) {
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    let next = j
        .apply(Transition::Enter(Stage::Gathering), t0(), RET)
        .unwrap();
    let results = join_all((0..8).map(|_| jobs.update(&next, j.version))).await;
    let mut wins = 0;
    for r in results {
        match r {
            Ok(()) => wins += 1,
            Err(PortError::ConditionFailed(_)) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(wins, 1);
}

/// Every page of a listing, checking each page's size; the ids in order and the page count.
async fn walk(
    jobs: &dyn JobTable,
    tenant: &str,
    status: Option<JobStatus>,
    limit: usize,
) -> (Vec<String>, usize) {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = jobs
            .list(
                &crate::fixtures::id_of(tenant),
                status,
                limit,
                cursor.as_deref(),
            )
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= limit);
        if let Some(st) = status {
            assert!(page.items.iter().all(|j| j.status == st));
        }
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit, "a page with a cursor is full");
        }
        seen.extend(page.items.iter().map(|j| j.export_id.to_string()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
        assert!(pages < 1000, "listing does not end");
    }
    (seen, pages)
}

async fn list_pages_newest_first_with_status_filter(jobs: &dyn JobTable) {
    // 25 jobs, one second apart; every third one is failed. exp-14 and exp-15 share a
    // timestamp, right across the boundary of the first page.
    for i in 0..25i64 {
        let mut j = job("acme", &format!("exp-{i:02}"), t0() + Duration::seconds(i));
        if i == 14 {
            j.created_at = t0() + Duration::seconds(15);
        }
        jobs.create(&j).await.unwrap();
        if i % 3 == 0 {
            let f = j
                .apply(
                    Transition::Fail(JobError::new(ec_domain::ErrorCode::Internal, "y")),
                    t0(),
                    RET,
                )
                .unwrap();
            jobs.update(&f, j.version).await.unwrap();
        }
    }
    // Other tenants never show up.
    jobs.create(&job("globex", "exp-99", t0() + Duration::days(1)))
        .await
        .unwrap();

    let (seen, pages) = walk(jobs, "acme", None, 10).await;
    assert_eq!(pages, 3);
    // The tie of exp-15 and exp-14 is broken by export_id, descending.
    let expected: Vec<String> = (0..25).rev().map(|i| format!("exp-{i:02}")).collect();
    assert_eq!(seen, expected);

    // Exactly one page: no cursor.
    let all = jobs
        .list(&"acme".parse().unwrap(), None, 25, None)
        .await
        .unwrap();
    assert_eq!(all.items.len(), 25);
    assert_eq!(all.next_cursor, None);
    // A page ending exactly at the last item has no cursor either.
    let (seen, pages) = walk(jobs, "acme", None, 5).await;
    assert_eq!((seen.len(), pages), (25, 5));

    // Status filter with pagination: 9 failed jobs in pages of 4.
    let (failed, pages) = walk(jobs, "acme", Some(JobStatus::Failed), 4).await;
    let expected: Vec<String> = (0..25)
        .rev()
        .filter(|i| i % 3 == 0)
        .map(|i| format!("exp-{i:02}"))
        .collect();
    assert_eq!(failed, expected);
    assert_eq!(pages, 3);
    let (failed, pages) = walk(jobs, "acme", Some(JobStatus::Failed), 3).await;
    assert_eq!((failed, pages), (expected, 3));

    // Nothing matches: one empty page, no cursor.
    let none = jobs
        .list(&"acme".parse().unwrap(), Some(JobStatus::Ready), 10, None)
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next_cursor.is_none());

    // Malformed cursors are invalid ("e30" is base64 for "{}").
    for bad in ["garbage!", "e30"] {
        assert!(
            matches!(
                jobs.list(&"acme".parse().unwrap(), None, 10, Some(bad))
                    .await,
                Err(PortError::Invalid(_))
            ),
            "{bad}"
        );
    }
    let empty = jobs
        .list(&"acme".parse().unwrap(), None, 0, None)
        .await
        .unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}

/// A status few jobs have, over more jobs than one backend read returns (DynamoDB applies
/// `Limit` before its filter): pages stay full and cursors exact.
async fn sparse_status_filter_across_many_jobs(jobs: &dyn JobTable) {
    let writes = (0..150i64).map(|i| async move {
        let j = job("acme", &format!("exp-{i:03}"), t0() + Duration::seconds(i));
        jobs.create(&j).await.unwrap();
        if i % 50 == 7 {
            let c = j.apply(Transition::Cancel, t0(), RET).unwrap();
            jobs.update(&c, j.version).await.unwrap();
        }
    });
    join_all(writes).await;
    let expected = ["exp-107", "exp-057", "exp-007"];
    for limit in [1, 2, 3, 4] {
        let (seen, pages) = walk(jobs, "acme", Some(JobStatus::Cancelled), limit).await;
        assert_eq!(seen, expected, "limit {limit}");
        assert_eq!(pages, 3usize.div_ceil(limit), "limit {limit}");
    }
    let (seen, pages) = walk(jobs, "acme", None, 40).await;
    assert_eq!(seen.len(), 150);
    assert_eq!(pages, 4);
    assert_eq!(seen.first().map(String::as_str), Some("exp-149"));
    assert_eq!(seen.last().map(String::as_str), Some("exp-000"));
}

async fn tenants_are_isolated_and_delete_works(jobs: &dyn JobTable) {
    let a = job("acme", "exp-1", t0());
    let b = job("globex", "exp-1", t0());
    jobs.create(&a).await.unwrap();
    jobs.create(&b).await.unwrap(); // same id, other tenant
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        "acme"
    );
    assert_eq!(
        jobs.get(&"globex".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        "globex"
    );
    let page = jobs
        .list(&"acme".parse().unwrap(), None, 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![a.clone()]);
    // An update through the other tenant's key cannot touch acme's row.
    let g = b.apply(Transition::Cancel, t0(), RET).unwrap();
    jobs.update(&g, 1).await.unwrap();
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap(),
        Some(a)
    );
    jobs.delete(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
        .await
        .unwrap();
    jobs.delete(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
        .await
        .unwrap(); // idempotent
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap(),
        None
    );
    assert!(
        jobs.get(&"globex".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap()
            .is_some()
    );
}

/// A stored job of `tenant` made ready at [`t0`] with one artifact, kept `days`.
async fn ready(jobs: &dyn JobTable, tenant: &str, id: &str, days: u32) -> Job {
    let mut j = job(tenant, id, t0());
    j.retention_days = Some(days);
    jobs.create(&j).await.unwrap();
    let mut cur = j;
    let report = ec_domain::Artifact {
        kind: ec_domain::ArtifactKind::Report,
        key: format!("{tenant}/{id}/report.json"),
        media_type: "application/json".into(),
        size: 2,
        sha256: "0".repeat(64),
    };
    let steps = [
        Stage::Gathering,
        Stage::Rendering,
        Stage::Storing,
        Stage::Sealing,
    ]
    .map(Transition::Enter)
    .into_iter()
    .chain([Transition::Ready {
        artifacts: vec![report],
    }]);
    for step in steps {
        let next = cur.apply(step, t0(), RET).unwrap();
        jobs.update(&next, cur.version).await.unwrap();
        cur = next;
    }
    cur
}

fn ids(found: &[Job]) -> Vec<String> {
    found
        .iter()
        .map(|j| format!("{}/{}", j.tenant_id, j.export_id))
        .collect()
}

async fn sweepable_is_what_retention_must_remove(jobs: &dyn JobTable) {
    let day = Duration::days(1);
    let a = ready(jobs, "acme", "exp-a", 1).await;
    let b = ready(jobs, "globex", "exp-b", 2).await;
    let c = ready(jobs, "acme", "exp-c", 3).await;
    let mut held = ready(jobs, "acme", "exp-held", 1).await;
    jobs.create(&job("acme", "exp-queued", t0())).await.unwrap();
    assert_eq!(a.expires_at, Some(t0() + day), "the job's own retention");

    // Nothing is due before the first retention ends; due means at or before `now`.
    assert!(jobs.sweepable(t0(), 10).await.unwrap().is_empty());
    assert_eq!(
        ids(&jobs.sweepable(t0() + day, 10).await.unwrap()),
        ["acme/exp-a", "acme/exp-held"]
    );

    // A held export is never due.
    let mut h = held.clone();
    h.legal_hold = true;
    h.expires_at = None;
    h.version += 1;
    jobs.update(&h, held.version).await.unwrap();
    held = h;
    // Most overdue first, across tenants, at most `limit`.
    let all = jobs.sweepable(t0() + day * 10, 10).await.unwrap();
    assert_eq!(ids(&all), ["acme/exp-a", "globex/exp-b", "acme/exp-c"]);
    assert_eq!(all[1], b, "the stored job");
    assert_eq!(
        ids(&jobs.sweepable(t0() + day * 10, 2).await.unwrap()),
        ["acme/exp-a", "globex/exp-b"]
    );
    assert!(jobs.sweepable(t0() + day * 10, 0).await.unwrap().is_empty());

    // Expired but its artifacts still listed: still due (the sweeper finishes it); swept:
    // no longer. Purged and cancelled jobs never are.
    let expired = a.apply(Transition::Expire, t0() + day, RET).unwrap();
    jobs.update(&expired, a.version).await.unwrap();
    assert_eq!(
        ids(&jobs.sweepable(t0() + day, 10).await.unwrap()),
        ["acme/exp-a"]
    );
    let swept = expired.apply(Transition::Swept, t0() + day, RET).unwrap();
    jobs.update(&swept, expired.version).await.unwrap();
    let purged = c.apply(Transition::Purge, t0(), RET).unwrap();
    jobs.update(&purged, c.version).await.unwrap();
    assert_eq!(
        ids(&jobs.sweepable(t0() + day * 10, 10).await.unwrap()),
        ["globex/exp-b"]
    );
    assert!(held.legal_hold);
}
