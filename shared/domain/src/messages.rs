//! Messages between the stages, as carried by the work queue.

use serde::{Deserialize, Serialize};

use crate::id_types::{ExportId, TenantId};
use crate::wire::string_enum;

string_enum!(
    /// Queue names; the AWS stack maps each to an SQS queue URL.
    QueueName {
        Gather = "gather",
        Render = "render",
        /// Object-created notifications of report objects, consumed by the seal stage.
        Seal = "seal",
        /// Deliveries to destinations (`ec_domain::delivery::DeliveryMessage`).
        Deliver = "deliver",
    }
);

/// Work for the gather and render stages: which job to advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub tenant_id: TenantId,
    pub export_id: ExportId,
}

/// An object-created notification, reduced to what the seal stage needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCreated {
    pub key: String,
    pub size: u64,
}

/// Tells the seal stage that `meta` was written, when it is a report (`reports/…`): what
/// every object store does after a put. A failure makes the caller retry the put, which
/// notifies again: duplicates are allowed, a lost notification is not.
pub async fn notify_if_report(
    queue: &dyn crate::ports::WorkQueue,
    meta: &crate::ports::ObjectMeta,
) -> crate::ports::PortResult<()> {
    if !meta.key.starts_with(crate::keys::REPORTS_PREFIX) {
        return Ok(());
    }
    let msg = serde_json::to_string(&ObjectCreated {
        key: meta.key.clone(),
        size: meta.size,
    })
    .map_err(|e| crate::PortError::Backend(format!("cannot encode notification: {e}")))?;
    queue.send(QueueName::Seal, msg).await
}
