//! The [`ObjectStore`] contract: puts answer the stored size and media type, overwrites
//! replace both, listings are by prefix in key order, a missing object is `NotFound` for
//! `get` and `None` for `head`, keys and media types follow `ec_domain::keys` on every
//! stack, and report puts notify the seal stage.

use std::time::Duration;

use bytes::Bytes;
use ec_domain::PortError;
use ec_domain::messages::ObjectCreated;
use ec_domain::ports::{ObjectMeta, ObjectStore};

/// Runs every scenario, each on a store `fresh` returns (new and empty).
pub async fn object_store<S: ObjectStore>(fresh: impl AsyncFn() -> S) {
    put_get_head_list(&fresh().await).await;
    missing_objects_and_bad_keys(&fresh().await).await;
    only_new_objects(&fresh().await).await;
    deletes_and_legal_holds(&fresh().await).await;
}

/// `delete` removes an object for good and is idempotent; a held object cannot be deleted
/// until it is released; holding a missing key is `NotFound`.
async fn deletes_and_legal_holds(s: &dyn ObjectStore) {
    let key = "sealed/acme/exp-9/bundle.tar.gz";
    put(s, key, b"bundle", "application/gzip").await;
    put(s, "sealed/acme/exp-9/other", b"x", "text/plain").await;
    s.delete(key).await.unwrap();
    assert_eq!(s.head(key).await.unwrap(), None);
    assert!(matches!(s.get(key).await, Err(PortError::NotFound(_))));
    s.delete(key).await.unwrap();
    assert_eq!(
        keys(s.list("sealed/acme/exp-9/").await.unwrap()),
        ["sealed/acme/exp-9/other"]
    );

    put(s, key, b"held", "application/gzip").await;
    s.set_legal_hold(key, true).await.unwrap();
    s.set_legal_hold(key, true).await.unwrap();
    assert!(
        matches!(s.delete(key).await, Err(PortError::Invalid(_))),
        "a held object is not deleted"
    );
    assert_eq!(s.get(key).await.unwrap(), Bytes::from_static(b"held"));
    s.set_legal_hold(key, false).await.unwrap();
    s.delete(key).await.unwrap();
    assert_eq!(s.head(key).await.unwrap(), None);
    assert!(matches!(
        s.set_legal_hold("sealed/acme/none", true).await,
        Err(PortError::NotFound(_))
    ));
}

/// `put_new` writes a key once: a second write, even of other bytes, is `ConditionFailed`
/// and leaves the first; of concurrent writers exactly one wins.
async fn only_new_objects(s: &dyn ObjectStore) {
    let key = "sealed/acme/exp-1/bundle.tar.gz";
    let m = s
        .put_new(key, Bytes::from_static(b"first"), "application/gzip")
        .await
        .unwrap();
    assert_eq!((m.size, m.media_type.as_str()), (5, "application/gzip"));
    assert!(matches!(
        s.put_new(key, Bytes::from_static(b"second"), "application/gzip")
            .await,
        Err(PortError::ConditionFailed(_))
    ));
    assert_eq!(s.get(key).await.unwrap(), Bytes::from_static(b"first"));
    let h = s.head(key).await.unwrap().unwrap();
    assert_eq!(h.media_type, "application/gzip");

    let race = "sealed/acme/exp-2/bundle.tar.gz";
    let bodies: Vec<Bytes> = (0..4).map(|i| Bytes::from(format!("writer {i}"))).collect();
    let results = futures_util::future::join_all(
        bodies
            .iter()
            .map(|b| s.put_new(race, b.clone(), "application/gzip")),
    )
    .await;
    let won: Vec<usize> = (0..4).filter(|i| results[*i].is_ok()).collect();
    assert_eq!(won.len(), 1, "{results:?}");
    for r in results.iter().filter(|r| r.is_err()) {
        assert!(matches!(r, Err(PortError::ConditionFailed(_))), "{r:?}");
    }
    assert_eq!(s.get(race).await.unwrap(), bodies[won[0]]);
}

fn keys(v: Vec<ObjectMeta>) -> Vec<String> {
    v.into_iter().map(|m| m.key).collect()
}

async fn put(store: &dyn ObjectStore, key: &str, body: &'static [u8], media_type: &str) {
    store
        .put(key, Bytes::from_static(body), media_type)
        .await
        .unwrap();
}

async fn put_get_head_list(s: &dyn ObjectStore) {
    let m = s
        .put(
            "scans/acme/scan-1.json",
            Bytes::from_static(b"{\"a\":1}"),
            "application/json",
        )
        .await
        .unwrap();
    assert_eq!(m.size, 7);
    assert_eq!(m.media_type, "application/json");
    put(s, "scans/acme/scan-0.json", b"[]", "application/json").await;
    put(s, "scans/globex/scan-9.json", b"{}", "application/json").await;
    put(s, "templates/acme/t.typ", b"= Hi", "text/plain").await;
    put(s, "reports/acme/exp-0/report.csv", b"a,b\n", "text/csv").await;

    assert_eq!(
        s.get("scans/acme/scan-1.json").await.unwrap(),
        Bytes::from_static(b"{\"a\":1}")
    );
    let h = s.head("templates/acme/t.typ").await.unwrap().unwrap();
    assert_eq!((h.size, h.media_type.as_str()), (4, "text/plain"));
    let h = s
        .head("reports/acme/exp-0/report.csv")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((h.size, h.media_type.as_str()), (4, "text/csv"));
    assert_eq!(s.head("scans/acme/none.json").await.unwrap(), None);
    // A prefix of keys is not an object.
    assert_eq!(s.head("scans/acme").await.unwrap(), None);
    assert!(matches!(
        s.get("scans/acme").await,
        Err(PortError::NotFound(_))
    ));

    assert_eq!(
        keys(s.list("").await.unwrap()),
        [
            "reports/acme/exp-0/report.csv",
            "scans/acme/scan-0.json",
            "scans/acme/scan-1.json",
            "scans/globex/scan-9.json",
            "templates/acme/t.typ"
        ]
    );
    assert_eq!(
        keys(s.list("scans/acme/").await.unwrap()),
        ["scans/acme/scan-0.json", "scans/acme/scan-1.json"]
    );
    assert_eq!(
        keys(s.list("scans/acme/scan-1").await.unwrap()),
        ["scans/acme/scan-1.json"]
    );
    assert_eq!(
        keys(s.list("scans/").await.unwrap()),
        [
            "scans/acme/scan-0.json",
            "scans/acme/scan-1.json",
            "scans/globex/scan-9.json"
        ]
    );
    assert_eq!(keys(s.list("scans/a").await.unwrap()).len(), 2);
    assert!(s.list("nothing/").await.unwrap().is_empty());
    let listed = s.list("scans/acme/").await.unwrap();
    assert_eq!(listed[0].media_type, "application/json");
    assert_eq!(listed[1].size, 7);
    let listed = s.list("templates").await.unwrap();
    assert_eq!(listed[0].media_type, "text/plain");
    assert_eq!(listed[0].size, 4);

    // Overwrite replaces body and media type.
    put(s, "templates/acme/t.typ", b"= Hello", "text/x-typst").await;
    let h = s.head("templates/acme/t.typ").await.unwrap().unwrap();
    assert_eq!((h.size, h.media_type.as_str()), (7, "text/x-typst"));
    assert_eq!(
        s.get("templates/acme/t.typ").await.unwrap(),
        Bytes::from_static(b"= Hello")
    );
}

/// Keys no store accepts (`ec_domain::keys::validate_key`): absolute, empty or dot
/// segments, hidden names (sidecars), characters outside the safe set, too long.
pub fn bad_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "",
        "/abs/x",
        "a/../b",
        "..",
        "../escape",
        "a/./b",
        "a//b",
        "a/",
        ".hidden",
        "a/.x.meta.json",
        "a b",
        "a\\b",
        "a\0b",
        "ü/x",
        "a?b",
    ]
    .map(String::from)
    .to_vec();
    keys.push("x".repeat(1100));
    keys.push(format!("a/{}", "y".repeat(201)));
    keys
}

async fn missing_objects_and_bad_keys(s: &dyn ObjectStore) {
    match s.get("reports/acme/none/report.pdf").await {
        Err(PortError::NotFound(k)) => assert_eq!(k, "reports/acme/none/report.pdf"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_eq!(s.head("reports/acme/none/report.pdf").await.unwrap(), None);
    let body = || Bytes::from_static(b"x");
    for key in &bad_keys() {
        let key = key.as_str();
        let r = s.put(key, body(), "text/plain").await;
        assert!(matches!(r, Err(PortError::Invalid(_))), "{key:?}: {r:?}");
        assert!(
            s.presign_get(key, Duration::from_secs(60)).await.is_err(),
            "{key:?}"
        );
    }
    // A key that cannot exist is simply not there.
    for key in ["a//b", "../etc/passwd"] {
        assert!(matches!(s.get(key).await, Err(PortError::NotFound(_))));
        assert_eq!(s.head(key).await.unwrap(), None);
    }
    for prefix in ["/", "../", "a//", ".x", "a/.."] {
        assert!(s.list(prefix).await.is_err(), "{prefix:?}");
    }
    // Bad media types too.
    for media_type in ["", "text/plain\r\nX-Evil: 1"] {
        assert!(matches!(
            s.put("a/b", body(), media_type).await,
            Err(PortError::Invalid(_))
        ));
    }
    s.put("a/b", body(), "text/plain").await.unwrap();
    assert_eq!(s.get("a/b").await.unwrap(), body());
}

/// A put of a `reports/` key notifies the seal stage with an [`ObjectCreated`]; other keys
/// do not. `store` must be empty and send its notifications where `seal_messages` reads
/// them: that hook answers the bodies of every message sent to the seal queue since the
/// store was made, in the order sent (a backend without an order sorts them by key).
pub async fn object_store_notifies_report_puts(
    store: &dyn ObjectStore,
    seal_messages: impl AsyncFnOnce() -> Vec<String>,
) {
    put(
        store,
        "reports/acme/exp-1/report.json",
        b"{}",
        "application/json",
    )
    .await;
    put(store, "scans/acme/s.json", b"{}", "application/json").await;
    put(
        store,
        "sealed/acme/exp-1/bundle.tar.gz",
        b"gz",
        "application/gzip",
    )
    .await;
    put(
        store,
        "reports/acme/exp-2/report.pdf",
        b"%PDF-",
        "application/pdf",
    )
    .await;
    let sent: Vec<ObjectCreated> = seal_messages()
        .await
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(
        sent,
        [
            ObjectCreated {
                key: "reports/acme/exp-1/report.json".into(),
                size: 2
            },
            ObjectCreated {
                key: "reports/acme/exp-2/report.pdf".into(),
                size: 5
            },
        ],
        "only report puts notify, once each"
    );
}
