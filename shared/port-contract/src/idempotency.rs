//! The [`IdempotencyStore`] contract: the first claim of a key stands until it is released
//! or its ttl runs out, keys are per tenant, releases are idempotent, and of concurrent
//! claims exactly one wins while every loser sees the winner.

use std::time::Duration;

use ec_domain::ports::{Claim, IdempotencyStore};
use futures_util::future::join_all;

/// Runs every scenario, each on a store `fresh` returns (new and empty).
pub async fn idempotency_store<S: IdempotencyStore>(fresh: impl AsyncFn() -> S) {
    claim_existing_release_and_expiry(&fresh().await).await;
    concurrent_claims_have_one_winner(&fresh().await).await;
}

fn existing(request_hash: &str, export_id: &str) -> Claim {
    Claim::Existing {
        request_hash: request_hash.into(),
        export_id: crate::fixtures::id_of(export_id),
    }
}

async fn claim_existing_release_and_expiry(idem: &dyn IdempotencyStore) {
    let day = Duration::from_secs(86_400);
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k1",
            "h1",
            &"exp-1".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        Claim::Claimed
    );
    // Same key again, even with another request: the first claim stands.
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k1",
            "h2",
            &"exp-2".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        existing("h1", "exp-1")
    );
    // Keys are per tenant.
    assert_eq!(
        idem.claim(
            &"globex".parse().unwrap(),
            "k1",
            "h3",
            &"exp-3".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        Claim::Claimed
    );
    idem.release(&"acme".parse().unwrap(), "k1").await.unwrap();
    idem.release(&"acme".parse().unwrap(), "k1").await.unwrap(); // idempotent
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k1",
            "h4",
            &"exp-4".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        idem.claim(&"globex".parse().unwrap(), "k1", "h", &"e".parse().unwrap(), day).await.unwrap(),
        Claim::Existing { ref export_id, .. } if export_id == "exp-3"
    ));

    // An expired record can be claimed afresh (whether or not the backend removed it yet).
    let short = Duration::from_millis(300);
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k2",
            "h1",
            &"exp-1".parse().unwrap(),
            short
        )
        .await
        .unwrap(),
        Claim::Claimed
    );
    assert!(matches!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k2",
            "h1",
            &"exp-9".parse().unwrap(),
            short
        )
        .await
        .unwrap(),
        Claim::Existing { .. }
    ));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k2",
            "h5",
            &"exp-5".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        Claim::Claimed
    );
    assert_eq!(
        idem.claim(
            &"acme".parse().unwrap(),
            "k2",
            "h6",
            &"exp-6".parse().unwrap(),
            day
        )
        .await
        .unwrap(),
        existing("h5", "exp-5")
    );
}

async fn concurrent_claims_have_one_winner(idem: &dyn IdempotencyStore) {
    let claims = (0..10).map(|i| async move {
        idem.claim(
            &"acme".parse().unwrap(),
            "k",
            &format!("h{i}"),
            &crate::fixtures::id_of(&format!("exp-{i}")),
            Duration::from_secs(60),
        )
        .await
        .unwrap()
    });
    let mut claimed = 0;
    let mut losers_saw = Vec::new();
    for claim in join_all(claims).await {
        match claim {
            Claim::Claimed => claimed += 1,
            Claim::Existing { export_id, .. } => losers_saw.push(export_id),
        }
    }
    assert_eq!(claimed, 1);
    // Every loser saw the one winner.
    losers_saw.dedup();
    assert_eq!(losers_saw.len(), 1, "{losers_saw:?}");
}
