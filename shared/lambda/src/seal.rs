//! The seal function's event: an S3 notification delivered directly, or SQS messages
//! carrying S3 notifications (then answered with a partial batch response).

use serde_json::Value;

use ec_domain::messages::QueueName;
use ec_pipeline::Outcome;
use ec_pipeline::stages::Stages;

use crate::{HandlerError, s3_event, sqs};

pub async fn handle(stages: &Stages, event: Value) -> Result<Value, HandlerError> {
    let from_sqs = event["Records"]
        .as_array()
        .and_then(|r| r.first())
        .is_some_and(|r| r["eventSource"] == "aws:sqs");
    if from_sqs {
        let batch = serde_json::from_value(event)
            .map_err(|e| HandlerError::Permanent(format!("SQS event: {e}")))?;
        let answer = sqs::handle_batch(stages, QueueName::Seal, batch).await;
        return serde_json::to_value(answer).map_err(|e| HandlerError::Permanent(e.to_string()));
    }
    // Direct S3 invocation: Lambda retries the whole event on a retryable error.
    for created in s3_event::object_created(&event) {
        match stages.seal.handle(&created).await {
            Ok(Outcome::Done) => {}
            Ok(Outcome::Skipped(why)) => tracing::debug!(key = %created.key, why = %why, "skipped"),
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => {
                let body = serde_json::to_string(&created).unwrap_or_default();
                stages.give_up(QueueName::Seal, &body, &e).await;
            }
        }
    }
    Ok(Value::Null)
}
