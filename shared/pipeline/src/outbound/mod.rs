//! What a delivery sends, one module per kind of destination (none imports another): each
//! turns an [`Announcement`] — the job's event as the WebSocket carries it, with links to the
//! API's routes — into the request its receiver expects. Pure: the deliver stage sends what
//! these make through its ports.

pub mod email;
pub mod github;
pub mod s3;
pub mod slack;
pub mod teams;
pub mod webhook;

use ec_domain::Job;
use ec_domain::destination::{DeliveryEvent, Destination};
use ec_domain::filters::Delta;
use ec_domain::job::ExportSummary;
use serde::Serialize;
use serde_json::Value;

use crate::notify::{Event, EventKind};

/// The event type of a test message.
pub const TEST_KIND: &str = "destination.test";

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
    /// `export.ready`, `export.failed`, or `destination.test` for a test message.
    pub kind: &'static str,
    pub event: DeliveryEvent,
    pub export_id: String,
    /// `scan_report · json · compliance-detailed`.
    pub what: String,
    /// The report in brief (ready exports that named destinations).
    pub summary: Option<ExportSummary>,
    /// Why it failed (failed exports).
    pub error: Option<String>,
    /// The WebSocket message of the event, with `links` added.
    pub data: Value,
    pub links: Links,
    /// When the export became ready or failed (RFC 3339).
    pub at: String,
}

impl Announcement {
    /// The event as a document, `{"type", "timestamp", "data"}`: a webhook's body, a bucket
    /// delivery's event object (the same bytes for every attempt).
    pub fn event_json(&self) -> Vec<u8> {
        let v = serde_json::json!({
            "type": self.kind,
            "timestamp": self.at,
            "data": self.data,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

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
            kind: event.as_str(),
            event,
            export_id: job.export_id.to_string(),
            what: format!("{} · {} · {}", job.export_type, job.format, job.template),
            summary: job.summary.clone(),
            error: job
                .error
                .as_ref()
                .map(|e| format!("{}: {}", e.code, e.message)),
            data,
            links,
            at,
        }
    }

    /// The test message of `POST /api/v1/destinations/{id}/test`: says it is a test, names
    /// the destination, links to it.
    pub fn test(destination: &Destination, public_url: Option<&str>, at: String) -> Announcement {
        let link = format!(
            "{}/api/v1/destinations/{}",
            public_url.unwrap_or_default(),
            destination.destination_id
        );
        Announcement {
            kind: TEST_KIND,
            event: DeliveryEvent::ExportReady,
            export_id: String::new(),
            what: format!(
                "A test message for the destination \"{}\"",
                destination.name
            ),
            summary: None,
            error: None,
            data: serde_json::json!({
                "test": true,
                "destination_id": destination.destination_id,
                "name": destination.name,
                "tenant_id": destination.tenant_id,
                "links": {"destination": link},
            }),
            links: Links {
                export: link,
                report: None,
                bundle: None,
            },
            at,
        }
    }

    /// One line for a human: what happened, with the counts or the error.
    pub fn headline(&self) -> String {
        if self.kind == TEST_KIND {
            return "Test message from ExportCenter".to_string();
        }
        match self.event {
            DeliveryEvent::ExportReady => format!("Export {} is ready", self.export_id),
            DeliveryEvent::ExportFailed => format!("Export {} failed", self.export_id),
        }
    }

    /// The counts as text: `12 findings: critical 1, high 3, medium 8 · policy: fail`.
    pub fn counts(&self) -> Option<String> {
        let s = self.summary.as_ref()?;
        let by: Vec<String> = s
            .by_severity
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(sev, n)| format!("{sev} {n}"))
            .collect();
        let mut line = format!("{} findings", s.findings);
        if !by.is_empty() {
            line.push_str(&format!(": {}", by.join(", ")));
        }
        if s.suppressed > 0 {
            line.push_str(&format!(" ({} suppressed by VEX)", s.suppressed));
        }
        if !s.compared.is_empty() {
            let n = |d| s.compared.get(&d).copied().unwrap_or(0);
            line.push_str(&format!(
                " · since the baseline: {} new, {} fixed",
                n(Delta::New),
                n(Delta::Fixed)
            ));
        }
        line.push_str(&format!(" · policy: {}", s.decision));
        Some(line)
    }
}
