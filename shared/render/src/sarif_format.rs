//! SARIF 2.1.0 (`serde-sarif`) for GitHub Code Scanning: one run per scan, one rule per
//! vulnerability id, one result per finding located at the package's manifest, lock file
//! or image. VEX-suppressed findings carry an accepted external suppression.
//!
//! GitHub takes at most 20 runs of 25,000 results and 10 MB gzipped per upload. A scan with
//! more results is split into several runs (each its own category); when the file would
//! still be over a limit, the lowest-severity results are left out and every run says so in
//! its properties (`exportcenter.truncated`) and its invocation's notifications.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;

use serde::Serialize;
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, RunAutomationDetails, Suppression,
};

use ec_domain::Format;
use ec_domain::scan::{Scan, Severity};

use crate::RenderError;
use crate::common::advisory::{URL_COMPONENT, advisory_source, is_web_url};
use crate::common::identity::{TOOL_NAME, TOOL_URI, TOOL_VERSION};
use crate::view::{FindingRow, ReportView};

const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const FINGERPRINT: &str = "exportcenter/v1";
const MAX_TAGS: usize = 10;
/// References a rule's markdown help lists at most.
const MAX_REFERENCES: usize = 5;

/// What GitHub Code Scanning accepts in one upload.
#[derive(Debug, Clone, Copy)]
struct Limits {
    results_per_run: usize,
    runs: usize,
    gzip_bytes: usize,
}

const GITHUB: Limits = Limits {
    results_per_run: 25_000,
    runs: 20,
    gzip_bytes: 10 * 1024 * 1024,
};

fn encode_err(reason: impl std::fmt::Display) -> RenderError {
    RenderError::Encode {
        format: Format::Sarif,
        reason: reason.to_string(),
    }
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    render_within(view, GITHUB)
}

/// Renders, leaving out the lowest-severity results until the file fits `limits`.
fn render_within(view: &ReportView<'_>, limits: Limits) -> Result<Vec<u8>, RenderError> {
    let scans: Vec<&Scan> = view.snapshot.scans.iter().map(|s| &s.scan).collect();
    let categories = categories(&scans);
    // Most important first: worst severity, unsuppressed before suppressed, report order.
    let mut priority: Vec<usize> = (0..view.findings.len()).collect();
    priority.sort_by_key(|&i| {
        let r = &view.findings[i];
        (r.finding.severity, r.suppressed(), i)
    });

    let (mut keep, by_run_limit) = fit_runs(view, &priority, limits);
    let mut by_size = false;
    loop {
        let layout = Layout::new(view, &scans, &priority[..keep], limits);
        let mut causes = Vec::new();
        if by_run_limit {
            causes.push(format!(
                "more than {} runs of {} results",
                limits.runs, limits.results_per_run
            ));
        }
        if by_size {
            causes.push(format!("over {} bytes gzipped", limits.gzip_bytes));
        }
        let reason = (!causes.is_empty()).then(|| {
            format!(
                "{}: the lowest-severity results were left out",
                causes.join(" and ")
            )
        });
        let doc = Doc {
            view,
            scans: &scans,
            categories: &categories,
            layout: &layout,
            reason: reason.as_deref(),
        };
        let (out, size) = write_sized(&doc)?;
        if size <= limits.gzip_bytes || keep == 0 {
            return Ok(out);
        }
        // Shrink in proportion, with a margin for the notices, and at least by one.
        let target = (keep as f64 * limits.gzip_bytes as f64 * 0.9 / size as f64) as usize;
        keep = target.min(keep - 1);
        by_size = true;
    }
}

/// Writes `doc` as compact JSON and measures its gzipped size on a second thread as it
/// grows, so compressing costs no time when a core is free.
///
/// Level 2 compresses slightly less than the default level GitHub's uploader uses (and far
/// better than level 1, at the same speed), so what fits at level 2 fits the upload.
fn write_sized(doc: &Doc<'_, '_>) -> Result<(Vec<u8>, usize), RenderError> {
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

/// How many of the most important results fit in `limits.runs` runs; and whether any had
/// to be left out for it.
fn fit_runs(view: &ReportView<'_>, priority: &[usize], limits: Limits) -> (usize, bool) {
    let per_run = limits.results_per_run.max(1);
    let mut kept: BTreeMap<&str, usize> = BTreeMap::new();
    let mut runs = 0;
    for (n, &i) in priority.iter().enumerate() {
        let count = kept.entry(&view.findings[i].scan.scan_id).or_default();
        if count.is_multiple_of(per_run) {
            if runs == limits.runs {
                return (n, true);
            }
            runs += 1;
        }
        *count += 1;
    }
    (priority.len(), false)
}

/// (scan index, part number from 1, of how many parts, finding indices in report order)
type LayoutRun = (usize, usize, usize, Vec<usize>);

/// Which results go in which run.
struct Layout {
    runs: Vec<LayoutRun>,
    /// Results left out, by scan index.
    omitted: BTreeMap<usize, usize>,
    /// Scans with results none of which were kept: they get no run.
    dropped_scans: Vec<usize>,
}

impl Layout {
    fn new(view: &ReportView<'_>, scans: &[&Scan], kept: &[usize], limits: Limits) -> Layout {
        let scan_index: BTreeMap<&str, usize> = scans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.scan_id.as_str(), i))
            .collect();
        let mut total: BTreeMap<usize, usize> = BTreeMap::new();
        for r in &view.findings {
            *total
                .entry(scan_index[r.scan.scan_id.as_str()])
                .or_default() += 1;
        }
        let mut chosen: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in kept {
            chosen
                .entry(scan_index[view.findings[i].scan.scan_id.as_str()])
                .or_default()
                .push(i);
        }
        let per_run = limits.results_per_run.max(1);
        let mut runs = Vec::new();
        let mut omitted = BTreeMap::new();
        let mut dropped_scans = Vec::new();
        for s in 0..scans.len() {
            let all = total.get(&s).copied().unwrap_or(0);
            let mut mine = chosen.remove(&s).unwrap_or_default();
            mine.sort_unstable();
            if mine.len() < all {
                omitted.insert(s, all - mine.len());
            }
            if mine.is_empty() {
                if all > 0 {
                    dropped_scans.push(s);
                } else {
                    // A clean scan still gets its (empty) run, so GitHub closes old alerts.
                    runs.push((s, 1, 1, Vec::new()));
                }
                continue;
            }
            let parts = mine.len().div_ceil(per_run);
            for (p, chunk) in mine.chunks(per_run).enumerate() {
                runs.push((s, p + 1, parts, chunk.to_vec()));
            }
        }
        // Empty runs of clean scans come last when there is no room for them all.
        if runs.len() > limits.runs {
            let mut extra = runs.len() - limits.runs;
            runs.retain(|r| {
                let drop = extra > 0 && r.3.is_empty();
                if drop {
                    extra -= 1;
                }
                !drop
            });
        }
        if runs.is_empty() && !scans.is_empty() {
            runs.push((0, 1, 1, Vec::new()));
        }
        Layout {
            runs,
            omitted,
            dropped_scans,
        }
    }
}

/// A stable category per scan for GitHub (`automationDetails.id` up to its last `/`): the
/// artifact's name, so the next export of the same artifact updates the same alerts; with
/// the scan id when the export holds several scans of one artifact.
fn categories(scans: &[&Scan]) -> Vec<String> {
    let slug = |s: &Scan| -> String {
        s.artifact
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-:@/".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in scans {
        *seen.entry(slug(s)).or_default() += 1;
    }
    scans
        .iter()
        .map(|s| {
            let base = slug(s);
            if seen[&base] > 1 {
                format!("exportcenter/{base}/{}", s.scan_id)
            } else {
                format!("exportcenter/{base}")
            }
        })
        .collect()
}

/// The SARIF file, written as it is made: one run at a time, and rules and results (serde-
/// sarif's types) a batch at a time, so memory holds the output and one batch rather than
/// the whole tree beside it.
struct Doc<'v, 'a> {
    view: &'v ReportView<'a>,
    scans: &'v [&'a Scan],
    categories: &'v [String],
    layout: &'v Layout,
    reason: Option<&'v str>,
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
        "scanned_at": ec_domain::time::rfc3339(scan.scanned_at),
        "policy": verdicts.map(|v| v.policy.as_str()),
        "decision": verdicts.map(|v| v.decision),
    })
}

/// GitHub's `security-severity`: the highest CVSS score, else one for the severity.
fn security_severity(row: &FindingRow<'_>) -> f64 {
    row.finding
        .max_score()
        .unwrap_or(match row.finding.severity {
            Severity::Critical => 9.5,
            Severity::High => 8.0,
            Severity::Medium => 5.5,
            Severity::Low => 3.0,
            Severity::Negligible | Severity::Unknown => 0.0,
        })
        .clamp(0.0, 10.0)
}

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        _ => ResultLevel::Note,
    }
}

fn level_name(s: Severity) -> &'static str {
    match level(s) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        _ => "note",
    }
}

fn rule(id: &str, rows: &[&FindingRow<'_>]) -> ReportingDescriptor {
    let f = rows[0].finding;
    let worst = rows
        .iter()
        .map(|r| r.finding.severity)
        .min()
        .unwrap_or(Severity::Unknown);
    let score = rows
        .iter()
        .map(|r| security_severity(r))
        .fold(0.0_f64, f64::max);
    let title = rows
        .iter()
        .find_map(|r| r.finding.title.as_deref())
        .unwrap_or(id);
    let description = rows
        .iter()
        .find_map(|r| r.finding.description.as_deref())
        .unwrap_or(title);
    // One more than are listed, to know whether there are more.
    let mut references: Vec<&str> = Vec::new();
    for r in rows.iter().flat_map(|r| r.finding.references.iter()) {
        if references.len() > MAX_REFERENCES {
            break;
        }
        if !references.contains(&r.as_str()) && is_web_url(r) {
            references.push(r);
        }
    }
    let source = advisory_source(id, &f.references);

    let mut packages: BTreeSet<(&str, &str, &str, &str)> = BTreeSet::new();
    for r in rows {
        let f = r.finding;
        packages.insert((
            f.package.as_str(),
            f.installed_version.as_str(),
            f.fixed_version.as_deref().unwrap_or("no fix yet"),
            f.target.as_deref().unwrap_or_default(),
        ));
    }
    // The plain-text help names what is affected and where to read more; the description
    // is already the rule's fullDescription, and GitHub shows the markdown help (with
    // description and references) when there is one. Each copy costs a large export
    // megabytes, so the references are capped too: the advisory lists them all.
    let mut text = String::with_capacity(title.len() + 128 * packages.len() + 128);
    let mut markdown = String::with_capacity(2 * description.len() + 512);
    text.push_str(title);
    text.push_str("\n\nAffected packages:\n");
    markdown.push_str("**");
    push_md(&mut markdown, title, false);
    markdown.push_str("**\n\n");
    markdown.push_str(description);
    markdown
        .push_str("\n\n| Package | Installed | Fixed in | Found in |\n| --- | --- | --- | --- |\n");
    for (pkg, installed, fixed, target) in &packages {
        for piece in ["- ", pkg, " ", installed, ": fixed in ", fixed] {
            text.push_str(piece);
        }
        if !target.is_empty() {
            for piece in [" (", target, ")"] {
                text.push_str(piece);
            }
        }
        text.push('\n');
        for cell in [pkg, installed, fixed, target] {
            markdown.push_str("| ");
            push_md(&mut markdown, cell, true);
            markdown.push(' ');
        }
        markdown.push_str("|\n");
    }
    for piece in ["\nAdvisory: ", &source.url, "\n"] {
        text.push_str(piece);
    }
    for piece in ["\nAdvisory: <", &source.url, ">\n"] {
        markdown.push_str(piece);
    }
    if !references.is_empty() {
        markdown.push_str("\n#### References\n");
        for r in references.iter().take(MAX_REFERENCES) {
            for piece in ["- <", r, ">\n"] {
                markdown.push_str(piece);
            }
        }
        if references.len() > MAX_REFERENCES {
            markdown.push_str("- more in the advisory\n");
        }
    }

    let mut tags = vec![
        "security".to_string(),
        worst.as_str().to_string(),
        "vulnerability".to_string(),
    ];
    let types: BTreeSet<&str> = rows
        .iter()
        .filter_map(|r| r.finding.package_type.as_deref())
        .collect();
    tags.extend(types.into_iter().map(str::to_string));
    tags.truncate(MAX_TAGS);
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".to_string(),
        json!(format!("{score:.1}")),
    );
    ReportingDescriptor::builder()
        .id(id)
        .name(rule_name(id))
        .short_description(
            MultiformatMessageString::builder()
                .text(truncate(title, 1000))
                .build(),
        )
        .full_description(
            MultiformatMessageString::builder()
                .text(description)
                .build(),
        )
        .help(
            MultiformatMessageString::builder()
                .text(text)
                .markdown(markdown)
                .build(),
        )
        .help_uri(source.url)
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(worst)))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(tags)
                .additional_properties(props)
                .build(),
        )
        .build()
}

/// A rule name in the PascalCase-ish form SARIF suggests (letters and digits only).
fn rule_name(id: &str) -> String {
    let mut out = String::from("Vulnerability");
    out.extend(id.chars().filter(char::is_ascii_alphanumeric));
    out
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Appends `s` as markdown text on one line: line breaks become spaces, `*` is escaped,
/// and in a table cell `|` too.
fn push_md(out: &mut String, s: &str, cell: bool) {
    for c in s.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '*' => out.push_str("\\*"),
            '|' if cell => out.push_str("\\|"),
            c => out.push(c),
        }
    }
}

fn result(row: &FindingRow<'_>, rule_index: usize, uri: String) -> SarifResult {
    let f = row.finding;
    // Joined piece by piece: a result per finding, and `format!` is the slower way.
    let fixed = f.fixed_version.as_deref();
    let text = [
        f.package.as_str(),
        " ",
        &f.installed_version,
        " is affected by ",
        &f.vulnerability_id,
        " (",
        f.severity.as_str(),
        "); ",
        if fixed.is_some() {
            "fixed in "
        } else {
            "no fixed version is known"
        },
        fixed.unwrap_or_default(),
    ]
    .concat();
    let fingerprint = ec_domain::ids::sha256_hex(
        [
            f.vulnerability_id.as_str(),
            "|",
            f.purl.as_deref().unwrap_or(&f.package),
            "|",
            &f.installed_version,
            "|",
            f.target.as_deref().unwrap_or(""),
        ]
        .concat()
        .as_bytes(),
    );

    let mut props = BTreeMap::new();
    props.insert(
        "exportcenter.package".to_string(),
        json!({
            "name": f.package,
            "version": f.installed_version,
            "type": f.package_type,
            "purl": f.purl,
            "fixed_version": f.fixed_version,
        }),
    );
    props.insert("exportcenter.severity".to_string(), json!(f.severity));
    if let Some(v) = row.verdict {
        props.insert(
            "exportcenter.verdict".to_string(),
            json!({ "decision": v.decision, "reason": v.reason }),
        );
    }
    if let Some(v) = row.vex {
        props.insert(
            "exportcenter.vex".to_string(),
            json!({
                "status": v.status.as_str(),
                "justification": v.justification,
                "impact_statement": v.impact_statement,
                "source": v.source,
                "conflict": row.vex_conflict,
            }),
        );
    }
    let suppressions = row.vex.filter(|_| row.suppressed()).map(|v| {
        let mut why = format!("VEX {}", v.status.as_str());
        if let Some(j) = &v.justification {
            why.push_str(&format!(": {j}"));
        }
        if let Some(i) = &v.impact_statement {
            why.push_str(&format!(" — {i}"));
        }
        let mut sp = BTreeMap::new();
        if let Some(src) = &v.source {
            sp.insert("source".to_string(), json!(src));
        }
        if let Some(t) = v.timestamp {
            sp.insert("timestamp".to_string(), json!(ec_domain::time::rfc3339(t)));
        }
        vec![
            Suppression::builder()
                .kind(json!("external"))
                .status(json!("accepted"))
                .justification(why)
                .properties(PropertyBag::builder().additional_properties(sp).build())
                .build(),
        ]
    });
    let mut result = SarifResult::builder()
        .rule_id(f.vulnerability_id.as_str())
        .rule_index(rule_index as i64)
        .level(level(f.severity))
        .message(Message::builder().text(text).build())
        .locations(vec![
            Location::builder()
                .physical_location(
                    PhysicalLocation::builder()
                        .artifact_location(ArtifactLocation::builder().uri(uri).build())
                        .region(Region::builder().start_line(1).build())
                        .build(),
                )
                .build(),
        ])
        .partial_fingerprints(BTreeMap::from([(FINGERPRINT.to_string(), fingerprint)]))
        .properties(PropertyBag::builder().additional_properties(props).build())
        .build();
    result.suppressions = suppressions;
    result
}

/// Where GitHub shows the result: the manifest or lock file the package was found in, else
/// the scanned image or path, as a relative URI reference (percent-encoded, no leading `/`,
/// and a `:` never left where it would read as a scheme).
fn artifact_uri(scan: &Scan, target: Option<&str>) -> String {
    let artifact = scan.artifact.name.as_str();
    // Trivy names OS targets `<image> (<os> <version>)`: that is the image itself.
    let path = match target {
        Some(t)
            if t.strip_prefix(artifact)
                .is_some_and(|r| r.starts_with(" (")) =>
        {
            artifact
        }
        Some(t) if !t.trim().is_empty() => t,
        _ => artifact,
    };
    let path = path.replace('\\', "/");
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty() && *s != ".")
        .map(|s| percent_encoding::utf8_percent_encode(s, URL_COMPONENT).to_string())
        .collect();
    if segments.is_empty() {
        scan.scan_id.clone()
    } else {
        segments.join("/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ec_domain::scan::{ScannedArtifact, Scanner};

    fn scan(name: &str) -> Scan {
        Scan {
            scan_id: "scan-1".into(),
            tenant_id: "t".into(),
            artifact: ScannedArtifact {
                name: name.into(),
                kind: "container_image".into(),
                digest: None,
                os: None,
            },
            scanner: Scanner {
                name: "trivy".into(),
                version: None,
            },
            source_format: "trivy".into(),
            scanned_at: time::OffsetDateTime::UNIX_EPOCH,
            ingested_at: time::OffsetDateTime::UNIX_EPOCH,
            document_sha256: String::new(),
            components: Vec::new(),
            dependencies: Vec::new(),
            findings: Vec::new(),
        }
    }

    #[test]
    fn uris_are_relative_and_encoded() {
        let s = scan("docker.io/library/alpine:3.10");
        assert_eq!(
            artifact_uri(&s, Some("docker.io/library/alpine:3.10 (alpine 3.10.2)")),
            "docker.io/library/alpine%3A3.10"
        );
        assert_eq!(
            artifact_uri(&s, Some("/lib/apk/db/installed")),
            "lib/apk/db/installed"
        );
        assert_eq!(
            artifact_uri(&s, Some("./app dir\\package-lock.json")),
            "app%20dir/package-lock.json"
        );
        assert_eq!(
            artifact_uri(&scan("busybox:1.32.1"), None),
            "busybox%3A1.32.1"
        );
        assert_eq!(artifact_uri(&scan("/"), None), "scan-1");
    }

    fn finding(id: &str, package: &str, severity: Severity) -> ec_domain::scan::Finding {
        ec_domain::scan::Finding {
            vulnerability_id: id.into(),
            aliases: Vec::new(),
            package: package.into(),
            package_type: None,
            purl: None,
            installed_version: "1.0".into(),
            fixed_version: None,
            severity,
            cvss: Vec::new(),
            title: None,
            description: None,
            references: Vec::new(),
            status: None,
            target: None,
        }
    }

    /// Small limits: 2 results per run, 3 runs. Scan 1 has 5 results (3 runs' worth), scan
    /// 2 has 2, scan 3 none: the least severe result (scan 1's negligible one) and the clean
    /// scan's empty run give way, and the notices say so.
    #[test]
    fn limits_split_runs_and_drop_the_least_severe() {
        use Severity::*;
        let mut one = scan("app:1");
        one.findings = vec![
            finding("CVE-1", "a", Critical),
            finding("CVE-2", "b", Low),
            finding("CVE-3", "c", High),
            finding("CVE-4", "d", Negligible),
            finding("CVE-5", "e", Medium),
        ];
        let mut two = scan("app:2");
        two.scan_id = "scan-2".into();
        two.findings = vec![finding("CVE-6", "f", High), finding("CVE-7", "g", Low)];
        let mut three = scan("app:3");
        three.scan_id = "scan-3".into();
        let inputs = [one, two, three]
            .into_iter()
            .map(|scan| ec_domain::snapshot::ScanInputs {
                verdicts: ec_domain::policy::evaluate(&Default::default(), &scan, &[]),
                scan,
                vex: Vec::new(),
                sbom: None,
            })
            .collect();
        let body = json!({"type": "scan_report", "format": "sarif",
            "scope": {"scan_ids": ["scan-1", "scan-2", "scan-3"]}});
        let req = ec_domain::request::ExportRequest::from_json(&body, "t").expect("request");
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let snap = ec_domain::snapshot::Snapshot::new(
            "exp-1".into(),
            "t".into(),
            req,
            "u".into(),
            at,
            inputs,
        );
        let view = ReportView::new(&snap);
        let limits = Limits {
            results_per_run: 2,
            runs: 3,
            gzip_bytes: usize::MAX,
        };
        let out = render_within(&view, limits).expect("render");
        let doc: Value = serde_json::from_slice(&out).expect("JSON");
        let runs = doc["runs"].as_array().expect("runs");
        let ids: Vec<Vec<&str>> = runs
            .iter()
            .map(|r| {
                r["results"]
                    .as_array()
                    .expect("results")
                    .iter()
                    .map(|x| x["ruleId"].as_str().unwrap_or(""))
                    .collect()
            })
            .collect();
        // Parts keep the report order; only the negligible CVE-4 needed a fourth run.
        assert_eq!(
            ids,
            vec![
                vec!["CVE-1", "CVE-2"],
                vec!["CVE-3", "CVE-5"],
                vec!["CVE-6", "CVE-7"]
            ]
        );
        let automation: Vec<&str> = runs
            .iter()
            .map(|r| r["automationDetails"]["id"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            automation,
            [
                "exportcenter/app:1/part-1/",
                "exportcenter/app:1/part-2/",
                "exportcenter/app:2/"
            ]
        );
        let omitted: Vec<u64> = runs
            .iter()
            .map(|r| {
                r["properties"]["exportcenter.truncated"]["omitted_results"]
                    .as_u64()
                    .unwrap_or(99)
            })
            .collect();
        assert_eq!(omitted, vec![1, 0, 0]);
        let note = &runs[0]["invocations"][0]["toolExecutionNotifications"][0];
        assert_eq!(note["level"], "warning");
        assert!(render_within(&view, limits).expect("again") == out);
    }

    #[test]
    fn rule_names_and_truncation() {
        assert_eq!(rule_name("CVE-2019-1549"), "VulnerabilityCVE20191549");
        assert_eq!(truncate("abcdef", 3), "abc…");
        assert_eq!(truncate("abc", 3), "abc");
        let mut cell = String::new();
        push_md(&mut cell, "a|b\nc*", true);
        assert_eq!(cell, "a\\|b c\\*");
    }
}
