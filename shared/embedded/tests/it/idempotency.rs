use std::time::Duration;

use ec_domain::ports::{Claim, IdempotencyStore};
use ec_embedded::SqliteIdempotency;

#[tokio::test]
async fn claim_existing_release_and_expiry() {
    let (_d, db) = super::temp_db();
    let idem = SqliteIdempotency::new(db);
    let day = Duration::from_secs(86_400);
    assert_eq!(
        idem.claim("acme", "k1", "h1", "exp-1", day).await.unwrap(),
        Claim::Claimed
    );
    // Same key again, even with another request: the first claim stands.
    assert_eq!(
        idem.claim("acme", "k1", "h2", "exp-2", day).await.unwrap(),
        Claim::Existing {
            request_hash: "h1".into(),
            export_id: "exp-1".into()
        }
    );
    // Keys are per tenant.
    assert_eq!(
        idem.claim("globex", "k1", "h3", "exp-3", day)
            .await
            .unwrap(),
        Claim::Claimed
    );
    idem.release("acme", "k1").await.unwrap();
    assert_eq!(
        idem.claim("acme", "k1", "h4", "exp-4", day).await.unwrap(),
        Claim::Claimed
    );

    // An expired record can be claimed afresh.
    let short = Duration::from_millis(40);
    assert_eq!(
        idem.claim("acme", "k2", "h1", "exp-1", short)
            .await
            .unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        idem.claim("acme", "k2", "h1", "exp-9", short)
            .await
            .unwrap(),
        Claim::Existing { .. }
    ));
    tokio::time::sleep(Duration::from_millis(80)).await;
    assert_eq!(
        idem.claim("acme", "k2", "h5", "exp-5", day).await.unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        idem.claim("acme", "k2", "h6", "exp-6", day).await.unwrap(),
        Claim::Existing {
            request_hash: "h5".into(),
            export_id: "exp-5".into()
        }
    );
}

#[tokio::test]
async fn concurrent_claims_have_one_winner() {
    let (_d, db) = super::temp_db();
    let idem = SqliteIdempotency::new(db);
    let mut tasks = Vec::new();
    for i in 0..10 {
        let idem = idem.clone();
        tasks.push(tokio::spawn(async move {
            idem.claim(
                "acme",
                "k",
                &format!("h{i}"),
                &format!("exp-{i}"),
                Duration::from_secs(60),
            )
            .await
            .unwrap()
        }));
    }
    let mut claimed = 0;
    for t in tasks {
        if t.await.unwrap() == Claim::Claimed {
            claimed += 1;
        }
    }
    assert_eq!(claimed, 1);
}

#[tokio::test]
async fn purge_removes_only_expired_records() {
    let (_d, db) = super::temp_db();
    let idem = SqliteIdempotency::new(db);
    idem.claim("acme", "old", "h", "e", Duration::from_millis(1))
        .await
        .unwrap();
    idem.claim("acme", "new", "h", "e", Duration::from_secs(60))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(idem.purge_expired().await.unwrap(), 1);
    assert!(matches!(
        idem.claim("acme", "new", "h", "e", Duration::from_secs(60))
            .await
            .unwrap(),
        Claim::Existing { .. }
    ));
}
