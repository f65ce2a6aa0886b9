use ec_domain::PortError;
use ec_domain::job::{Job, JobStatus, Stage, Transition};
use ec_domain::ports::JobTable;
use ec_domain::request::{
    BuiltinTemplate, ExportOptions, ExportRequest, ExportType, Format, Scope, TemplateName,
};
use ec_embedded::{Db, SqliteJobTable};
use time::OffsetDateTime;

fn job(tenant: &str, id: &str, created_at: OffsetDateTime) -> Job {
    let req = ExportRequest {
        export_type: ExportType::ScanReport,
        format: Format::Json,
        scope: Scope::ScanIds(vec!["scan-a".into()]),
        options: ExportOptions {
            include_sbom: false,
            include_evidence: true,
        },
        template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
    };
    Job::new(
        id.into(),
        tenant.into(),
        req,
        "alice".into(),
        None,
        created_at,
    )
}

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_735_000_000).unwrap()
}

const RET: time::Duration = time::Duration::days(30);

#[tokio::test]
async fn create_get_and_duplicate() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db);
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), Some(j.clone()));
    let err = jobs.create(&j).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    assert_eq!(jobs.get("acme", "nope").await.unwrap(), None);
}

#[tokio::test]
async fn conditional_update() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db);
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();

    let g = j
        .apply(Transition::Enter(Stage::Gathering), t0(), RET)
        .unwrap();
    jobs.update(&g, j.version).await.unwrap();
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap().unwrap().version, 2);

    // A second worker that read version 1 loses.
    let other = j.apply(Transition::Cancel, t0(), RET).unwrap();
    let err = jobs.update(&other, j.version).await.unwrap_err();
    assert!(matches!(err, PortError::ConditionFailed(_)), "{err:?}");
    let stored = jobs.get("acme", "exp-1").await.unwrap().unwrap();
    assert_eq!(stored, g);

    // Updating a job that does not exist is a lost condition too.
    let ghost = job("acme", "exp-ghost", t0());
    assert!(matches!(
        jobs.update(&ghost, 1).await,
        Err(PortError::ConditionFailed(_))
    ));

    // The status column follows the document.
    let page = jobs
        .list("acme", Some(JobStatus::Running), 10, None)
        .await
        .unwrap();
    assert_eq!(page.items, vec![g]);
}

#[tokio::test]
async fn concurrent_updates_have_one_winner() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db);
    let j = job("acme", "exp-1", t0());
    jobs.create(&j).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (jobs, j) = (jobs.clone(), j.clone());
        tasks.push(tokio::spawn(async move {
            let next = j
                .apply(Transition::Enter(Stage::Gathering), t0(), RET)
                .unwrap();
            jobs.update(&next, j.version).await.is_ok()
        }));
    }
    let mut wins = 0;
    for t in tasks {
        wins += usize::from(t.await.unwrap());
    }
    assert_eq!(wins, 1);
}

#[tokio::test]
async fn list_pages_newest_first_with_status_filter() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db);
    // 25 jobs, one second apart; every third one is failed. exp-14 and exp-15 share a
    // timestamp, right across the boundary of the first page.
    for i in 0..25i64 {
        let mut j = job(
            "acme",
            &format!("exp-{i:02}"),
            t0() + time::Duration::seconds(i),
        );
        if i == 14 {
            j.created_at = t0() + time::Duration::seconds(15);
        }
        jobs.create(&j).await.unwrap();
        if i % 3 == 0 {
            let f = j
                .apply(
                    Transition::Fail(ec_domain::JobError::new("X", "y")),
                    t0(),
                    RET,
                )
                .unwrap();
            jobs.update(&f, j.version).await.unwrap();
        }
    }
    // Other tenants never show up.
    jobs.create(&job("globex", "exp-99", t0() + time::Duration::days(1)))
        .await
        .unwrap();

    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = jobs
            .list("acme", None, 10, cursor.as_deref())
            .await
            .unwrap();
        pages += 1;
        assert!(page.items.len() <= 10);
        seen.extend(page.items.iter().map(|j| j.export_id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    // The tie of exp-15 and exp-14 is broken by export_id, descending.
    let expected: Vec<String> = (0..25).rev().map(|i| format!("exp-{i:02}")).collect();
    assert_eq!(seen, expected);

    // Exactly one page: no cursor.
    let all = jobs.list("acme", None, 25, None).await.unwrap();
    assert_eq!(all.items.len(), 25);
    assert_eq!(all.next_cursor, None);

    // Status filter with pagination.
    let mut failed = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = jobs
            .list("acme", Some(JobStatus::Failed), 4, cursor.as_deref())
            .await
            .unwrap();
        assert!(page.items.iter().all(|j| j.status == JobStatus::Failed));
        failed.extend(page.items.iter().map(|j| j.export_id.clone()));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..25)
        .rev()
        .filter(|i| i % 3 == 0)
        .map(|i| format!("exp-{i:02}"))
        .collect();
    assert_eq!(failed, expected);

    assert!(matches!(
        jobs.list("acme", None, 10, Some("garbage!")).await,
        Err(PortError::Invalid(_))
    ));
    let empty = jobs.list("acme", None, 0, None).await.unwrap();
    assert!(empty.items.is_empty() && empty.next_cursor.is_none());
}

#[tokio::test]
async fn tenants_are_isolated_and_delete_works() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db);
    let a = job("acme", "exp-1", t0());
    let b = job("globex", "exp-1", t0());
    jobs.create(&a).await.unwrap();
    jobs.create(&b).await.unwrap(); // same id, other tenant
    assert_eq!(
        jobs.get("acme", "exp-1").await.unwrap().unwrap().tenant_id,
        "acme"
    );
    assert_eq!(
        jobs.get("globex", "exp-1")
            .await
            .unwrap()
            .unwrap()
            .tenant_id,
        "globex"
    );
    let page = jobs.list("acme", None, 10, None).await.unwrap();
    assert_eq!(page.items, vec![a.clone()]);
    // An update through the other tenant's key cannot touch acme's row.
    let g = b.apply(Transition::Cancel, t0(), RET).unwrap();
    jobs.update(&g, 1).await.unwrap();
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), Some(a));
    jobs.delete("acme", "exp-1").await.unwrap();
    jobs.delete("acme", "exp-1").await.unwrap(); // idempotent
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), None);
    assert!(jobs.get("globex", "exp-1").await.unwrap().is_some());
}

#[tokio::test]
async fn jobs_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.db");
    let j = job("acme", "exp-1", t0());
    SqliteJobTable::new(Db::open(&path).unwrap())
        .create(&j)
        .await
        .unwrap();
    let jobs = SqliteJobTable::new(Db::open(&path).unwrap());
    assert_eq!(jobs.get("acme", "exp-1").await.unwrap(), Some(j));
}

#[tokio::test]
async fn a_corrupt_row_is_an_error_not_a_panic() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db.clone());
    jobs.create(&job("acme", "exp-1", t0())).await.unwrap();
    db.call(|c| Ok(c.execute("UPDATE jobs SET doc = '{not json'", [])?))
        .await
        .unwrap();
    assert!(matches!(
        jobs.get("acme", "exp-1").await,
        Err(PortError::Invalid(_))
    ));
    assert!(jobs.list("acme", None, 10, None).await.is_err());
}

/// The listing's cursor holds the stored millisecond, not the document's whole second, so
/// jobs created within one second page exactly.
#[tokio::test]
async fn sub_second_creation_times_page_exactly() {
    let (_d, db) = super::temp_db();
    let jobs = SqliteJobTable::new(db);
    for (i, ms) in [100, 200, 300].into_iter().enumerate() {
        let mut j = job("acme", &format!("exp-{i}"), t0());
        j.created_at = t0() + time::Duration::milliseconds(ms);
        jobs.create(&j).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = jobs.list("acme", None, 1, cursor.as_deref()).await.unwrap();
        seen.extend(page.items.into_iter().map(|j| j.export_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["exp-2", "exp-1", "exp-0"]);
}
