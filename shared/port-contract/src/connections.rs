//! The [`ConnectionRegistry`] contract: listings per tenant in id order, registrations that
//! expire after their ttl unless renewed, re-registration that extends (and may move) a
//! connection, and idempotent removal.

use std::time::Duration;

use ec_domain::ports::ConnectionRegistry;

/// Runs the scenario on `reg`, which must be new and empty. It sleeps about 0.7 s for the
/// short registrations to expire.
pub async fn connection_registry(reg: &dyn ConnectionRegistry) {
    let hour = Duration::from_secs(3600);
    reg.register("c2", &"acme".parse().unwrap(), hour)
        .await
        .unwrap();
    reg.register("c1", &"acme".parse().unwrap(), hour)
        .await
        .unwrap();
    reg.register("c3", &"globex".parse().unwrap(), hour)
        .await
        .unwrap();
    reg.register("c9", &"acme".parse().unwrap(), Duration::from_millis(300))
        .await
        .unwrap();
    assert_eq!(
        reg.list(&"acme".parse().unwrap()).await.unwrap(),
        ["c1", "c2", "c9"]
    );
    assert_eq!(reg.list(&"globex".parse().unwrap()).await.unwrap(), ["c3"]);

    tokio::time::sleep(Duration::from_millis(400)).await;
    // Expired: never listed, whether or not the backend deleted it yet.
    assert_eq!(
        reg.list(&"acme".parse().unwrap()).await.unwrap(),
        ["c1", "c2"]
    );

    reg.remove("c1").await.unwrap();
    reg.remove("c1").await.unwrap();
    assert_eq!(reg.list(&"acme".parse().unwrap()).await.unwrap(), ["c2"]);

    // Re-registering extends (and may move) a connection.
    reg.register("c3", &"acme".parse().unwrap(), hour)
        .await
        .unwrap();
    assert_eq!(
        reg.list(&"acme".parse().unwrap()).await.unwrap(),
        ["c2", "c3"]
    );
    assert!(
        reg.list(&"globex".parse().unwrap())
            .await
            .unwrap()
            .is_empty()
    );

    // An expired registration renewed in time is kept.
    reg.register("c4", &"acme".parse().unwrap(), Duration::from_millis(200))
        .await
        .unwrap();
    reg.register("c4", &"acme".parse().unwrap(), hour)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        reg.list(&"acme".parse().unwrap()).await.unwrap(),
        ["c2", "c3", "c4"]
    );
}
