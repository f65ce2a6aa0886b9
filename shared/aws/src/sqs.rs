//! [`WorkQueue`] and [`QueueConsumer`] on SQS, one queue URL per [`QueueName`].
//!
//! On AWS the Lambda event source consumes the queues; the consumer side here serves tests,
//! draining and tooling. Dead-lettering is the queue's redrive policy (`maxReceiveCount`),
//! configured on the queue, not here.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::operation::change_message_visibility::ChangeMessageVisibilityError;
use aws_sdk_sqs::operation::delete_message::DeleteMessageError;
use aws_sdk_sqs::types::MessageSystemAttributeName;
use ec_domain::PortError;
use ec_domain::env::Env;
use ec_domain::messages::QueueName;
use ec_domain::ports::{Delivery, PortResult, QueueConsumer, WorkQueue};

use crate::config::optional_var;
use crate::sdk_error::{port_error, succeeded};

pub const ENV_GATHER_QUEUE_URL: &str = "EXPORTCENTER_GATHER_QUEUE_URL";
pub const ENV_RENDER_QUEUE_URL: &str = "EXPORTCENTER_RENDER_QUEUE_URL";
pub const ENV_SEAL_QUEUE_URL: &str = "EXPORTCENTER_SEAL_QUEUE_URL";
pub const ENV_DELIVER_QUEUE_URL: &str = "EXPORTCENTER_DELIVER_QUEUE_URL";

/// SQS's largest batch of one ReceiveMessage.
const MAX_BATCH: usize = 10;
/// SQS's longest visibility timeout (12 hours).
const MAX_VISIBILITY_SECS: u64 = 43_200;

/// The environment variable holding the URL of `queue`.
pub fn queue_url_env(queue: QueueName) -> &'static str {
    match queue {
        QueueName::Gather => ENV_GATHER_QUEUE_URL,
        QueueName::Render => ENV_RENDER_QUEUE_URL,
        QueueName::Seal => ENV_SEAL_QUEUE_URL,
        QueueName::Deliver => ENV_DELIVER_QUEUE_URL,
    }
}

/// The queue URLs set in `env` (`EXPORTCENTER_{GATHER,RENDER,SEAL}_QUEUE_URL`); each is
/// optional, a missing one is an error only when that queue is used.
pub fn queue_urls(env: &dyn Env) -> HashMap<QueueName, String> {
    QueueName::ALL
        .iter()
        .copied()
        .filter_map(|q| Some((q, optional_var(env, queue_url_env(q))?)))
        .collect()
}

/// Whole seconds, rounded up, capped at SQS's maximum.
fn timeout_secs(d: Duration) -> i32 {
    let secs = d
        .as_secs()
        .saturating_add(u64::from(d.subsec_nanos() > 0))
        .min(MAX_VISIBILITY_SECS);
    i32::try_from(secs).unwrap_or(i32::MAX)
}

/// SQS queues by [`QueueName`].
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    urls: HashMap<QueueName, String>,
    receive_wait: Duration,
}

impl SqsQueue {
    pub fn new(client: Client, urls: HashMap<QueueName, String>) -> Self {
        SqsQueue {
            client,
            urls,
            receive_wait: Duration::ZERO,
        }
    }

    /// Queues from [`queue_urls`] of `env`.
    pub fn from_vars(env: &dyn Env, client: Client) -> Self {
        SqsQueue::new(client, queue_urls(env))
    }

    /// Adds or replaces the URL of one queue.
    pub fn with_queue(mut self, queue: QueueName, url: impl Into<String>) -> Self {
        self.urls.insert(queue, url.into());
        self
    }

    /// Long-polls `receive` for up to `wait` (at most 20 s) when nothing is visible.
    /// Default: zero, `receive` returns at once like the embedded queue.
    pub fn with_receive_wait(mut self, wait: Duration) -> Self {
        self.receive_wait = wait.min(Duration::from_secs(20));
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The URL of `queue`, or an error naming the variable to set.
    pub fn url(&self, queue: QueueName) -> PortResult<&str> {
        self.urls.get(&queue).map(String::as_str).ok_or_else(|| {
            PortError::Backend(format!(
                "no SQS queue URL for the {} queue: set {}",
                queue.as_str(),
                queue_url_env(queue)
            ))
        })
    }
}

#[async_trait]
impl WorkQueue for SqsQueue {
    async fn send_delayed(
        &self,
        queue: QueueName,
        body: String,
        delay: Duration,
    ) -> PortResult<()> {
        let url = self.url(queue)?;
        let secs = delay.min(ec_domain::ports::MAX_QUEUE_DELAY).as_secs();
        // No delay: none set, so the queue's own default applies, as for any plain send.
        let delay = (secs > 0).then(|| i32::try_from(secs).unwrap_or(900));
        self.client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .set_delay_seconds(delay)
            .send()
            .await
            .map_err(|e| port_error(&format!("cannot send to the {} queue", queue.as_str()), e))?;
        Ok(())
    }
}

#[async_trait]
impl QueueConsumer for SqsQueue {
    /// Up to `max` messages (in batches of 10), each hidden for `visibility` (whole
    /// seconds, rounded up, at most 12 hours).
    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let url = self.url(queue)?;
        let mut out = Vec::new();
        let mut first = true;
        while out.len() < max {
            let want = (max - out.len()).min(MAX_BATCH);
            // Long-poll only for the first batch: later ones take what is there.
            let wait = if first {
                timeout_secs(self.receive_wait)
            } else {
                0
            };
            first = false;
            let resp = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(i32::try_from(want).unwrap_or(10))
                .visibility_timeout(timeout_secs(visibility))
                .wait_time_seconds(wait)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| {
                    port_error(
                        &format!("cannot receive from the {} queue", queue.as_str()),
                        e,
                    )
                })?;
            let messages = resp.messages();
            if messages.is_empty() {
                break;
            }
            for m in messages {
                let Some(receipt) = m.receipt_handle() else {
                    tracing::warn!(
                        queue = queue.as_str(),
                        "SQS message without a receipt handle"
                    );
                    continue;
                };
                let receive_count = m
                    .attributes()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|v| v.parse::<u32>().ok())
                    .unwrap_or(1)
                    .max(1);
                out.push(Delivery {
                    receipt: receipt.to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    receive_count,
                });
            }
        }
        Ok(out)
    }

    /// DeleteMessage. As on the embedded queue, a stale or unknown receipt is not an error.
    async fn ack(&self, queue: QueueName, receipt: &str) -> PortResult<()> {
        let url = self.url(queue)?;
        let deleted = self
            .client
            .delete_message()
            .queue_url(url)
            .receipt_handle(receipt)
            .send()
            .await;
        settle(queue, "ack", "delete from", deleted, |e| {
            matches!(e, DeleteMessageError::ReceiptHandleIsInvalid(_))
        })
    }

    /// ChangeMessageVisibility to `delay` (whole seconds, rounded up, at most 12 hours).
    /// A message no longer in flight, or an unknown receipt, is not an error.
    async fn retry_after(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
    ) -> PortResult<()> {
        let url = self.url(queue)?;
        let changed = self
            .client
            .change_message_visibility()
            .queue_url(url)
            .receipt_handle(receipt)
            .visibility_timeout(timeout_secs(delay))
            .send()
            .await;
        let stale = |e: &ChangeMessageVisibilityError| {
            matches!(
                e,
                ChangeMessageVisibilityError::MessageNotInflight(_)
                    | ChangeMessageVisibilityError::ReceiptHandleIsInvalid(_)
            )
        };
        let doing = "change message visibility on";
        settle(queue, "retry_after", doing, changed, stale)
    }
}

/// The end of `operation` on a receipt of `queue`: as on the embedded queue, a receipt that
/// is stale or unknown (the service errors `stale` picks out) is not an error, only logged;
/// any other failure is one of "cannot `doing` the … queue".
fn settle<T, E>(
    queue: QueueName,
    operation: &str,
    doing: &str,
    result: Result<T, SdkError<E>>,
    stale: impl FnOnce(&E) -> bool,
) -> PortResult<()>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let context = || format!("cannot {doing} the {} queue", queue.as_str());
    if !succeeded(result, stale, context)? {
        tracing::debug!(
            queue = queue.as_str(),
            "{operation} with an unknown or stale receipt"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_urls_come_from_the_env_given() {
        let env = [
            (ENV_GATHER_QUEUE_URL, " http://sqs.local/1/gather "),
            (ENV_RENDER_QUEUE_URL, "  "),
        ];
        let urls = queue_urls(&env);
        assert_eq!(
            urls,
            HashMap::from([(QueueName::Gather, "http://sqs.local/1/gather".to_string())])
        );
        let client = Client::from_conf(
            aws_sdk_sqs::Config::builder()
                .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
                .build(),
        );
        let q = SqsQueue::from_vars(&env, client);
        assert_eq!(
            q.url(QueueName::Gather).ok(),
            Some("http://sqs.local/1/gather")
        );
        match q.url(QueueName::Render) {
            Err(PortError::Backend(m)) => assert!(m.contains(ENV_RENDER_QUEUE_URL), "{m}"),
            other => panic!("expected Backend, got {other:?}"),
        }
    }

    #[test]
    fn timeouts_round_up_and_cap() {
        assert_eq!(timeout_secs(Duration::ZERO), 0);
        assert_eq!(timeout_secs(Duration::from_millis(1)), 1);
        assert_eq!(timeout_secs(Duration::from_millis(1500)), 2);
        assert_eq!(timeout_secs(Duration::from_secs(30)), 30);
        assert_eq!(timeout_secs(Duration::from_secs(100_000)), 43_200);
    }
}
