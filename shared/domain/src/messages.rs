//! Messages between the stages, as carried by the work queue.

use serde::{Deserialize, Serialize};

/// Queue names; the AWS stack maps each to an SQS queue URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueName {
    Gather,
    Render,
    /// Object-created notifications of report objects, consumed by the seal stage.
    Seal,
}

impl QueueName {
    pub const ALL: [QueueName; 3] = [QueueName::Gather, QueueName::Render, QueueName::Seal];

    pub fn as_str(self) -> &'static str {
        match self {
            QueueName::Gather => "gather",
            QueueName::Render => "render",
            QueueName::Seal => "seal",
        }
    }
}

/// Work for the gather and render stages: which job to advance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub tenant_id: String,
    pub export_id: String,
}

/// An object-created notification, reduced to what the seal stage needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectCreated {
    pub key: String,
    pub size: u64,
}
