//! What only the SQLite job table promises: jobs outlive the process. The port's contract
//! runs in `contract.rs`.

use ec_domain::ports::JobTable;
use ec_embedded::{Db, SqliteJobTable};
use ec_port_contract::fixtures::{job, t0};

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
    assert_eq!(
        jobs.get(&"acme".parse().unwrap(), &"exp-1".parse().unwrap())
            .await
            .unwrap(),
        Some(j)
    );
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
        let page = jobs
            .list(&"acme".parse().unwrap(), None, 1, cursor.as_deref())
            .await
            .unwrap();
        seen.extend(page.items.into_iter().map(|j| j.export_id));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen, ["exp-2", "exp-1", "exp-0"]);
}
