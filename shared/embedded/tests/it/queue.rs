//! What only the SQLite queue promises beyond the port's contract (which runs in
//! `contract.rs`): FIFO order, depth counts, stale receipts that change nothing, dead
//! letters and redrive, durability, and in-process wake-ups.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use ec_domain::messages::QueueName;
use ec_domain::ports::{QueueConsumer, WorkQueue};
use ec_embedded::{Db, QueueDepth, SqliteQueue};

const LONG: Duration = Duration::from_secs(60);

#[tokio::test]
async fn fifo_and_queues_are_separate() {
    let (_d, db) = super::temp_db();
    let q = SqliteQueue::new(db);
    for i in 0..5 {
        q.send(QueueName::Gather, format!("g{i}")).await.unwrap();
    }
    q.send(QueueName::Render, "r0".into()).await.unwrap();
    let got = q.receive(QueueName::Gather, 3, LONG).await.unwrap();
    assert_eq!(
        got.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
        ["g0", "g1", "g2"]
    );
    assert!(got.iter().all(|d| d.receive_count == 1));
    let rest = q.receive(QueueName::Gather, 10, LONG).await.unwrap();
    assert_eq!(
        rest.iter().map(|d| d.body.as_str()).collect::<Vec<_>>(),
        ["g3", "g4"]
    );
    assert!(
        q.receive(QueueName::Gather, 10, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        q.receive(QueueName::Render, 0, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    let r = q.receive(QueueName::Render, 10, LONG).await.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].body, "r0");
    assert!(
        q.receive(QueueName::Seal, 10, LONG)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn visibility_timeout_hides_then_redelivers() {
    let (_d, db) = super::temp_db();
    let q = SqliteQueue::new(db);
    q.send(QueueName::Gather, "m".into()).await.unwrap();
    let first = q
        .receive(QueueName::Gather, 1, Duration::from_millis(50))
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert!(
        q.receive(QueueName::Gather, 1, Duration::from_millis(50))
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        q.depth(QueueName::Gather).await.unwrap(),
        QueueDepth {
            in_flight: 1,
            ..Default::default()
        }
    );
    tokio::time::sleep(Duration::from_millis(80)).await;
    let second = q.receive(QueueName::Gather, 1, LONG).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].body, "m");
    assert_eq!(second[0].receive_count, 2);
    assert_ne!(second[0].receipt, first[0].receipt);

    // The stale receipt neither errs nor deletes the re-delivered message.
    q.ack(QueueName::Gather, &first[0].receipt).await.unwrap();
    assert_eq!(q.depth(QueueName::Gather).await.unwrap().total(), 1);
    q.retry_after(QueueName::Gather, &first[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert!(
        q.receive(QueueName::Gather, 1, LONG)
            .await
            .unwrap()
            .is_empty(),
        "stale retry must not release"
    );
    // Nor does a receipt of another queue.
    q.ack(QueueName::Render, &second[0].receipt).await.unwrap();
    assert_eq!(q.depth(QueueName::Gather).await.unwrap().total(), 1);
    q.ack(QueueName::Gather, "no-such-receipt").await.unwrap();

    q.ack(QueueName::Gather, &second[0].receipt).await.unwrap();
    assert_eq!(
        q.depth(QueueName::Gather).await.unwrap(),
        QueueDepth::default()
    );
}

#[tokio::test]
async fn dead_letter_after_max_receives() {
    let (_d, db) = super::temp_db();
    let q = SqliteQueue::new(db);
    assert_eq!(q.max_receives(), 5);
    q.send(QueueName::Seal, "poison".into()).await.unwrap();
    q.send(QueueName::Seal, "fine".into()).await.unwrap();
    for n in 1..=5u32 {
        // Visibility zero: the message is visible again right away.
        let got = q.receive(QueueName::Seal, 1, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].body, "poison");
        assert_eq!(got[0].receive_count, n);
    }
    // The sixth receive dead-letters it and delivers the next message instead.
    let got = q.receive(QueueName::Seal, 1, LONG).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].body, "fine");
    let dead = q.dead_letters(QueueName::Seal).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    assert_eq!(dead[0].queue, "seal");
    assert_eq!(dead[0].receive_count, 5);
    assert!(q.dead_letters(QueueName::Gather).await.unwrap().is_empty());
    let depth = q.depth(QueueName::Seal).await.unwrap();
    assert_eq!(
        depth,
        QueueDepth {
            in_flight: 1,
            dead: 1,
            ..Default::default()
        }
    );

    // Redrive puts it back with a fresh count.
    assert_eq!(q.redrive(QueueName::Seal).await.unwrap(), 1);
    let back = q.receive(QueueName::Seal, 5, LONG).await.unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].body, "poison");
    assert_eq!(back[0].receive_count, 1);
    assert!(q.dead_letters(QueueName::Seal).await.unwrap().is_empty());
}

#[tokio::test]
async fn max_receives_is_configurable() {
    let (_d, db) = super::temp_db();
    let q = SqliteQueue::with_max_receives(db, 1);
    q.send(QueueName::Gather, "m".into()).await.unwrap();
    assert_eq!(
        q.receive(QueueName::Gather, 1, Duration::ZERO)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        q.receive(QueueName::Gather, 1, Duration::ZERO)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(q.dead_letters(QueueName::Gather).await.unwrap().len(), 1);
}

#[tokio::test]
async fn durable_across_reopening_and_release_in_flight() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.db");
    {
        let q = SqliteQueue::new(Db::open(&path).unwrap());
        for i in 0..3 {
            q.send(QueueName::Gather, format!("m{i}")).await.unwrap();
        }
        let got = q.receive(QueueName::Gather, 1, LONG).await.unwrap();
        assert_eq!(got[0].body, "m0");
        q.send_delayed(QueueName::Gather, "later".into(), LONG)
            .await
            .unwrap();
    }
    let q = SqliteQueue::new(Db::open(&path).unwrap());
    assert_eq!(
        q.depth(QueueName::Gather).await.unwrap(),
        QueueDepth {
            visible: 2,
            in_flight: 1,
            delayed: 1,
            dead: 0
        }
    );
    // Only received messages are released; the delayed one keeps its delay.
    assert_eq!(q.release_in_flight().await.unwrap(), 1);
    let got = q.receive(QueueName::Gather, 10, LONG).await.unwrap();
    assert_eq!(
        got.iter()
            .map(|d| (d.body.as_str(), d.receive_count))
            .collect::<Vec<_>>(),
        [("m0", 2), ("m1", 1), ("m2", 1)]
    );
    assert_eq!(q.release_in_flight().await.unwrap(), 3);
    // Released receipts are void.
    q.ack(QueueName::Gather, &got[0].receipt).await.unwrap();
    assert_eq!(q.depth(QueueName::Gather).await.unwrap().visible, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_receivers_never_share_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ec.db");
    // Two handles with their own connections, as two processes would have, plus clones.
    let a = SqliteQueue::new(Db::open(&path).unwrap());
    let b = SqliteQueue::new(Db::open(&path).unwrap());
    const N: usize = 300;
    for i in 0..N {
        a.send(QueueName::Render, format!("m{i}")).await.unwrap();
    }
    let mut tasks = Vec::new();
    for t in 0..8 {
        let q = if t % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            loop {
                let batch = q.receive(QueueName::Render, 3, LONG).await.unwrap();
                if batch.is_empty() {
                    break;
                }
                for d in batch {
                    q.ack(QueueName::Render, &d.receipt).await.unwrap();
                    got.push(d.body);
                }
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<_> = all.iter().cloned().collect();
    assert_eq!(all.len(), N, "every message delivered exactly once");
    assert_eq!(unique.len(), N);
    assert_eq!(
        a.depth(QueueName::Render).await.unwrap(),
        QueueDepth::default()
    );
}

#[tokio::test]
async fn wait_for_work_wakes_on_send() {
    let (_d, db) = super::temp_db();
    let q = SqliteQueue::new(db.clone());
    // A second handle on the same Db shares the wake-ups.
    let sender = SqliteQueue::new(db);
    let waiter = {
        let q = q.clone();
        tokio::spawn(async move {
            let start = Instant::now();
            q.wait_for_work(QueueName::Gather, Duration::from_secs(10))
                .await;
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    // A send to another queue does not wake it.
    sender.send(QueueName::Render, "x".into()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!waiter.is_finished());
    sender.send(QueueName::Gather, "m".into()).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_secs(2), waiter)
        .await
        .expect("woken by the send")
        .unwrap();
    assert!(waited < Duration::from_secs(2));

    // With work already visible it returns at once.
    let start = Instant::now();
    q.wait_for_work(QueueName::Gather, Duration::from_secs(10))
        .await;
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn wait_for_work_wakes_when_a_hidden_message_returns() {
    let (_d, db) = super::temp_db();
    let q = SqliteQueue::new(db);
    q.send(QueueName::Seal, "m".into()).await.unwrap();
    q.receive(QueueName::Seal, 1, Duration::from_millis(100))
        .await
        .unwrap();
    let start = Instant::now();
    q.wait_for_work(QueueName::Seal, Duration::from_secs(10))
        .await;
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(50), "{waited:?}");
    assert!(waited < Duration::from_secs(2), "{waited:?}");
    assert_eq!(q.receive(QueueName::Seal, 1, LONG).await.unwrap().len(), 1);

    // An empty queue waits out max_wait.
    let start = Instant::now();
    q.wait_for_work(QueueName::Gather, Duration::from_millis(60))
        .await;
    assert!(start.elapsed() >= Duration::from_millis(50));
}
