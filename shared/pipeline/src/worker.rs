//! Message dispatch shared by every runtime, and the pull loop the embedded stack runs
//! (on AWS, the Lambda event source pulls instead).

use std::sync::Arc;
use std::time::Duration;

use ec_domain::messages::{JobMessage, ObjectCreated, QueueName};
use ec_domain::ports::{Delivery, QueueConsumer};

use crate::{Outcome, Pipeline, StageError};

impl Pipeline {
    /// Runs the stage that owns `queue` on one message body.
    pub async fn handle(&self, queue: QueueName, body: &str) -> Result<Outcome, StageError> {
        let bad = |e: serde_json::Error| {
            StageError::permanent(
                "ERR_BAD_MESSAGE",
                format!("{} message: {e}", queue.as_str()),
            )
        };
        match queue {
            QueueName::Gather => {
                self.gather(&serde_json::from_str::<JobMessage>(body).map_err(bad)?)
                    .await
            }
            QueueName::Render => {
                self.render(&serde_json::from_str::<JobMessage>(body).map_err(bad)?)
                    .await
            }
            QueueName::Seal => {
                self.seal(&serde_json::from_str::<ObjectCreated>(body).map_err(bad)?)
                    .await
            }
        }
    }

    /// A message failed for good (or ran out of attempts): fail the job it was about.
    pub async fn give_up(&self, queue: QueueName, body: &str, error: &StageError) {
        let ids = match queue {
            QueueName::Gather | QueueName::Render => serde_json::from_str::<JobMessage>(body)
                .ok()
                .map(|m| (m.tenant_id, m.export_id)),
            QueueName::Seal => serde_json::from_str::<ObjectCreated>(body)
                .ok()
                .and_then(|e| {
                    ec_domain::keys::parse_report(&e.key)
                        .map(|(t, id)| (t.to_string(), id.to_string()))
                }),
        };
        let Some((tenant, export_id)) = ids else {
            tracing::error!(queue = queue.as_str(), error = %error, "dropping a message that names no job");
            return;
        };
        if let Err(e) = self.fail_job(&tenant, &export_id, error.job_error()).await {
            tracing::error!(export_id, error = %e, "could not record the failure");
        }
    }
}

/// How an embedded worker pulls.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// How long a received message stays hidden (`EXPORTCENTER_VISIBILITY_TIMEOUT_SECS`).
    pub visibility: Duration,
    /// Upper bound on the wait between polls when no wake-up arrives.
    pub idle_wait: Duration,
    /// First retry delay; doubles per attempt, capped at 60 s.
    pub retry_base: Duration,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            visibility: Duration::from_secs(120),
            idle_wait: Duration::from_millis(500),
            retry_base: Duration::from_secs(1),
        }
    }
}

/// Pulls `queue` forever, one message at a time; run several for parallelism.
pub async fn run_worker(
    pipeline: Pipeline,
    consumer: Arc<dyn QueueConsumer>,
    queue: QueueName,
    cfg: WorkerConfig,
) {
    loop {
        match consumer.receive(queue, 1, cfg.visibility).await {
            Ok(batch) if batch.is_empty() => consumer.wait_for_work(queue, cfg.idle_wait).await,
            Ok(batch) => {
                for d in batch {
                    process(&pipeline, consumer.as_ref(), queue, &cfg, d).await;
                }
            }
            Err(e) => {
                tracing::error!(queue = queue.as_str(), error = %e, "receive failed");
                tokio::time::sleep(cfg.idle_wait).await;
            }
        }
    }
}

async fn process(
    pipeline: &Pipeline,
    consumer: &dyn QueueConsumer,
    queue: QueueName,
    cfg: &WorkerConfig,
    d: Delivery,
) {
    let result = pipeline.handle(queue, &d.body).await;
    let settle = match &result {
        Ok(outcome) => {
            if let Outcome::Skipped(why) = outcome {
                tracing::debug!(queue = queue.as_str(), why = %why, "message skipped");
            }
            consumer.ack(queue, &d.receipt).await
        }
        Err(e) if e.is_retryable() && d.receive_count < pipeline.settings.max_attempts => {
            let delay = retry_delay(cfg.retry_base, d.receive_count);
            tracing::warn!(queue = queue.as_str(), attempt = d.receive_count, error = %e, ?delay, "stage failed; will retry");
            consumer.retry_after(queue, &d.receipt, delay).await
        }
        Err(e) => {
            pipeline.give_up(queue, &d.body, e).await;
            consumer.ack(queue, &d.receipt).await
        }
    };
    if let Err(e) = settle {
        tracing::error!(queue = queue.as_str(), error = %e, "could not settle message; it will be redelivered");
    }
}

fn retry_delay(base: Duration, attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(6);
    (base * factor).min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delay_doubles_and_caps() {
        let b = Duration::from_secs(1);
        assert_eq!(retry_delay(b, 1), Duration::from_secs(1));
        assert_eq!(retry_delay(b, 3), Duration::from_secs(4));
        assert_eq!(retry_delay(b, 30), Duration::from_secs(60));
    }
}
