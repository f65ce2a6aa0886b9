//! What only `SqsQueue` does, against a moto server (`EC_MOTO_ENDPOINT`): dead letters by
//! the queue's redrive policy, and clear errors for unset or missing queues. The port's
//! contract runs in `contract.rs`.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use ec_aws::config::sqs_client;
use ec_aws::sqs::{SqsQueue, queue_url_env};
use ec_domain::PortError;
use ec_domain::messages::QueueName;
use ec_domain::ports::{QueueConsumer, WorkQueue};

use common::{create_queue, moto_config, unique};

const Q: QueueName = QueueName::Gather;

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
