use std::time::Duration;

use ec_domain::ports::ConnectionRegistry;
use ec_embedded::SqliteConnections;

#[tokio::test]
async fn register_list_remove_and_expiry() {
    let (_d, db) = super::temp_db();
    let reg = SqliteConnections::new(db.clone());
    let hour = Duration::from_secs(3600);
    reg.register("c2", "acme", hour).await.unwrap();
    reg.register("c1", "acme", hour).await.unwrap();
    reg.register("c3", "globex", hour).await.unwrap();
    reg.register("c9", "acme", Duration::from_millis(30))
        .await
        .unwrap();
    assert_eq!(reg.list("acme").await.unwrap(), ["c1", "c2", "c9"]);
    assert_eq!(reg.list("globex").await.unwrap(), ["c3"]);

    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(reg.list("acme").await.unwrap(), ["c1", "c2"]);
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

    reg.remove("c1").await.unwrap();
    reg.remove("c1").await.unwrap();
    assert_eq!(reg.list("acme").await.unwrap(), ["c2"]);

    // Re-registering extends (and may move) a connection.
    reg.register("c3", "acme", hour).await.unwrap();
    assert_eq!(reg.list("acme").await.unwrap(), ["c2", "c3"]);
    assert!(reg.list("globex").await.unwrap().is_empty());

    assert_eq!(reg.clear().await.unwrap(), 2);
    assert!(reg.list("acme").await.unwrap().is_empty());
}
