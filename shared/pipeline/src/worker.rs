//! The pull loop the embedded stack runs per queue (on AWS, the Lambda event source pulls
//! instead and `ec_lambda` settles the batch): receive, run the owning stage, then ack,
//! retry with back-off, or give up and fail the job.

use std::sync::Arc;
use std::time::Duration;

use ec_domain::messages::QueueName;
use ec_domain::ports::{Delivery, QueueConsumer};

use crate::Outcome;
use crate::stages::Stages;

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
    stages: Stages,
    consumer: Arc<dyn QueueConsumer>,
    queue: QueueName,
    cfg: WorkerConfig,
) {
    loop {
        match consumer.receive(queue, 1, cfg.visibility).await {
            Ok(batch) if batch.is_empty() => consumer.wait_for_work(queue, cfg.idle_wait).await,
            Ok(batch) => {
                for d in batch {
                    process(&stages, consumer.as_ref(), queue, &cfg, d).await;
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
    stages: &Stages,
    consumer: &dyn QueueConsumer,
    queue: QueueName,
    cfg: &WorkerConfig,
    d: Delivery,
) {
    let result = stages.handle(queue, &d.body).await;
    let settle = match &result {
        Ok(outcome) => {
            if let Outcome::Skipped(why) = outcome {
                tracing::debug!(queue = queue.as_str(), why = %why, "message skipped");
            }
            consumer.ack(queue, &d.receipt).await
        }
        Err(e) if e.is_retryable() && d.receive_count < stages.max_attempts => {
            let delay = retry_delay(cfg.retry_base, d.receive_count);
            tracing::warn!(queue = queue.as_str(), attempt = d.receive_count, error = %e, ?delay, "stage failed; will retry");
            consumer.retry_after(queue, &d.receipt, delay).await
        }
        Err(e) => {
            stages.give_up(queue, &d.body, e).await;
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
