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
