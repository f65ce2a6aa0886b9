//! The [`DestinationStore`] and [`DestinationSecrets`] contracts: `ConditionFailed` on a
//! duplicate create, ids per tenant, listings oldest first, idempotent deletes; secrets
//! returned exactly as put, replaced by a second put, per tenant, `NotFound` when absent or
//! deleted.

use ec_domain::PortError;
use ec_domain::destination::{DeliveryEvent, Destination, DestinationConfig, Secret};
use ec_domain::ports::{DestinationSecrets, DestinationStore};

use crate::fixtures::{at, id_of};

/// A webhook destination of `tenant` created `seconds` after the fixtures' instant.
pub fn destination(tenant: &str, id: &str, seconds: i64) -> Destination {
    Destination {
        destination_id: id_of(id),
        tenant_id: id_of(tenant),
        name: format!("hook {id}"),
        config: DestinationConfig::Webhook {
            url: "https://siem.example/hooks/exportcenter".into(),
        },
        events: vec![DeliveryEvent::ExportReady, DeliveryEvent::ExportFailed],
        has_secret: true,
        created_by: "alice".into(),
        created_at: at(seconds),
        version: 1,
    }
}

fn ids(v: Vec<Destination>) -> Vec<String> {
    v.into_iter()
        .map(|d| d.destination_id.to_string())
        .collect()
}

/// Create, get, list (per tenant, oldest first), duplicate create, delete (twice).
pub async fn destination_store(store: &dyn DestinationStore) {
    let a = destination("acme", "dst-a", 10);
    let b = destination("acme", "dst-b", 5);
    let g = destination("globex", "dst-a", 1);
    for d in [&a, &b, &g] {
        store.create(d).await.unwrap();
    }
    let acme = id_of("acme");
    let globex = id_of("globex");
    assert_eq!(
        store.get(&acme, &id_of("dst-a")).await.unwrap().as_ref(),
        Some(&a)
    );
    assert_eq!(
        store.get(&globex, &id_of("dst-a")).await.unwrap().as_ref(),
        Some(&g),
        "ids are per tenant"
    );
    assert_eq!(store.get(&acme, &id_of("dst-x")).await.unwrap(), None);
    assert_eq!(ids(store.list(&acme).await.unwrap()), ["dst-b", "dst-a"]);
    assert!(matches!(
        store.create(&a).await,
        Err(PortError::ConditionFailed(_))
    ));
    store.delete(&acme, &id_of("dst-a")).await.unwrap();
    store.delete(&acme, &id_of("dst-a")).await.unwrap();
    assert_eq!(store.get(&acme, &id_of("dst-a")).await.unwrap(), None);
    assert_eq!(ids(store.list(&acme).await.unwrap()), ["dst-b"]);
    assert_eq!(ids(store.list(&globex).await.unwrap()), ["dst-a"]);
}

/// Put, get, replace, per tenant, delete (twice), `NotFound`.
pub async fn destination_secrets(secrets: &dyn DestinationSecrets) {
    let (acme, globex) = (id_of("acme"), id_of("globex"));
    let dst = id_of("dst-s");
    let not_found = |r: Result<Secret, PortError>| matches!(r, Err(PortError::NotFound(_)));
    assert!(not_found(secrets.get(&acme, &dst).await));
    let first = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    secrets.put(&acme, &dst, &first).await.unwrap();
    assert_eq!(secrets.get(&acme, &dst).await.unwrap(), first);
    assert!(not_found(secrets.get(&globex, &dst).await), "per tenant");
    let second = Secret::new("https://hooks.slack.com/services/T0/B0/XXXX 🔑");
    secrets.put(&acme, &dst, &second).await.unwrap();
    assert_eq!(secrets.get(&acme, &dst).await.unwrap(), second);
    secrets.delete(&acme, &dst).await.unwrap();
    secrets.delete(&acme, &dst).await.unwrap();
    assert!(not_found(secrets.get(&acme, &dst).await));
}
