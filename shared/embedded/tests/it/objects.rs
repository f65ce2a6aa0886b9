use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use ec_domain::PortError;
use ec_domain::messages::{ObjectCreated, QueueName};
use ec_domain::ports::{ObjectStore, PortResult, QueueConsumer, WorkQueue};
use ec_embedded::{FsObjectStore, PresignError, SqliteQueue, verify_presigned};

const SECRET: &[u8] = b"an object store test secret 32b!";

/// A queue that records what is sent, or fails every send.
#[derive(Default)]
struct Recorder {
    sent: Mutex<Vec<(QueueName, String)>>,
    fail: bool,
}

#[async_trait]
impl WorkQueue for Recorder {
    async fn send(&self, queue: QueueName, body: String) -> PortResult<()> {
        if self.fail {
            return Err(PortError::Unavailable("queue down".into()));
        }
        self.sent.lock().unwrap().push((queue, body));
        Ok(())
    }
}

fn store() -> (tempfile::TempDir, FsObjectStore, Arc<Recorder>) {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder::default());
    let s = FsObjectStore::new(dir.path().join("objects"), rec.clone(), SECRET.to_vec()).unwrap();
    (dir, s, rec)
}

#[tokio::test]
async fn put_get_head_list() {
    let (_d, s, _) = store();
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
    s.put(
        "scans/acme/scan-0.json",
        Bytes::from_static(b"[]"),
        "application/json",
    )
    .await
    .unwrap();
    s.put(
        "scans/globex/scan-9.json",
        Bytes::from_static(b"{}"),
        "application/json",
    )
    .await
    .unwrap();
    s.put(
        "templates/acme/t.typ",
        Bytes::from_static(b"= Hi"),
        "text/plain",
    )
    .await
    .unwrap();

    assert_eq!(
        s.get("scans/acme/scan-1.json").await.unwrap(),
        Bytes::from_static(b"{\"a\":1}")
    );
    let h = s.head("templates/acme/t.typ").await.unwrap().unwrap();
    assert_eq!((h.size, h.media_type.as_str()), (4, "text/plain"));
    assert_eq!(s.head("scans/acme/none.json").await.unwrap(), None);
    assert_eq!(
        s.head("scans/acme").await.unwrap(),
        None,
        "a directory is not an object"
    );
    assert!(matches!(
        s.get("scans/acme/none.json").await,
        Err(PortError::NotFound(_))
    ));
    assert!(matches!(
        s.get("scans/acme").await,
        Err(PortError::NotFound(_))
    ));
    assert!(matches!(
        s.get("../etc/passwd").await,
        Err(PortError::NotFound(_))
    ));

    let keys =
        |v: Vec<ec_domain::ports::ObjectMeta>| v.into_iter().map(|m| m.key).collect::<Vec<_>>();
    assert_eq!(
        keys(s.list("").await.unwrap()),
        [
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
    let listed = s.list("templates").await.unwrap();
    assert_eq!(listed[0].media_type, "text/plain");
    assert_eq!(listed[0].size, 4);

    // Overwrite replaces body and media type.
    s.put(
        "templates/acme/t.typ",
        Bytes::from_static(b"= Hello"),
        "text/x-typst",
    )
    .await
    .unwrap();
    let (meta, body) = s.get_with_meta("templates/acme/t.typ").await.unwrap();
    assert_eq!((meta.size, meta.media_type.as_str()), (7, "text/x-typst"));
    assert_eq!(body, Bytes::from_static(b"= Hello"));
    assert_eq!(
        std::fs::read(s.object_path("templates/acme/t.typ").unwrap()).unwrap(),
        b"= Hello"
    );

    s.delete("templates/acme/t.typ").await.unwrap();
    s.delete("templates/acme/t.typ").await.unwrap();
    assert_eq!(s.head("templates/acme/t.typ").await.unwrap(), None);
    assert!(s.list("templates/").await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_keys_are_rejected() {
    let (d, s, _) = store();
    let body = || Bytes::from_static(b"x");
    for key in [
        "",
        "/abs/x",
        "a/../b",
        "..",
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
        &"x".repeat(1100),
        &format!("a/{}", "y".repeat(201)),
    ] {
        let r = s.put(key, body(), "text/plain").await;
        assert!(matches!(r, Err(PortError::Invalid(_))), "{key:?}: {r:?}");
        assert!(s.object_path(key).is_err(), "{key:?}");
        assert!(
            s.presign_get(key, Duration::from_secs(60)).await.is_err(),
            "{key:?}"
        );
    }
    for prefix in ["/", "../", "a//", ".x", "a/.."] {
        assert!(s.list(prefix).await.is_err(), "{prefix:?}");
    }
    // Bad media types too.
    assert!(s.put("a/b", body(), "").await.is_err());
    assert!(
        s.put("a/b", body(), "text/plain\r\nX-Evil: 1")
            .await
            .is_err()
    );
    // Nothing escaped the root.
    assert!(!d.path().join("b").exists());
    // A key cannot be both an object and a prefix.
    s.put("a/b", body(), "text/plain").await.unwrap();
    assert!(matches!(
        s.put("a/b/c", body(), "text/plain").await,
        Err(PortError::Invalid(_))
    ));
    assert!(matches!(
        s.put("a", body(), "text/plain").await,
        Err(PortError::Invalid(_))
    ));
    assert_eq!(s.get("a/b").await.unwrap(), body());
}

#[tokio::test]
async fn sidecars_and_temp_files_are_never_objects() {
    let (_d, s, _) = store();
    s.put(
        "x/y/z.bin",
        Bytes::from_static(b"data"),
        "application/octet-stream",
    )
    .await
    .unwrap();
    let dir = s.root().join("x/y");
    std::fs::write(dir.join(".tmp-leftover"), b"partial").unwrap();
    std::fs::write(dir.join(".gone.bin.meta.json"), b"{}").unwrap();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(names.contains(&".z.bin.meta.json".to_string()), "{names:?}");
    let listed = s.list("").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].key, "x/y/z.bin");
    assert_eq!(s.head("x/y/.tmp-leftover").await.unwrap(), None);
    assert!(s.get("x/y/.z.bin.meta.json").await.is_err());

    // The start-up sweep removes leftovers but keeps live sidecars.
    assert_eq!(s.sweep_temp_files().await.unwrap(), 2);
    assert!(!dir.join(".tmp-leftover").exists());
    assert!(dir.join(".z.bin.meta.json").exists());
    assert_eq!(
        s.head("x/y/z.bin").await.unwrap().unwrap().media_type,
        "application/octet-stream"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readers_never_see_a_partial_object() {
    let (_d, s, _) = store();
    let s = Arc::new(s);
    const LEN: usize = 1 << 20;
    let key = "big/blob.bin";
    s.put(
        key,
        Bytes::from(vec![b'a'; LEN]),
        "application/octet-stream",
    )
    .await
    .unwrap();
    let writer = {
        let s = s.clone();
        tokio::spawn(async move {
            for i in 0..20u8 {
                let fill = if i % 2 == 0 { b'b' } else { b'a' };
                s.put(
                    key,
                    Bytes::from(vec![fill; LEN]),
                    "application/octet-stream",
                )
                .await
                .unwrap();
            }
        })
    };
    let mut reads = 0;
    while !writer.is_finished() || reads < 5 {
        let body = s.get(key).await.unwrap();
        assert_eq!(body.len(), LEN);
        assert!(body.iter().all(|b| *b == body[0]), "torn read");
        let listed = s.list("big/").await.unwrap();
        assert_eq!(listed.len(), 1, "{listed:?}");
        assert_eq!(listed[0].size, LEN as u64);
        reads += 1;
    }
    writer.await.unwrap();
    // No temporary file is left behind.
    let leftovers: Vec<_> = std::fs::read_dir(s.root().join("big"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn report_puts_emit_one_seal_message_each() {
    let (_d, s, rec) = store();
    s.put(
        "reports/acme/exp-1/report.json",
        Bytes::from_static(b"{}"),
        "application/json",
    )
    .await
    .unwrap();
    s.put(
        "scans/acme/s.json",
        Bytes::from_static(b"{}"),
        "application/json",
    )
    .await
    .unwrap();
    s.put(
        "sealed/acme/exp-1/bundle.tar.gz",
        Bytes::from_static(b"gz"),
        "application/gzip",
    )
    .await
    .unwrap();
    s.put(
        "reports/acme/exp-2/report.pdf",
        Bytes::from_static(b"%PDF-"),
        "application/pdf",
    )
    .await
    .unwrap();
    let sent = rec.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|(q, _)| *q == QueueName::Seal));
    let msgs: Vec<ObjectCreated> = sent
        .iter()
        .map(|(_, b)| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(
        msgs,
        [
            ObjectCreated {
                key: "reports/acme/exp-1/report.json".into(),
                size: 2
            },
            ObjectCreated {
                key: "reports/acme/exp-2/report.pdf".into(),
                size: 5
            },
        ]
    );
}

#[tokio::test]
async fn report_notifications_go_through_the_sqlite_queue() {
    let (d, db) = super::temp_db();
    let q = SqliteQueue::new(db);
    let s = FsObjectStore::new(
        d.path().join("objects"),
        Arc::new(q.clone()),
        SECRET.to_vec(),
    )
    .unwrap();
    s.put(
        "reports/acme/exp-1/report.csv",
        Bytes::from_static(b"a,b\n"),
        "text/csv",
    )
    .await
    .unwrap();
    assert_eq!(q.depth(QueueName::Seal).await.unwrap().visible, 1);
    let got = q
        .receive(QueueName::Seal, 10, Duration::from_secs(30))
        .await
        .unwrap();
    let msg: ObjectCreated = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(
        msg,
        ObjectCreated {
            key: "reports/acme/exp-1/report.csv".into(),
            size: 4
        }
    );
}

#[tokio::test]
async fn a_failed_notification_fails_the_put() {
    let dir = tempfile::tempdir().unwrap();
    let rec = Arc::new(Recorder {
        fail: true,
        ..Default::default()
    });
    let s = FsObjectStore::new(dir.path(), rec, SECRET.to_vec()).unwrap();
    let r = s
        .put(
            "reports/acme/exp-1/report.json",
            Bytes::from_static(b"{}"),
            "application/json",
        )
        .await;
    assert!(matches!(r, Err(PortError::Unavailable(_))));
    // Non-report keys do not notify, so they do not fail.
    s.put(
        "scans/acme/x.json",
        Bytes::from_static(b"{}"),
        "application/json",
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn presigned_urls() {
    let (_d, s, _) = store();
    let key = "reports/acme/exp-1/report.pdf";
    assert!(matches!(
        s.presign_get(key, Duration::from_secs(60)).await,
        Err(PortError::Unavailable(_))
    ));
    s.set_base_url("http://127.0.0.1:8080/");
    assert_eq!(s.base_url().as_deref(), Some("http://127.0.0.1:8080"));
    let url = s.presign_get(key, Duration::from_secs(300)).await.unwrap();
    let rest = url
        .strip_prefix(&format!("http://127.0.0.1:8080/objects/{key}?expires="))
        .unwrap();
    let (expires, sig) = rest.split_once("&sig=").unwrap();
    let expires: i64 = expires.parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!(
        (now + 299..=now + 301).contains(&expires),
        "{expires} vs {now}"
    );
    assert_eq!(s.check_presigned(key, expires, sig), Ok(()));
    assert_eq!(verify_presigned(SECRET, key, expires, sig, now), Ok(()));
    assert_eq!(
        verify_presigned(SECRET, key, expires, sig, expires + 1),
        Err(PresignError::Expired)
    );
    assert_eq!(
        s.check_presigned("reports/acme/exp-2/report.pdf", expires, sig),
        Err(PresignError::BadSignature)
    );
    // The base URL can change (the server rebinding).
    s.set_base_url("http://localhost:9");
    assert!(
        s.presign_get(key, Duration::from_secs(1))
            .await
            .unwrap()
            .starts_with("http://localhost:9/objects/")
    );
}

#[tokio::test]
async fn short_secrets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = FsObjectStore::new(dir.path(), Arc::new(Recorder::default()), b"short".to_vec());
    assert!(matches!(r, Err(PortError::Invalid(_))));
}

#[tokio::test]
async fn the_queue_works_behind_both_port_traits() {
    // The queue is usable behind both port traits at once.
    let (_d, db) = super::temp_db();
    let q = Arc::new(SqliteQueue::new(db));
    let _w: Arc<dyn WorkQueue> = q.clone();
    let _c: Arc<dyn QueueConsumer> = q;
}
