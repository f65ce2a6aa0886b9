//! `SqsQueue` against a moto server (`EC_MOTO_ENDPOINT`).

mod common;

use std::collections::HashMap;
use std::time::Duration;

use ec_aws::config::sqs_client;
use ec_aws::sqs::{SqsQueue, queue_url_env};
use ec_domain::PortError;
use ec_domain::messages::QueueName;
use ec_domain::ports::{QueueConsumer, WorkQueue};

use common::{moto_config, unique};

const Q: QueueName = QueueName::Gather;

async fn create_queue(client: &aws_sdk_sqs::Client, attrs: &[(&str, String)]) -> String {
    let mut req = client.create_queue().queue_name(unique("ec-q"));
    for (k, v) in attrs {
        req = req.attributes(aws_sdk_sqs::types::QueueAttributeName::from(*k), v);
    }
    req.send()
        .await
        .expect("create queue")
        .queue_url()
        .expect("queue url")
        .to_string()
}

async fn queue() -> SqsQueue {
    let client = sqs_client(&moto_config().await);
    let url = create_queue(&client, &[]).await;
    SqsQueue::new(client, HashMap::new()).with_queue(Q, url)
}

#[tokio::test]
async fn send_receive_ack() {
    let q = queue().await;
    q.send(Q, "one".into()).await.unwrap();
    q.send(Q, "two".into()).await.unwrap();
    let mut got = q.receive(Q, 10, Duration::from_secs(30)).await.unwrap();
    got.sort_by(|a, b| a.body.cmp(&b.body));
    assert_eq!(got.len(), 2);
    assert_eq!((got[0].body.as_str(), got[0].receive_count), ("one", 1));
    assert_eq!((got[1].body.as_str(), got[1].receive_count), ("two", 1));
    // Hidden while in flight.
    assert!(
        q.receive(Q, 10, Duration::from_secs(30))
            .await
            .unwrap()
            .is_empty()
    );

    q.ack(Q, &got[0].receipt).await.unwrap();
    // A second ack of the same receipt is not an error (as on the embedded queue).
    q.ack(Q, &got[0].receipt).await.unwrap();
    // Back now: the second delivery counts 2.
    q.retry_after(Q, &got[1].receipt, Duration::ZERO)
        .await
        .unwrap();
    let again = q.receive(Q, 10, Duration::from_secs(30)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!((again[0].body.as_str(), again[0].receive_count), ("two", 2));
    q.ack(Q, &again[0].receipt).await.unwrap();
    assert!(q.receive(Q, 10, Duration::ZERO).await.unwrap().is_empty());
    assert!(q.receive(Q, 0, Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn visibility_timeout_brings_messages_back() {
    let q = queue().await;
    q.send(Q, "m".into()).await.unwrap();
    let first = q.receive(Q, 1, Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].receive_count, 1);
    assert!(
        q.receive(Q, 1, Duration::from_secs(1))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let second = q.receive(Q, 1, Duration::from_secs(30)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!((second[0].body.as_str(), second[0].receive_count), ("m", 2));
}

#[tokio::test]
async fn retry_after_delays_redelivery() {
    let q = queue().await;
    q.send(Q, "later".into()).await.unwrap();
    let got = q.receive(Q, 1, Duration::from_secs(60)).await.unwrap();
    q.retry_after(Q, &got[0].receipt, Duration::from_secs(1))
        .await
        .unwrap();
    assert!(
        q.receive(Q, 1, Duration::from_secs(60))
            .await
            .unwrap()
            .is_empty()
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let again = q.receive(Q, 1, Duration::from_secs(60)).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].receive_count, 2);
}

#[tokio::test]
async fn receives_more_than_one_batch() {
    let q = queue().await;
    for i in 0..13 {
        q.send(Q, format!("m{i:02}")).await.unwrap();
    }
    let mut got = q.receive(Q, 20, Duration::from_secs(30)).await.unwrap();
    got.sort_by(|a, b| a.body.cmp(&b.body));
    let bodies: Vec<_> = got.iter().map(|d| d.body.clone()).collect();
    let want: Vec<_> = (0..13).map(|i| format!("m{i:02}")).collect();
    assert_eq!(bodies, want);
    let some = {
        for i in 0..3 {
            q.send(Q, format!("x{i}")).await.unwrap();
        }
        q.receive(Q, 2, Duration::from_secs(30)).await.unwrap()
    };
    assert_eq!(some.len(), 2);
}

#[tokio::test]
async fn dead_letters_after_max_receives() {
    let client = sqs_client(&moto_config().await);
    let dlq_url = create_queue(&client, &[]).await;
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("dlq arn");
    let policy = serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "2"});
    let url = create_queue(&client, &[("RedrivePolicy", policy.to_string())]).await;
    let q = SqsQueue::new(client, HashMap::new())
        .with_queue(Q, url)
        .with_queue(QueueName::Seal, dlq_url);

    q.send(Q, "poison".into()).await.unwrap();
    for n in 1..=2 {
        let got = q.receive(Q, 1, Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1, "receive {n}");
        assert_eq!(got[0].receive_count, n);
    }
    // The third receive would exceed maxReceiveCount: the message moves to the DLQ.
    assert!(q.receive(Q, 1, Duration::ZERO).await.unwrap().is_empty());
    let dead = q
        .receive(QueueName::Seal, 10, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
}

#[tokio::test]
async fn missing_queue_urls_are_clear_errors() {
    let client = sqs_client(&moto_config().await);
    let q = SqsQueue::new(client, HashMap::new());
    for &name in QueueName::ALL {
        match q.send(name, "x".into()).await {
            Err(PortError::Backend(m)) => assert!(m.contains(queue_url_env(name)), "{m}"),
            other => panic!("expected Backend, got {other:?}"),
        }
        assert!(q.receive(name, 1, Duration::ZERO).await.is_err());
    }
    assert_eq!(
        queue_url_env(QueueName::Gather),
        "EXPORTCENTER_GATHER_QUEUE_URL"
    );
    assert_eq!(
        queue_url_env(QueueName::Render),
        "EXPORTCENTER_RENDER_QUEUE_URL"
    );
    assert_eq!(
        queue_url_env(QueueName::Seal),
        "EXPORTCENTER_SEAL_QUEUE_URL"
    );
}

#[tokio::test]
async fn missing_queue_is_a_backend_error() {
    let config = moto_config().await;
    let client = sqs_client(&config);
    let url = format!(
        "{}/123456789012/{}",
        common::moto_endpoint(),
        unique("ec-none")
    );
    let q = SqsQueue::new(client, HashMap::new()).with_queue(Q, url);
    assert!(matches!(
        q.send(Q, "x".into()).await,
        Err(PortError::Backend(_))
    ));
}
