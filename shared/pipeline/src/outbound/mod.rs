//! What a delivery sends, one module per kind of destination (none imports another): each
//! turns an [`Announcement`] — the job's event as the WebSocket carries it, with links to the
//! API's routes — into the request its receiver expects. Pure: the deliver stage sends what
//! these make through its ports.

pub mod webhook;

use ec_domain::Job;
use ec_domain::destination::DeliveryEvent;
use serde::Serialize;
use serde_json::Value;

use crate::notify::{Event, EventKind};

/// Links in a delivery: to the API (never presigned object URLs, which expire with the
/// signing credentials).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Links {
    pub export: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub report: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle: Option<String>,
}

/// One export's event, ready to be told to a destination.
#[derive(Debug, Clone)]
pub struct Announcement {
    pub event: DeliveryEvent,
    /// The WebSocket message of the event, with `links` added.
    pub data: Value,
    pub links: Links,
    /// When the export became ready or failed (RFC 3339).
    pub at: String,
}

impl Announcement {
    /// The announcement of `event` for `job`; links under `public_url` (relative without).
    pub fn of(job: &Job, event: DeliveryEvent, public_url: Option<&str>) -> Announcement {
        let base = format!(
            "{}/api/v1/exports/{}",
            public_url.unwrap_or_default(),
            job.export_id
        );
        let ready = event == DeliveryEvent::ExportReady;
        let links = Links {
            report: ready.then(|| format!("{base}/download?artifact=report")),
            bundle: ready.then(|| format!("{base}/download?artifact=bundle")),
            export: base,
        };
        let kind = match event {
            DeliveryEvent::ExportReady => EventKind::Ready,
            DeliveryEvent::ExportFailed => EventKind::Failed,
        };
        let mut ws = Event::of(job, kind);
        // The time the export ended, not the time of this attempt: every attempt of one
        // delivery sends the same body.
        let at = ec_domain::time::rfc3339(job.updated_at);
        ws.at = at.clone();
        let mut data = serde_json::to_value(&ws).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut data {
            m.insert(
                "links".into(),
                serde_json::to_value(&links).unwrap_or(Value::Null),
            );
        }
        Announcement {
            event,
            data,
            links,
            at,
        }
    }
}
