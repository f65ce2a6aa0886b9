//! The SARIF file written as it is made, one run at a time, with rules and results made
//! and serialised on every core a batch at a time; and its gzipped size, counted on another
//! thread as the file grows, which is what GitHub's upload limit is about.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use serde::Serialize;
use serde_json::{Value, json};
use serde_sarif::sarif::{Invocation, Message, Notification, PropertyBag, RunAutomationDetails};

use ec_domain::scan::Scan;

use super::encode_err;
use super::limits::{Layout, LayoutRun};
use super::results::{artifact_uri, result};
use super::rules::rule;
use crate::RenderError;
use crate::common::identity::{TOOL_NAME, TOOL_URI, TOOL_VERSION};
use crate::view::{FindingRow, ReportView};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Writes `doc` as compact JSON and measures its gzipped size on a second thread as it
/// grows, so compressing costs no time when a core is free.
///
/// Level 2 compresses slightly less than the default level GitHub's uploader uses (and far
/// better than level 1, at the same speed), so what fits at level 2 fits the upload.
pub(super) fn write_sized(doc: &Doc<'_, '_>) -> Result<(Vec<u8>, usize), RenderError> {
    std::thread::scope(|s| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(8);
        let gzip = s.spawn(move || {
            let mut gz = flate2::write::GzEncoder::new(Counter(0), flate2::Compression::new(2));
            for chunk in rx {
                gz.write_all(&chunk)?;
            }
            gz.finish().map(|c| c.0)
        });
        let mut w = GzipTee {
            out: Vec::new(),
            sent: 0,
            tx,
        };
        let written = doc.write(&mut w).and_then(|()| w.send_rest());
        let GzipTee { out, tx, .. } = w;
        // Closing the channel ends the compressing thread.
        drop(tx);
        let size = gzip
            .join()
            .map_err(|_| encode_err("the gzip size count panicked"))?
            .map_err(encode_err)?;
        written.map_err(encode_err)?;
        Ok((out, size))
    })
}

/// Counts what is written to it, keeping nothing.
struct Counter(usize);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Keeps the output, and sends a copy of each new megabyte to the gzip size count.
struct GzipTee {
    out: Vec<u8>,
    sent: usize,
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
}

impl GzipTee {
    /// Bytes handed to the compressing thread at a time.
    const CHUNK: usize = 1 << 20;

    fn send_rest(&mut self) -> std::io::Result<()> {
        if self.sent < self.out.len() {
            let chunk = self.out[self.sent..].to_vec();
            self.sent = self.out.len();
            self.tx
                .send(chunk)
                .map_err(|_| std::io::Error::other("the gzip size count stopped"))?;
        }
        Ok(())
    }
}

impl Write for GzipTee {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.extend_from_slice(buf);
        if self.out.len() - self.sent >= GzipTee::CHUNK {
            self.send_rest()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The SARIF file, written as it is made: one run at a time, and rules and results (serde-
/// sarif's types) a batch at a time, so memory holds the output and one batch rather than
/// the whole tree beside it.
pub(super) struct Doc<'v, 'a> {
    pub view: &'v ReportView<'a>,
    pub scans: &'v [&'a Scan],
    pub categories: &'v [String],
    pub layout: &'v Layout,
    pub reason: Option<&'v str>,
}

impl<'v, 'a> Doc<'v, 'a> {
    /// `{"$schema":…,"runs":[…],"version":"2.1.0"}`, keys in serde-sarif's order.
    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(b"{\"$schema\":")?;
        serde_json::to_writer(&mut *w, SCHEMA_URI)?;
        w.write_all(b",\"runs\":[")?;
        for (n, run) in self.layout.runs.iter().enumerate() {
            if n > 0 {
                w.write_all(b",")?;
            }
            self.run(n, run).write(w)?;
        }
        w.write_all(b"],\"version\":\"2.1.0\"}\n")
    }

    fn run(&self, n: usize, (s, part, parts, rows): &'v LayoutRun) -> RunOut<'v, 'a> {
        let (view, layout) = (self.view, self.layout);
        let scan = self.scans[*s];
        let mut props = BTreeMap::new();
        props.insert(
            "exportcenter.export_id".to_string(),
            json!(view.snapshot.export_id),
        );
        props.insert("exportcenter.scan".to_string(), scan_properties(view, scan));
        if !view.snapshot.request.options.filters.is_none() {
            props.insert(
                "exportcenter.filters".to_string(),
                json!(view.snapshot.request.options.filters),
            );
        }
        if let Some(b) = &view.snapshot.baseline {
            // The baseline findings no longer found are listed once, on the first run (a
            // rebuilt image's name differs from its baseline's, so they cannot go by run).
            let fixed = if n == 0 { &view.fixed[..] } else { &[] };
            props.insert(
                "exportcenter.baseline".to_string(),
                json!({ "label": b.label, "fixed": fixed }),
            );
        }
        if *parts > 1 {
            props.insert(
                "exportcenter.part".to_string(),
                json!({ "index": part, "of": parts }),
            );
        }
        let mut invocation = Invocation::builder().execution_successful(true).build();
        if let Some(reason) = self.reason {
            let total_omitted: usize = layout.omitted.values().sum();
            // The first part of a scan carries its omissions; the file's first run also
            // carries those of scans left out entirely.
            let mut omitted = if *part == 1 {
                layout.omitted.get(s).copied().unwrap_or(0)
            } else {
                0
            };
            let mut dropped = Vec::new();
            if n == 0 {
                for &d in &layout.dropped_scans {
                    omitted += layout.omitted.get(&d).copied().unwrap_or(0);
                    dropped.push(self.scans[d].scan_id.as_str());
                }
            }
            props.insert(
                "exportcenter.truncated".to_string(),
                json!({
                    "omitted_results": omitted,
                    "omitted_results_in_file": total_omitted,
                    "omitted_scans": dropped,
                    "reason": reason,
                }),
            );
            let text = format!(
                "{TOOL_NAME} left {total_omitted} result(s) out of this file ({omitted} of this run): {reason}."
            );
            invocation.tool_execution_notifications = Some(vec![
                Notification::builder()
                    .message(Message::builder().text(text).build())
                    .level(json!("warning"))
                    .build(),
            ]);
        }
        let automation_id = if *parts > 1 {
            format!("{}/part-{part}/", self.categories[*s])
        } else {
            format!("{}/", self.categories[*s])
        };
        let rows: Vec<&'v FindingRow<'a>> = rows.iter().map(|&i| &view.findings[i]).collect();
        let mut by_id: BTreeMap<&'v str, Vec<&'v FindingRow<'a>>> = BTreeMap::new();
        for r in &rows {
            by_id
                .entry(r.finding.vulnerability_id.as_str())
                .or_default()
                .push(r);
        }
        let mut uris = HashMap::new();
        for r in &rows {
            let target = r.finding.target.as_deref();
            uris.entry(target)
                .or_insert_with(|| artifact_uri(scan, target));
        }
        RunOut {
            scan,
            rows,
            uris,
            rules: by_id.into_iter().collect(),
            automation: RunAutomationDetails::builder().id(automation_id).build(),
            invocation,
            properties: PropertyBag::builder().additional_properties(props).build(),
        }
    }
}

/// One run: its rules (one per vulnerability id, sorted) and results are made as they are
/// written.
struct RunOut<'v, 'a> {
    scan: &'a Scan,
    rows: Vec<&'v FindingRow<'a>>,
    /// The location of the run's results, by target: a scan has few targets.
    uris: HashMap<Option<&'a str>, String>,
    rules: Vec<(&'v str, Vec<&'v FindingRow<'a>>)>,
    automation: RunAutomationDetails,
    invocation: Invocation,
    properties: PropertyBag,
}

impl RunOut<'_, '_> {
    /// The run object, keys in serde-sarif's order.
    fn write(&self, w: &mut impl Write) -> std::io::Result<()> {
        w.write_all(b"{\"automationDetails\":")?;
        serde_json::to_writer(&mut *w, &self.automation)?;
        w.write_all(b",\"invocations\":[")?;
        serde_json::to_writer(&mut *w, &self.invocation)?;
        w.write_all(b"],\"properties\":")?;
        serde_json::to_writer(&mut *w, &self.properties)?;
        w.write_all(b",\"results\":")?;
        write_array(w, self.rows.len(), |i| {
            let row = self.rows[i];
            let id = row.finding.vulnerability_id.as_str();
            let index = self
                .rules
                .binary_search_by(|(rule, _)| (*rule).cmp(id))
                .unwrap_or(0);
            let uri = self
                .uris
                .get(&row.finding.target.as_deref())
                .cloned()
                .unwrap_or_else(|| artifact_uri(self.scan, row.finding.target.as_deref()));
            result(row, index, uri)
        })?;
        w.write_all(b",\"tool\":{\"driver\":{\"fullName\":")?;
        serde_json::to_writer(&mut *w, &format!("{TOOL_NAME} {TOOL_VERSION}"))?;
        w.write_all(b",\"informationUri\":")?;
        serde_json::to_writer(&mut *w, TOOL_URI)?;
        w.write_all(b",\"name\":")?;
        serde_json::to_writer(&mut *w, TOOL_NAME)?;
        w.write_all(b",\"rules\":")?;
        write_array(w, self.rules.len(), |i| {
            let (id, rows) = &self.rules[i];
            rule(id, rows)
        })?;
        w.write_all(b",\"semanticVersion\":")?;
        serde_json::to_writer(&mut *w, TOOL_VERSION)?;
        w.write_all(b",\"version\":")?;
        serde_json::to_writer(&mut *w, TOOL_VERSION)?;
        w.write_all(b"}}}")
    }
}

/// Writes `[item(0),item(1),…]`: serde-sarif items made and serialised on every core, a
/// batch at a time (see [`crate::write_batches`]).
fn write_array<T: Serialize>(
    w: &mut impl Write,
    count: usize,
    item: impl Fn(usize) -> T + Sync,
) -> std::io::Result<()> {
    /// Items per batch: large enough that handing batches around costs nothing.
    const BATCH: usize = 1024;
    w.write_all(b"[")?;
    crate::write_batches(w, count.div_ceil(BATCH), |b| {
        let mut buf = Vec::new();
        (b * BATCH..count.min((b + 1) * BATCH)).try_for_each(|i| {
            if i > 0 {
                buf.push(b',');
            }
            serde_json::to_writer(&mut buf, &item(i))
        })?;
        Ok(buf)
    })?;
    w.write_all(b"]")
}

fn scan_properties(view: &ReportView<'_>, scan: &Scan) -> Value {
    let verdicts = view
        .snapshot
        .scans
        .iter()
        .find(|s| s.scan.scan_id == scan.scan_id)
        .map(|s| &s.verdicts);
    json!({
        "scan_id": scan.scan_id,
        "artifact": scan.artifact.name,
        "artifact_kind": scan.artifact.kind,
        "digest": scan.artifact.digest,
        "scanner": scan.scanner.name,
        "scanner_version": scan.scanner.version,
        "source_format": scan.source_format,
        "scanned_at": scan.scanned_at_known.then(|| ec_domain::time::rfc3339(scan.scanned_at)),
        "policy": verdicts.map(|v| v.policy.as_str()),
        "decision": verdicts.map(|v| v.decision),
    })
}
