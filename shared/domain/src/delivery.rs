//! Deliveries: one per destination an export names and whose events include what became of
//! the export (`export.ready`, `export.failed`). Each is a record on the job
//! ([`DeliveryRecord`], what `GET /api/v1/exports/{id}` shows) and a message on the deliver
//! queue ([`DeliveryMessage`]); the deliver stage claims an attempt on the record before it
//! sends, so a message that arrives twice sends once.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::destination::{DeliveryEvent, DestinationType};
use crate::id_types::{DestinationId, ExportId, TenantId};
use crate::wire::string_enum;

string_enum!(
    /// Where a delivery stands.
    DeliveryStatus {
        Pending = "pending",
        Delivered = "delivered",
        Failed = "failed",
    }
);

/// One delivery of one export to one destination.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub destination_id: DestinationId,
    #[serde(rename = "type")]
    pub kind: DestinationType,
    pub event: DeliveryEvent,
    pub status: DeliveryStatus,
    /// Attempts made (claimed) so far.
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "crate::time::serde_rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// When the delivery began (the export became ready or failed): retries stop a
    /// configured time after it.
    #[serde(with = "crate::time::serde_rfc3339")]
    pub created_at: OffsetDateTime,
    /// An attempt in progress holds the delivery until then; a duplicate message seeing a
    /// live claim waits, one seeing an expired claim (its sender died) attempts again.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::time::serde_rfc3339::option"
    )]
    pub claimed_until: Option<OffsetDateTime>,
}

impl DeliveryRecord {
    pub fn pending(
        destination_id: DestinationId,
        kind: DestinationType,
        event: DeliveryEvent,
        now: OffsetDateTime,
    ) -> Self {
        DeliveryRecord {
            created_at: now,
            destination_id,
            kind,
            event,
            status: DeliveryStatus::Pending,
            attempts: 0,
            last_error: None,
            delivered_at: None,
            claimed_until: None,
        }
    }

    /// Whether this record is the delivery of `event` to `destination`.
    pub fn is(&self, destination: &DestinationId, event: DeliveryEvent) -> bool {
        &self.destination_id == destination && self.event == event
    }
}

/// Work for the deliver stage: attempt `attempt` (1 for the first) of one delivery, not
/// before `not_before` (retries wait longer than a queue can delay a message, so a message
/// that arrives early is put back for the rest of its wait).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryMessage {
    pub tenant_id: TenantId,
    pub export_id: ExportId,
    pub destination_id: DestinationId,
    pub event: DeliveryEvent,
    pub attempt: u32,
    /// Unix seconds.
    #[serde(default)]
    pub not_before: Option<i64>,
}

impl DeliveryMessage {
    /// The Standard Webhooks `webhook-id` (and the id of every other kind of send): the
    /// same for every attempt of one delivery, so a receiver can drop duplicates.
    pub fn message_id(&self) -> String {
        let digest = crate::ids::sha256_hex(
            format!(
                "{}\n{}\n{}\n{}",
                self.tenant_id, self.export_id, self.destination_id, self.event
            )
            .as_bytes(),
        );
        format!("msg_{}", &digest[..32])
    }
}
