//! The deliver stage: one attempt of one delivery per message. It claims the attempt on the
//! job's delivery record first (a conditional write, with a lease), so a message that
//! arrives twice sends once; sends; and records the outcome. A failed attempt is retried
//! with exponential backoff and jitter until the delivery is older than the configured
//! maximum age, then the delivery is `failed` (the export stays `ready`). Every sent and
//! every finally failed delivery is in the tenant's audit trail.

use std::sync::Arc;
use std::time::Duration;

use ec_domain::StageError;
use ec_domain::audit::{AuditAction, AuditChain, AuditDraft, Outcome as AuditOutcome};
use ec_domain::delivery::{DeliveryMessage, DeliveryRecord, DeliveryStatus};
use ec_domain::ports::DestinationStore;
use time::OffsetDateTime;

use crate::Outcome;
use crate::app::Audit;
use crate::jobs::JobSteps;
use crate::outbound::Announcement;
use crate::sender::{Failed, Sender};

/// The subject the audit trail names for deliveries.
const DELIVER_SUBJECT: &str = "exportcenter:deliver";
/// How long a claimed attempt holds its delivery.
const LEASE: time::Duration = time::Duration::minutes(2);

/// When and how long to retry.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub base: Duration,
    pub cap: Duration,
    /// A delivery older than this is given up.
    pub max_age: Duration,
}

impl RetryPolicy {
    /// The wait after failed attempt `attempt` (1-based): `base · 2^(attempt-1)`, at most
    /// `cap`, times a random factor in [0.5, 1].
    pub fn wait_after(&self, attempt: u32) -> Duration {
        let exp = self
            .base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(20));
        let full = exp.min(self.cap);
        full.mul_f64(0.5 + rand::random::<f64>() / 2.0)
    }
}

/// The deliver stage and the ports it holds.
#[derive(Clone)]
pub struct Deliver {
    pub steps: JobSteps,
    pub destinations: Arc<dyn DestinationStore>,
    pub sender: Sender,
    pub audit: Audit,
    pub retry: RetryPolicy,
    /// The API's public base URL, for the links deliveries carry.
    pub public_url: Option<String>,
}

impl Deliver {
    pub async fn handle(&self, msg: &DeliveryMessage) -> Result<Outcome, StageError> {
        let now = ec_domain::time::now();
        if let Some(wait) = msg
            .not_before
            .map(|t| t - now.unix_timestamp())
            .filter(|w| *w > 0)
        {
            // Longer than a queue can hold a message back: wait the rest.
            self.steps
                .send_delivery(msg, Duration::from_secs(wait.unsigned_abs()))
                .await?;
            return Ok(Outcome::Skipped(format!("not due for {wait} s")));
        }
        let Some(job) = self.steps.load(&msg.tenant_id, &msg.export_id).await? else {
            return Ok(Outcome::Skipped("job not found".into()));
        };
        let Some(record) = job
            .deliveries
            .iter()
            .find(|r| r.is(&msg.destination_id, msg.event))
        else {
            return Ok(Outcome::Skipped("no such delivery on the job".into()));
        };
        match turn(record, msg.attempt, now) {
            Turn::Take => {}
            Turn::Wait => {
                return Err(StageError::retryable(
                    ec_domain::StageCode::ConcurrentUpdate,
                    "another attempt of this delivery is in progress",
                ));
            }
            Turn::Done(why) => return Ok(Outcome::Skipped(why)),
        }
        // Claim the attempt, deciding again on the record as written; a duplicate message
        // loses here.
        let mut claimed = false;
        let lease_end = now + LEASE;
        let record = self
            .change(msg, |r| {
                claimed = turn(r, msg.attempt, now) == Turn::Take;
                if claimed {
                    r.attempts = msg.attempt.max(r.attempts);
                    r.claimed_until = Some(lease_end);
                }
                claimed
            })
            .await?;
        let Some(record) = record.filter(|_| claimed) else {
            return Ok(Outcome::Skipped(
                "another message claimed this attempt".into(),
            ));
        };

        let result = self.attempt(&job, msg).await;
        self.record(msg, &record, result).await
    }

    /// Sends one attempt.
    async fn attempt(&self, job: &ec_domain::Job, msg: &DeliveryMessage) -> Result<(), Failed> {
        let destination = match self
            .destinations
            .get(&msg.tenant_id, &msg.destination_id)
            .await
        {
            Ok(Some(d)) => d,
            Ok(None) => return Err(Failed::permanent("the destination was deleted")),
            Err(e) => return Err(Failed::retry(format!("reading the destination: {e}"))),
        };
        let announcement = Announcement::of(job, msg.event, self.public_url.as_deref());
        self.sender
            .send(&destination, &announcement, Some(job), &msg.message_id())
            .await
    }

    /// Writes the attempt's outcome; schedules the next attempt or gives up.
    async fn record(
        &self,
        msg: &DeliveryMessage,
        record: &DeliveryRecord,
        result: Result<(), Failed>,
    ) -> Result<Outcome, StageError> {
        let now = ec_domain::time::now();
        match result {
            Ok(()) => {
                self.set(msg, |r| {
                    r.status = DeliveryStatus::Delivered;
                    r.delivered_at = Some(now);
                    r.claimed_until = None;
                    r.last_error = None;
                })
                .await?;
                tracing::info!(export_id = %msg.export_id, destination_id = %msg.destination_id, attempt = msg.attempt, "delivered");
                self.audit_entry(msg, AuditAction::DeliverySent, AuditOutcome::Success, 200)
                    .await;
                Ok(Outcome::Done)
            }
            Err(failed) => {
                let wait = self.retry.wait_after(msg.attempt);
                let age_then = now + wait - record.created_at;
                let give_up = !failed.retry
                    || age_then
                        > time::Duration::try_from(self.retry.max_age)
                            .unwrap_or(time::Duration::DAY);
                let reason = failed.reason.clone();
                self.set(msg, |r| {
                    r.claimed_until = None;
                    r.last_error = Some(reason.clone());
                    if give_up {
                        r.status = DeliveryStatus::Failed;
                    }
                })
                .await?;
                if give_up {
                    tracing::warn!(export_id = %msg.export_id, destination_id = %msg.destination_id, attempt = msg.attempt, reason = %failed.reason, "delivery failed for good");
                    self.audit_entry(msg, AuditAction::DeliveryFailed, AuditOutcome::Failure, 502)
                        .await;
                    return Ok(Outcome::Done);
                }
                tracing::info!(export_id = %msg.export_id, destination_id = %msg.destination_id, attempt = msg.attempt, wait_ms = wait.as_millis() as u64, reason = %failed.reason, "delivery attempt failed; retrying");
                let next = DeliveryMessage {
                    attempt: msg.attempt + 1,
                    not_before: Some(not_before(now, wait)),
                    ..msg.clone()
                };
                self.steps.send_delivery(&next, wait).await?;
                Ok(Outcome::Done)
            }
        }
    }

    /// Applies `f` to the message's delivery record and writes it when `f` says it changed.
    async fn change(
        &self,
        msg: &DeliveryMessage,
        f: impl FnMut(&mut DeliveryRecord) -> bool,
    ) -> Result<Option<DeliveryRecord>, StageError> {
        self.steps
            .update_delivery(
                &msg.tenant_id,
                &msg.export_id,
                &msg.destination_id,
                msg.event,
                f,
            )
            .await
    }

    /// Applies `f` to the message's delivery record.
    async fn set(
        &self,
        msg: &DeliveryMessage,
        f: impl Fn(&mut DeliveryRecord),
    ) -> Result<Option<DeliveryRecord>, StageError> {
        self.change(msg, |r| {
            f(r);
            true
        })
        .await
    }

    async fn audit_entry(
        &self,
        msg: &DeliveryMessage,
        action: AuditAction,
        outcome: AuditOutcome,
        status: u16,
    ) {
        self.audit
            .record(AuditDraft {
                chain: AuditChain::Tenant(msg.tenant_id.clone()),
                at: ec_domain::time::now(),
                subject: DELIVER_SUBJECT.into(),
                action,
                resource: format!(
                    "/api/v1/exports/{}#deliveries/{}",
                    msg.export_id, msg.destination_id
                ),
                outcome,
                status,
                trace_id: msg.message_id(),
                source_ip: None,
                user_agent: None,
            })
            .await;
    }

    /// A delivery message that cannot be handled any more (out of receives, or malformed
    /// beyond reading): its delivery is `failed`.
    pub async fn give_up(&self, msg: &DeliveryMessage, why: &str) {
        let reason = why.to_string();
        let result = self
            .change(msg, |r| {
                let open = r.status == DeliveryStatus::Pending;
                if open {
                    r.status = DeliveryStatus::Failed;
                    r.claimed_until = None;
                    r.last_error = Some(reason.clone());
                }
                open
            })
            .await;
        if let Err(e) = result {
            tracing::error!(export_id = %msg.export_id, error = %e, "could not record the failed delivery");
        }
    }
}

/// What a message for attempt `attempt` may do with a delivery at `now`.
#[derive(Debug, PartialEq, Eq)]
enum Turn {
    /// Claim it and send.
    Take,
    /// Another attempt holds a live claim: come back later.
    Wait,
    /// Nothing to do (delivered, failed, or this attempt was made), and why.
    Done(String),
}

fn turn(r: &DeliveryRecord, attempt: u32, now: OffsetDateTime) -> Turn {
    if r.status != DeliveryStatus::Pending {
        return Turn::Done(format!("delivery is {}", r.status));
    }
    match r.claimed_until {
        Some(t) if t > now => Turn::Wait,
        // A claim that ran out: its sender died mid-attempt; attempt it again.
        Some(_) => Turn::Take,
        None if r.attempts >= attempt => Turn::Done(format!("attempt {attempt} was made already")),
        None => Turn::Take,
    }
}

/// `now + wait` in unix seconds, rounded up.
fn not_before(now: OffsetDateTime, wait: Duration) -> i64 {
    let ms = wait.as_millis().min(i64::MAX as u128) as i64;
    now.unix_timestamp() + (ms + 999) / 1000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_to_the_cap_with_jitter() {
        let p = RetryPolicy {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(3600),
            max_age: Duration::from_secs(86_400),
        };
        for (attempt, full) in [(1, 30), (2, 60), (3, 120), (8, 3600), (40, 3600)] {
            let w = p.wait_after(attempt).as_secs_f64();
            assert!(
                w >= full as f64 / 2.0 && w <= full as f64,
                "attempt {attempt}: {w}"
            );
        }
    }
}
