//! What only the SQLite connection registry does: expired rows are deleted, not just
//! hidden, and `clear` empties the table at start-up. The port's contract runs in
//! `contract.rs`.

use std::time::Duration;

use ec_domain::ports::ConnectionRegistry;
use ec_embedded::SqliteConnections;

#[tokio::test]
async fn expired_rows_are_deleted_and_clear_empties_the_table() {
    let (_d, db) = super::temp_db();
    let reg = SqliteConnections::new(db.clone());
    let hour = Duration::from_secs(3600);
    reg.register("c2", &"acme".parse().unwrap(), hour)
        .await
        .unwrap();
    reg.register("c3", &"acme".parse().unwrap(), hour)
        .await
        .unwrap();
    reg.register("c9", &"acme".parse().unwrap(), Duration::from_millis(30))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(
        reg.list(&"acme".parse().unwrap()).await.unwrap(),
        ["c2", "c3"]
    );
    // The expired row is gone from the table, not just hidden.
    let rows: i64 = db
        .call(|c| {
            Ok(c.query_row(
                "SELECT COUNT(*) FROM connections WHERE connection_id = 'c9'",
                [],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(rows, 0);

    assert_eq!(reg.clear().await.unwrap(), 2);
    assert!(reg.list(&"acme".parse().unwrap()).await.unwrap().is_empty());
}
