//! What only the SQLite schedule store promises: schedules outlive the process. The port's
//! contract (and the no-op trigger's) runs in `contract.rs`.

use ec_domain::ports::ScheduleStore;
use ec_embedded::{Db, SqliteSchedules};
use ec_port_contract::fixtures::schedule;

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
    assert_eq!(
        again
            .get(&"acme".parse().unwrap(), &"sch-a".parse().unwrap())
            .await
            .unwrap(),
        Some(s)
    );
}
