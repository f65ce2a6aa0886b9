//! SQS-triggered stages with partial batch responses (`ReportBatchItemFailures`): a record
//! that may succeed later is reported as failed so SQS redelivers it alone; a record that
//! can never succeed fails its job and is acknowledged.

use aws_lambda_events::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use serde_json::Value;

use ec_domain::messages::{ObjectCreated, QueueName};
use ec_pipeline::stages::Stages;
use ec_pipeline::{Outcome, StageError};

use crate::s3_event;

/// Runs the stage of `queue` over every record of the batch.
pub async fn handle_batch(stages: &Stages, queue: QueueName, event: SqsEvent) -> SqsBatchResponse {
    let mut failures = Vec::new();
    for record in event.records {
        let id = record.message_id.clone().unwrap_or_default();
        if let Err(retry) = handle_record(stages, queue, &record).await {
            tracing::warn!(message_id = %id, queue = queue.as_str(), error = %retry, "record will be retried");
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            failures.push(failure);
        }
    }
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failures;
    response
}

fn receive_count(record: &SqsMessage) -> u32 {
    record
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|c| c.parse().ok())
        .unwrap_or(1)
}

/// `Err` means "redeliver this record"; everything else is settled.
async fn handle_record(
    stages: &Stages,
    queue: QueueName,
    record: &SqsMessage,
) -> Result<(), StageError> {
    let body = record.body.as_deref().unwrap_or_default();
    let attempts = receive_count(record);
    for item in work_items(queue, body) {
        let result = match &item {
            Work::Message(b) => stages.handle(queue, b).await,
            Work::Created(ev) => stages.seal.handle(ev).await,
        };
        match result {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Skipped(why)) => {
                tracing::debug!(queue = queue.as_str(), why = %why, "skipped")
            }
            Err(e) if e.is_retryable() && attempts < stages.max_attempts => {
                return Err(e);
            }
            Err(e) => {
                let body = match &item {
                    Work::Message(b) => b.clone(),
                    Work::Created(ev) => serde_json::to_string(ev).unwrap_or_default(),
                };
                let as_queue = if matches!(item, Work::Created(_)) {
                    QueueName::Seal
                } else {
                    queue
                };
                stages.give_up(as_queue, &body, &e).await;
            }
        }
    }
    Ok(())
}

enum Work {
    Message(String),
    Created(ObjectCreated),
}

/// The seal queue carries S3 notifications (one or more records per message); the other
/// queues carry our own messages.
fn work_items(queue: QueueName, body: &str) -> Vec<Work> {
    if queue == QueueName::Seal
        && let Ok(v) = serde_json::from_str::<Value>(body)
        && (v.get("Records").is_some() || v.get("Event").is_some())
    {
        return s3_event::object_created(&v)
            .into_iter()
            .map(Work::Created)
            .collect();
    }
    vec![Work::Message(body.to_string())]
}
