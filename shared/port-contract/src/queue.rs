//! The [`WorkQueue`] and [`QueueConsumer`] contract, with SQS semantics: a received
//! message stays hidden for its visibility timeout and then comes back with a higher
//! receive count, `retry_after` hides it for the delay given, `ack` removes it (twice is
//! fine), `receive` answers at most `max` messages (more than one backend batch if need be),
//! and the stage queues are separate. Timeouts are whole seconds, as SQS counts them.

use std::time::Duration;

use ec_domain::messages::QueueName;
use ec_domain::ports::{Delivery, QueueConsumer, WorkQueue};

const Q: QueueName = QueueName::Gather;
const LONG: Duration = Duration::from_secs(30);
/// Past a one-second timeout, with room for a slow backend.
const PAST_ONE_SECOND: Duration = Duration::from_millis(1600);

/// Runs every scenario, each on a queue `fresh` returns: new and empty, with every
/// [`QueueName`] configured. It sleeps a few seconds for timeouts to run out.
pub async fn work_queue<Q2>(fresh: impl AsyncFn() -> Q2)
where
    Q2: WorkQueue + QueueConsumer,
{
    send_receive_ack(&fresh().await).await;
    visibility_timeout_brings_messages_back(&fresh().await).await;
    retry_after_delays_redelivery(&fresh().await).await;
    receives_more_than_one_batch(&fresh().await).await;
    queues_are_separate(&fresh().await).await;
}

fn bodies(got: &[Delivery]) -> Vec<&str> {
    got.iter().map(|d| d.body.as_str()).collect()
}

async fn send_receive_ack<Q2: WorkQueue + QueueConsumer + ?Sized>(q: &Q2) {
    q.send(Q, "one".into()).await.unwrap();
    q.send(Q, "two".into()).await.unwrap();
    let mut got = q.receive(Q, 10, LONG).await.unwrap();
    got.sort_by(|a, b| a.body.cmp(&b.body));
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("one", 1));
    assert_eq!((got[1].body.as_str(), got[1].receive_count), ("two", 1));
    // Hidden while in flight.
    assert!(q.receive(Q, 10, LONG).await.unwrap().is_empty());

    q.ack(Q, &got[0].receipt).await.unwrap();
    // A second ack of the same receipt is not an error.
    q.ack(Q, &got[0].receipt).await.unwrap();
    // Back now: the second delivery counts 2.
    q.retry_after(Q, &got[1].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = q.receive(Q, 10, LONG).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("two", 2));
    q.ack(Q, &again[0].receipt).await.unwrap();
    assert!(q.receive(Q, 10, Duration::ZERO).await.unwrap().is_empty());
    assert!(q.receive(Q, 0, Duration::ZERO).await.unwrap().is_empty());
}

async fn visibility_timeout_brings_messages_back<Q2: WorkQueue + QueueConsumer + ?Sized>(q: &Q2) {
    let second = Duration::from_secs(1);
    q.send(Q, "m".into()).await.unwrap();
    let first = q.receive(Q, 1, second).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert!(q.receive(Q, 1, second).await.unwrap().is_empty());
    tokio::time::sleep(PAST_ONE_SECOND).await;
    let again = q.receive(Q, 1, LONG).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("m", 2));
}

async fn retry_after_delays_redelivery<Q2: WorkQueue + QueueConsumer + ?Sized>(q: &Q2) {
    q.send(Q, "later".into()).await.unwrap();
    let got = q.receive(Q, 1, LONG).await.unwrap();
    q.retry_after(Q, &got[0].receipt, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(q.receive(Q, 1, LONG).await.unwrap().is_empty());
    tokio::time::sleep(PAST_ONE_SECOND).await;
    let again = q.receive(Q, 1, LONG).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);

    // retry_after(0) makes it visible at once.
    q.retry_after(Q, &again[0].receipt, Duration::ZERO)
        .await
        .unwrap();
    assert_eq!(q.receive(Q, 1, LONG).await.unwrap()[0].receive_count, 3);
}

async fn receives_more_than_one_batch<Q2: WorkQueue + QueueConsumer + ?Sized>(q: &Q2) {
    for i in 0..13 {
        q.send(Q, format!("m{i:02}")).await.unwrap();
    }
    let mut got = q.receive(Q, 20, LONG).await.unwrap();
    got.sort_by(|a, b| a.body.cmp(&b.body));
    let want: Vec<_> = (0..13).map(|i| format!("m{i:02}")).collect();
    assert_eq!(bodies(&got), want);
    for i in 0..3 {
        q.send(Q, format!("x{i}")).await.unwrap();
    }
    assert_eq!(q.receive(Q, 2, LONG).await.unwrap().len(), 2);
}

async fn queues_are_separate<Q2: WorkQueue + QueueConsumer + ?Sized>(q: &Q2) {
    q.send(QueueName::Gather, "g".into()).await.unwrap();
    q.send(QueueName::Render, "r".into()).await.unwrap();
    assert!(
        q.receive(QueueName::Seal, 10, LONG)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        bodies(&q.receive(QueueName::Render, 10, LONG).await.unwrap()),
        ["r"]
    );
    assert_eq!(
        bodies(&q.receive(QueueName::Gather, 10, LONG).await.unwrap()),
        ["g"]
    );
}
