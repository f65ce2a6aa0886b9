use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use ec_domain::PortError;
use ec_domain::messages::{ObjectCreated, QueueName};
use ec_domain::ports::{ObjectStore, PortResult, QueueConsumer, WorkQueue};
use ec_embedded::{FsObjectStore, PresignError, SqliteQueue, verify_presigned};
use ec_port_contract::objects::bad_keys;

pub(crate) const SECRET: &[u8] = b"an object store test secret 32b!";

/// A queue that records what is sent, or fails every send.
#[derive(Default)]
pub(crate) struct Recorder {
    pub(crate) sent: Mutex<Vec<(QueueName, String)>>,
    pub(crate) fail: bool,
}

#[async_trait]
impl WorkQueue for Recorder {
    async fn send_delayed(
        &self,
        queue: QueueName,
        body: String,
        _delay: std::time::Duration,
    ) -> PortResult<()> {
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

/// Files on disk: the object's path holds its body, `get_with_meta` answers both, and
/// `delete` removes it (twice is fine).
#[tokio::test]
async fn objects_are_files_and_can_be_deleted() {
    let (_d, s, _) = store();
    for (body, media_type) in [(&b"= Hi"[..], "text/plain"), (b"= Hello", "text/x-typst")] {
        s.put("templates/acme/t.typ", Bytes::from_static(body), media_type)
            .await
            .unwrap();
    }
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

/// Bad keys never reach the disk (the port's key rules run in `contract.rs`), and a key
/// cannot be both a file and a directory.
#[tokio::test]
async fn bad_keys_have_no_path_and_objects_are_not_prefixes() {
    let (d, s, _) = store();
    let body = || Bytes::from_static(b"x");
    for key in bad_keys() {
        assert!(s.put(&key, body(), "text/plain").await.is_err(), "{key:?}");
        assert!(s.object_path(&key).is_err(), "{key:?}");
    }
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
