//! What only the SQLite idempotency store offers: purging expired records. The port's
//! contract runs in `contract.rs`.

use std::time::Duration;

use ec_domain::ports::{Claim, IdempotencyStore};
use ec_embedded::SqliteIdempotency;

#[tokio::test]
async fn purge_removes_only_expired_records() {
    let (_d, db) = super::temp_db();
    let idem = SqliteIdempotency::new(db);
    idem.claim(
        &"acme".parse().unwrap(),
        "old",
        "h",
        &"e".parse().unwrap(),
        Duration::from_millis(1),
    )
    .await
    .unwrap();
    idem.claim(
        &"acme".parse().unwrap(),
        "new",
        "h",
        &"e".parse().unwrap(),
        Duration::from_secs(60),
    )
    .await
    .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(idem.purge_expired().await.unwrap(), 1);
    assert!(matches!(
        idem.claim(
            &"acme".parse().unwrap(),
            "new",
            "h",
            &"e".parse().unwrap(),
            Duration::from_secs(60)
        )
        .await
        .unwrap(),
        Claim::Existing { .. }
    ));
}
