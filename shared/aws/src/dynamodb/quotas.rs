//! Per-tenant export quotas in DynamoDB, with atomic conditional writes only (no
//! transactions, which conflict under contention):
//!
//! - `quota_key = "concurrent"`: `holders`, a map export id → reservation time (epoch ms).
//!   A slot is taken by `SET holders.#id = if_not_exists(holders.#id, :at)` on the
//!   condition `attribute_exists(holders.#id) OR size(holders) < :limit`, so DynamoDB
//!   serialises concurrent takers on the item and the map never holds more than the limit;
//!   releasing is `REMOVE holders.#id` (idempotent by construction).
//! - `quota_key = "minute#{window start, epoch seconds}"`: `used`, counted by
//!   `ADD used :one` on the condition `attribute_not_exists(used) OR used < :limit`, with a
//!   TTL (`expires_at`) an hour after the window ends.
//!
//! A reservation takes the slot first, then counts the request; a request refused by the
//! per-minute limit gives the slot it took back. Between those two writes another request
//! may see one slot more taken than there will be: it is refused, never let through.
//! The holders map bounds `concurrent_exports` to what fits in one item (400 KB: several
//! thousand slots).

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
use ec_domain::ports::{
    PortResult, QuotaLimit, QuotaUsage, Quotas, Reservation, SlotHolder, quota_window,
};
use ec_domain::tenant_settings::QuotaSettings;
use ec_domain::{ExportId, PortError, TenantId};
use time::OffsetDateTime;

use super::attrs::{Item, get_i64, n, port_error, s};
use super::table::Table;

/// Sort key of the item holding the concurrent slots.
const SLOTS_KEY: &str = "concurrent";
/// How long a window's counter outlives the window (TTL deletion is lazy anyway).
const WINDOW_TTL_SECS: i64 = 3600;
/// Attempts at taking a slot: the first use of a tenant's slots item races to create it.
const SLOT_ATTEMPTS: usize = 5;

/// [`Quotas`] over a DynamoDB table keyed by (`tenant_id`, `quota_key`).
#[derive(Debug, Clone)]
pub struct DynamoQuotas {
    table: Table,
}

/// What taking a slot did.
enum Take {
    /// Holds it now; `held_before`: it already did.
    Held {
        held_before: bool,
        used: u32,
    },
    Full,
}

fn key(tenant: &TenantId, quota_key: &str) -> Item {
    Item::from([
        ("tenant_id".to_string(), s(tenant)),
        ("quota_key".to_string(), s(quota_key)),
    ])
}

fn window_key(start: OffsetDateTime) -> String {
    format!("minute#{}", start.unix_timestamp())
}

fn count_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

fn count_usize(n: u32) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn holders_of(item: Option<&Item>) -> PortResult<Option<&HashMap<String, AttributeValue>>> {
    match item.and_then(|i| i.get("holders")) {
        None => Ok(None),
        Some(AttributeValue::M(m)) => Ok(Some(m)),
        Some(_) => Err(PortError::Invalid(
            "stored quota slots: attribute holders is not a map".into(),
        )),
    }
}

fn is_condition_failure(e: &aws_sdk_dynamodb::error::SdkError<UpdateItemError>) -> bool {
    matches!(
        e.as_service_error(),
        Some(UpdateItemError::ConditionalCheckFailedException(_))
    )
}

impl DynamoQuotas {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoQuotas {
            table: Table::new(client, table),
        }
    }

    pub fn table(&self) -> &str {
        self.table.name()
    }

    async fn take_slot(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        limit: u32,
        now: OffsetDateTime,
    ) -> PortResult<Take> {
        let what = format!("quota slot of {tenant}/{export_id}");
        for _ in 0..SLOT_ATTEMPTS {
            let sent = self
                .table
                .update_item()
                .set_key(Some(key(tenant, SLOTS_KEY)))
                .update_expression("SET holders.#id = if_not_exists(holders.#id, :at)")
                .condition_expression(
                    "attribute_exists(holders) AND \
                     (attribute_exists(holders.#id) OR size(holders) < :limit)",
                )
                .expression_attribute_names("#id", export_id.as_str())
                .expression_attribute_values(":at", n(epoch_ms(now)))
                .expression_attribute_values(":limit", n(limit))
                .return_values(ReturnValue::AllOld)
                .send()
                .await;
            match sent {
                Ok(out) => {
                    let old = holders_of(out.attributes.as_ref())?;
                    let before = old.map_or(0, HashMap::len);
                    let held_before = old.is_some_and(|m| m.contains_key(export_id.as_str()));
                    let used = count_u32(before + usize::from(!held_before));
                    return Ok(Take::Held { held_before, used });
                }
                Err(e) if is_condition_failure(&e) => {}
                Err(e) => return Err(port_error(&format!("take {what}"), e)),
            }
            // Lost: the slots item did not exist yet (first use; make it), or was full. A
            // map found with room means it was made meanwhile by a concurrent first use.
            let item = self.table.get(key(tenant, SLOTS_KEY), &what).await?;
            match holders_of(item.as_ref())? {
                None => self.create_slots(tenant).await?,
                Some(m) if m.contains_key(export_id.as_str()) || m.len() < count_usize(limit) => {}
                Some(_) => return Ok(Take::Full),
            }
        }
        Err(PortError::Unavailable(format!(
            "{what} is contended; try again"
        )))
    }

    /// Makes the tenant's slots item with an empty map, unless it exists.
    async fn create_slots(&self, tenant: &TenantId) -> PortResult<()> {
        self.table
            .update_item()
            .set_key(Some(key(tenant, SLOTS_KEY)))
            .update_expression("SET holders = if_not_exists(holders, :empty)")
            .expression_attribute_values(":empty", AttributeValue::M(HashMap::new()))
            .send()
            .await
            .map(drop)
            .map_err(|e| port_error(&format!("create the quota slots of {tenant}"), e))
    }

    /// Counts one request in the window; `Ok(None)` when the window is full.
    async fn count(
        &self,
        tenant: &TenantId,
        window: OffsetDateTime,
        limit: u32,
    ) -> PortResult<Option<u32>> {
        let expires = window.unix_timestamp() + 60 + WINDOW_TTL_SECS;
        let sent = self
            .table
            .update_item()
            .set_key(Some(key(tenant, &window_key(window))))
            .update_expression("SET expires_at = :ttl ADD used :one")
            .condition_expression("attribute_not_exists(used) OR used < :limit")
            .expression_attribute_values(":ttl", n(expires))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":limit", n(limit))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match sent {
            Ok(out) => {
                let used = match out.attributes {
                    Some(a) => get_i64(&a, "used", "quota window")?,
                    None => 1,
                };
                Ok(Some(u32::try_from(used.max(0)).unwrap_or(u32::MAX)))
            }
            Err(e) if is_condition_failure(&e) => Ok(None),
            Err(e) => Err(port_error(&format!("count a request of {tenant}"), e)),
        }
    }
}

/// Epoch milliseconds of `t`.
fn epoch_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).unwrap_or(i64::MAX)
}

#[async_trait]
impl Quotas for DynamoQuotas {
    async fn reserve(
        &self,
        tenant: &TenantId,
        export_id: &ExportId,
        limits: &QuotaSettings,
        count_rate: bool,
        now: OffsetDateTime,
    ) -> PortResult<Reservation> {
        let window = quota_window(now);
        let window_ends = window + time::Duration::minutes(1);
        let (held_before, concurrent_used) = match self
            .take_slot(tenant, export_id, limits.concurrent_exports, now)
            .await?
        {
            Take::Held { held_before, used } => (held_before, used),
            Take::Full => {
                return Ok(Reservation::Refused {
                    limit: QuotaLimit::ConcurrentExports,
                    usage: self.usage(tenant, now).await?,
                });
            }
        };
        let minute_used = if count_rate {
            match self.count(tenant, window, limits.exports_per_minute).await {
                Ok(Some(used)) => used,
                outcome => {
                    if !held_before {
                        self.release(tenant, export_id).await?;
                    }
                    outcome?;
                    return Ok(Reservation::Refused {
                        limit: QuotaLimit::ExportsPerMinute,
                        usage: self.usage(tenant, now).await?,
                    });
                }
            }
        } else {
            self.usage(tenant, now).await?.minute_used
        };
        Ok(Reservation::Granted(QuotaUsage {
            minute_used,
            window_ends,
            concurrent_used,
        }))
    }

    async fn release(&self, tenant: &TenantId, export_id: &ExportId) -> PortResult<bool> {
        let sent = self
            .table
            .update_item()
            .set_key(Some(key(tenant, SLOTS_KEY)))
            .update_expression("REMOVE holders.#id")
            .condition_expression("attribute_exists(holders.#id)")
            .expression_attribute_names("#id", export_id.as_str())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(true),
            Err(e) if is_condition_failure(&e) => Ok(false),
            Err(e) => Err(port_error(
                &format!("release the quota slot of {tenant}/{export_id}"),
                e,
            )),
        }
    }

    async fn refund(&self, tenant: &TenantId, at: OffsetDateTime) -> PortResult<()> {
        let sent = self
            .table
            .update_item()
            .set_key(Some(key(tenant, &window_key(quota_window(at)))))
            .update_expression("ADD used :minus")
            .condition_expression("used > :zero")
            .expression_attribute_values(":minus", n(-1))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if is_condition_failure(&e) => Ok(()),
            Err(e) => Err(port_error(&format!("refund a request of {tenant}"), e)),
        }
    }

    async fn usage(&self, tenant: &TenantId, now: OffsetDateTime) -> PortResult<QuotaUsage> {
        let window = quota_window(now);
        let what = format!("quota usage of {tenant}");
        let minute = self
            .table
            .get(key(tenant, &window_key(window)), &what)
            .await?;
        let minute_used = match minute {
            Some(item) => get_i64(&item, "used", "quota window")?,
            None => 0,
        };
        let slots = self.table.get(key(tenant, SLOTS_KEY), &what).await?;
        Ok(QuotaUsage {
            minute_used: u32::try_from(minute_used.max(0)).unwrap_or(u32::MAX),
            window_ends: window + time::Duration::minutes(1),
            concurrent_used: count_u32(holders_of(slots.as_ref())?.map_or(0, HashMap::len)),
        })
    }

    async fn holders(&self, tenant: &TenantId) -> PortResult<Vec<SlotHolder>> {
        let what = format!("quota slots of {tenant}");
        let slots = self.table.get(key(tenant, SLOTS_KEY), &what).await?;
        let Some(map) = holders_of(slots.as_ref())? else {
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(map.len());
        for (id, at) in map {
            let export_id = ExportId::parse(id.as_str())
                .map_err(|e| PortError::Invalid(format!("{what}: {e}")))?;
            let ms = match at {
                AttributeValue::N(v) => v.parse::<i64>().ok(),
                _ => None,
            }
            .ok_or_else(|| PortError::Invalid(format!("{what}: {id} has no reservation time")))?;
            let reserved_at = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|e| PortError::Invalid(format!("{what}: {id}: {e}")))?;
            out.push(SlotHolder {
                export_id,
                reserved_at,
            });
        }
        Ok(out)
    }
}
