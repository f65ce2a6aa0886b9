//! The notify step: pushes job events to every WebSocket connection of the job's tenant, and
//! forgets connections that are gone. A failed push never fails the export.

use std::sync::Arc;

use bytes::Bytes;
use serde::Serialize;

use ec_domain::ports::{ConnectionPush, ConnectionRegistry};
use ec_domain::{Artifact, Job, JobError, PortError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Progress,
    Ready,
    Failed,
    /// The tenant cancelled it (a client waiting for `export.ready` stops waiting).
    Cancelled,
}

/// The readiness message of the contract (plus stage and progress for `export.progress`).
#[derive(Debug, Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub export_id: &'a str,
    pub tenant_id: &'a str,
    pub status: &'static str,
    pub stage: Option<&'static str>,
    pub progress: u8,
    pub artifacts: &'a [Artifact],
    pub error: Option<&'a JobError>,
    pub at: String,
}

impl<'a> Event<'a> {
    pub fn of(job: &'a Job, kind: EventKind) -> Event<'a> {
        Event {
            kind: match kind {
                EventKind::Progress => "export.progress",
                EventKind::Ready => "export.ready",
                EventKind::Failed => "export.failed",
                EventKind::Cancelled => "export.cancelled",
            },
            export_id: &job.export_id,
            tenant_id: &job.tenant_id,
            status: job.status.as_str(),
            stage: job.stage.map(|s| s.as_str()),
            progress: job.progress.percent,
            artifacts: &job.artifacts,
            error: job.error.as_ref(),
            at: ec_domain::time::rfc3339(ec_domain::time::now()),
        }
    }
}

/// Announces job events: the tenant's registered connections, and the push to each.
#[derive(Clone)]
pub struct Notifier {
    pub connections: Arc<dyn ConnectionRegistry>,
    pub push: Arc<dyn ConnectionPush>,
}

impl Notifier {
    /// Sends the event to the tenant's connections; returns how many received it.
    pub async fn publish(&self, job: &Job, kind: EventKind) -> usize {
        let payload = match serde_json::to_vec(&Event::of(job, kind)) {
            Ok(p) => Bytes::from(p),
            Err(e) => {
                tracing::error!(error = %e, "could not encode event");
                return 0;
            }
        };
        let connections = match self.connections.list(&job.tenant_id).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "could not list connections");
                return 0;
            }
        };
        let mut delivered = 0;
        for id in connections {
            match self.push.post(&id, payload.clone()).await {
                Ok(()) => delivered += 1,
                Err(PortError::Gone(_)) => {
                    tracing::debug!(connection = %id, "connection gone; removing");
                    if let Err(e) = self.connections.remove(&id).await {
                        tracing::warn!(connection = %id, error = %e, "could not remove gone connection");
                    }
                }
                Err(e) => tracing::warn!(connection = %id, error = %e, "push failed"),
            }
        }
        delivered
    }
}
