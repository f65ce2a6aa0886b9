//! A durable work queue in SQLite with SQS semantics.

use std::time::Duration;

use async_trait::async_trait;
use ec_domain::messages::QueueName;
use ec_domain::ports::{Delivery, PortResult, QueueConsumer, WorkQueue};
use rand::RngCore;
use rusqlite::{TransactionBehavior, params};

use crate::clock::{after_ms, now_ms};
use crate::db::Db;

/// Deliveries before a message is dead-lettered, unless the constructor says otherwise.
pub const DEFAULT_MAX_RECEIVES: u32 = 5;

/// A message moved aside after too many deliveries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The message's id while it was queued.
    pub id: i64,
    pub queue: String,
    pub body: String,
    /// Deliveries it had (the queue's `max_receives`).
    pub receive_count: u32,
    /// Unix ms.
    pub sent_at: i64,
    /// Unix ms.
    pub dead_at: i64,
}

/// Messages of one queue by state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueueDepth {
    /// Deliverable now.
    pub visible: u64,
    /// Received and hidden by their visibility timeout, or waiting out a retry delay.
    pub in_flight: u64,
    /// Sent with a delay and never received yet.
    pub delayed: u64,
    /// In the dead-letter table.
    pub dead: u64,
}

impl QueueDepth {
    /// Messages still in the queue (not dead).
    pub fn total(&self) -> u64 {
        self.visible + self.in_flight + self.delayed
    }
}

/// [`WorkQueue`] and [`QueueConsumer`] over the `queue_messages` table.
///
/// `receive` hides each delivered message for the visibility timeout and hands out a fresh
/// receipt; an unacknowledged message comes back, and one that would be delivered more
/// than `max_receives` times goes to the dead-letter table instead. Sends wake tasks
/// waiting in [`SqliteQueue::wait_for_work`] (all handles on the same [`Db`] share the
/// wake-ups).
#[derive(Debug, Clone)]
pub struct SqliteQueue {
    db: Db,
    max_receives: u32,
}

fn new_receipt() -> String {
    let mut b = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl SqliteQueue {
    /// A queue dead-lettering after [`DEFAULT_MAX_RECEIVES`] deliveries.
    pub fn new(db: Db) -> Self {
        Self::with_max_receives(db, DEFAULT_MAX_RECEIVES)
    }

    /// A queue dead-lettering after `max_receives` deliveries (at least 1).
    pub fn with_max_receives(db: Db, max_receives: u32) -> Self {
        SqliteQueue {
            db,
            max_receives: max_receives.max(1),
        }
    }

    pub fn max_receives(&self) -> u32 {
        self.max_receives
    }

    /// Sends a message that becomes visible only after `delay`.
    pub async fn send_delayed(
        &self,
        queue: QueueName,
        body: String,
        delay: Duration,
    ) -> PortResult<()> {
        self.db
            .call(move |c| {
                let now = now_ms();
                c.execute(
                    "INSERT INTO queue_messages (queue, body, sent_at, visible_at, receive_count)
                     VALUES (?1, ?2, ?3, ?4, 0)",
                    params![queue.as_str(), body, now, after_ms(now, delay)],
                )?;
                Ok(())
            })
            .await?;
        self.wake(queue);
        Ok(())
    }

    /// How long until the next message of `queue` becomes visible: zero if one is visible
    /// now, `None` if the queue is empty.
    pub async fn next_visible_in(&self, queue: QueueName) -> PortResult<Option<Duration>> {
        let next: Option<i64> =
            self.db
                .call(move |c| {
                    Ok(c.prepare_cached(
                        "SELECT MIN(visible_at) FROM queue_messages WHERE queue = ?1",
                    )?
                    .query_row(params![queue.as_str()], |r| r.get(0))?)
                })
                .await?;
        Ok(next.map(|at| {
            let ms = at.saturating_sub(now_ms()).max(0);
            Duration::from_millis(u64::try_from(ms).unwrap_or(0))
        }))
    }

    /// The dead letters of `queue`, oldest first.
    pub async fn dead_letters(&self, queue: QueueName) -> PortResult<Vec<DeadLetter>> {
        self.db
            .call(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT id, queue, body, receive_count, sent_at, dead_at
                     FROM queue_dead_letters WHERE queue = ?1 ORDER BY id",
                )?;
                let rows = stmt
                    .query_map(params![queue.as_str()], |r| {
                        Ok(DeadLetter {
                            id: r.get(0)?,
                            queue: r.get(1)?,
                            body: r.get(2)?,
                            receive_count: u32::try_from(r.get::<_, i64>(3)?).unwrap_or(0),
                            sent_at: r.get(4)?,
                            dead_at: r.get(5)?,
                        })
                    })?
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(rows)
            })
            .await
    }

    /// Moves every dead letter of `queue` back to the end of the queue, with a fresh
    /// receive count; returns how many.
    pub async fn redrive(&self, queue: QueueName) -> PortResult<usize> {
        let n = self
            .db
            .call(move |c| {
                let now = now_ms();
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let n = tx.execute(
                    "INSERT INTO queue_messages (queue, body, sent_at, visible_at, receive_count)
                     SELECT queue, body, sent_at, ?2, 0 FROM queue_dead_letters
                     WHERE queue = ?1 ORDER BY id",
                    params![queue.as_str(), now],
                )?;
                tx.execute(
                    "DELETE FROM queue_dead_letters WHERE queue = ?1",
                    params![queue.as_str()],
                )?;
                tx.commit()?;
                Ok(n)
            })
            .await?;
        if n > 0 {
            self.wake(queue);
        }
        Ok(n)
    }

    /// Counts the messages of `queue` by state.
    pub async fn depth(&self, queue: QueueName) -> PortResult<QueueDepth> {
        self.db
            .call(move |c| {
                let now = now_ms();
                let (visible, in_flight, delayed): (i64, i64, i64) = c
                    .prepare_cached(
                        "SELECT
                             COALESCE(SUM(visible_at <= ?2), 0),
                             COALESCE(SUM(visible_at > ?2 AND receive_count > 0), 0),
                             COALESCE(SUM(visible_at > ?2 AND receive_count = 0), 0)
                         FROM queue_messages WHERE queue = ?1",
                    )?
                    .query_row(params![queue.as_str(), now], |r| {
                        Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                    })?;
                let dead: i64 = c
                    .prepare_cached("SELECT COUNT(*) FROM queue_dead_letters WHERE queue = ?1")?
                    .query_row(params![queue.as_str()], |r| r.get(0))?;
                Ok(QueueDepth {
                    visible: count(visible),
                    in_flight: count(in_flight),
                    delayed: count(delayed),
                    dead: count(dead),
                })
            })
            .await
    }

    /// Makes every received-but-unacknowledged message of every queue visible now and
    /// voids its receipt. For start-up, by the one process that owns the data directory:
    /// whoever held those messages is gone. Returns how many were released.
    pub async fn release_in_flight(&self) -> PortResult<usize> {
        let n = self
            .db
            .call(|c| {
                let now = now_ms();
                Ok(c.execute(
                    "UPDATE queue_messages SET visible_at = ?1, receipt = NULL
                     WHERE receive_count > 0 AND visible_at > ?1",
                    params![now],
                )?)
            })
            .await?;
        if n > 0 {
            for &q in QueueName::ALL {
                self.wake(q);
            }
        }
        Ok(n)
    }

    fn wake(&self, queue: QueueName) {
        self.db.signals().get(queue).notify_waiters();
    }
}

#[async_trait]
impl WorkQueue for SqliteQueue {
    async fn send_delayed(
        &self,
        queue: QueueName,
        body: String,
        delay: Duration,
    ) -> PortResult<()> {
        let delay = delay.min(ec_domain::ports::MAX_QUEUE_DELAY);
        SqliteQueue::send_delayed(self, queue, body, delay).await
    }
}

#[async_trait]
impl QueueConsumer for SqliteQueue {
    /// Waits until `queue` probably has a deliverable message: one is visible now, a
    /// hidden one's timeout runs out, or something is sent or released. Returns after
    /// `max_wait` at the latest, so a worker loop of `receive` + `wait_for_work` neither
    /// spins nor misses work. A database error is logged and waited out.
    async fn wait_for_work(&self, queue: QueueName, max_wait: Duration) {
        let notified = self.db.signals().get(queue).notified();
        tokio::pin!(notified);
        // Registered before looking at the table: a send after the look still wakes us.
        notified.as_mut().enable();
        let wait = match self.next_visible_in(queue).await {
            Ok(Some(d)) if d.is_zero() => return,
            Ok(Some(d)) => d.min(max_wait),
            Ok(None) => max_wait,
            Err(e) => {
                tracing::warn!(queue = queue.as_str(), error = %e, "queue look-up failed");
                max_wait
            }
        };
        let _ = tokio::time::timeout(wait, notified).await;
    }

    async fn receive(
        &self,
        queue: QueueName,
        max: usize,
        visibility: Duration,
    ) -> PortResult<Vec<Delivery>> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let max_receives = i64::from(self.max_receives);
        self.db
            .call(move |c| {
                let now = now_ms();
                let hidden_until = after_ms(now, visibility);
                let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let mut out: Vec<Delivery> = Vec::new();
                let mut after_id = 0i64;
                while out.len() < max {
                    let want = i64::try_from(max - out.len()).unwrap_or(i64::MAX);
                    let batch = tx
                        .prepare_cached(
                            "SELECT id, body, receive_count FROM queue_messages
                             WHERE queue = ?1 AND visible_at <= ?2 AND id > ?3
                             ORDER BY id LIMIT ?4",
                        )?
                        .query_map(params![queue.as_str(), now, after_id, want], |r| {
                            Ok((
                                r.get::<_, i64>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, i64>(2)?,
                            ))
                        })?
                        .collect::<Result<Vec<_>, _>>()?;
                    if batch.is_empty() {
                        break;
                    }
                    for (id, body, received) in batch {
                        after_id = id;
                        let receive_count = received.saturating_add(1);
                        if receive_count > max_receives {
                            tx.execute(
                                "INSERT OR REPLACE INTO queue_dead_letters
                                     (id, queue, body, sent_at, receive_count, dead_at)
                                 SELECT id, queue, body, sent_at, receive_count, ?2
                                 FROM queue_messages WHERE id = ?1",
                                params![id, now],
                            )?;
                            tx.execute("DELETE FROM queue_messages WHERE id = ?1", params![id])?;
                            tracing::warn!(
                                queue = queue.as_str(),
                                message_id = id,
                                receives = received,
                                "message dead-lettered after too many receives"
                            );
                            continue;
                        }
                        let receipt = new_receipt();
                        tx.execute(
                            "UPDATE queue_messages
                             SET receive_count = ?2, receipt = ?3, visible_at = ?4
                             WHERE id = ?1",
                            params![id, receive_count, receipt, hidden_until],
                        )?;
                        out.push(Delivery {
                            receipt,
                            body,
                            receive_count: u32::try_from(receive_count).unwrap_or(u32::MAX),
                        });
                    }
                }
                tx.commit()?;
                Ok(out)
            })
            .await
    }

    async fn ack(&self, queue: QueueName, receipt: &str) -> PortResult<()> {
        let receipt = receipt.to_string();
        self.db
            .call(move |c| {
                let n = c.execute(
                    "DELETE FROM queue_messages WHERE queue = ?1 AND receipt = ?2",
                    params![queue.as_str(), receipt],
                )?;
                if n == 0 {
                    // SQS-like: a stale receipt (the message was re-delivered, or already
                    // deleted) is not an error, and must not touch the newer delivery.
                    tracing::debug!(
                        queue = queue.as_str(),
                        "ack with an unknown or stale receipt"
                    );
                }
                Ok(())
            })
            .await
    }

    async fn retry_after(
        &self,
        queue: QueueName,
        receipt: &str,
        delay: Duration,
    ) -> PortResult<()> {
        let receipt = receipt.to_string();
        let changed = self
            .db
            .call(move |c| {
                let n = c.execute(
                    "UPDATE queue_messages SET visible_at = ?3 WHERE queue = ?1 AND receipt = ?2",
                    params![queue.as_str(), receipt, after_ms(now_ms(), delay)],
                )?;
                Ok(n)
            })
            .await?;
        if changed == 0 {
            tracing::debug!(
                queue = queue.as_str(),
                "retry_after with an unknown or stale receipt"
            );
        } else {
            // Waiters recompute when the next message becomes visible.
            self.wake(queue);
        }
        Ok(())
    }
}
