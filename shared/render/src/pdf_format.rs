//! PDF reports: the built-in typst templates (`templates/<name>/report.typ`, compiled into
//! the binary) laid out by `ec-pdf`. The view becomes JSON data the template reads; no
//! text from a scan is ever pasted into markup.
//!
//! Long listings (findings, verdicts) go into body chunks cut at group boundaries, so
//! `ec-pdf` can lay them out in parallel with bounded memory; the front matter carries
//! the summary and the table of contents, whose page numbers `ec-pdf` supplies.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use ec_domain::BuiltinTemplate;
use ec_domain::scan::{Decision, Finding, Scan, Severity};

use crate::RenderError;
use crate::common::decision::decision_name;
use crate::view::{FindingRow, ReportView};

const COMMON: &str = include_str!("../../../templates/common.typ");
const COMPLIANCE_EXECUTIVE: &str =
    include_str!("../../../templates/compliance-executive/report.typ");
const COMPLIANCE_DETAILED: &str = include_str!("../../../templates/compliance-detailed/report.typ");
const AUDIT_EVIDENCE: &str = include_str!("../../../templates/audit-evidence/report.typ");
const DEVELOPER_SARIF: &str = include_str!("../../../templates/developer-sarif/report.typ");
const MODULES: &[(&str, &str)] = &[("/common.typ", COMMON)];

/// Weight (about the characters set, see [`Item::weight`]) of a body chunk, at most:
/// typst's memory for a chunk grows with it, its fixed cost per chunk shrinks.
const MAX_CHUNK: usize = 120_000;

pub fn render(view: &ReportView<'_>, template: BuiltinTemplate) -> Result<Vec<u8>, RenderError> {
    let (main, items, front) = match template {
        BuiltinTemplate::ComplianceExecutive => {
            (COMPLIANCE_EXECUTIVE, Vec::new(), to_json(&executive(view))?)
        }
        BuiltinTemplate::ComplianceDetailed => {
            let items = detailed_items(view);
            let front = to_json(&detailed_front(view, &items))?;
            (COMPLIANCE_DETAILED, items, front)
        }
        BuiltinTemplate::AuditEvidence => {
            let items = audit_items(view);
            let front = to_json(&audit_front(view, &items))?;
            (AUDIT_EVIDENCE, items, front)
        }
        BuiltinTemplate::DeveloperSarif => {
            let items = developer_items(view);
            let front = to_json(&developer_front(view, &items))?;
            (DEVELOPER_SARIF, items, front)
        }
    };
    let body = split(items)
        .iter()
        .map(|chunk| to_json(&Chunk { items: chunk }))
        .collect::<Result<Vec<_>, _>>()?;
    let snap = view.snapshot;
    let report = ec_pdf::Report {
        template: ec_pdf::Template {
            main,
            modules: MODULES,
        },
        front,
        body,
    };
    let opts = ec_pdf::Options {
        ident: format!("{}/{}", snap.tenant_id, snap.export_id),
        generated_at: snap.generated_at,
    };
    ec_pdf::render_report(report, &opts).map_err(RenderError::Pdf)
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, RenderError> {
    serde_json::to_vec(value).map_err(|e| RenderError::Encode {
        format: ec_domain::Format::Pdf,
        reason: e.to_string(),
    })
}

/// What every part's header and footer show.
#[derive(Serialize)]
struct Meta<'a> {
    title: &'static str,
    template: &'static str,
    tenant: &'a str,
    export_id: &'a str,
    generated_at: String,
    requested_by: &'a str,
}

fn meta<'a>(view: &ReportView<'a>, template: BuiltinTemplate, title: &'static str) -> Meta<'a> {
    let snap = view.snapshot;
    Meta {
        title,
        template: template.as_str(),
        tenant: &snap.tenant_id,
        export_id: &snap.export_id,
        generated_at: human_time(snap.generated_at),
        requested_by: &snap.requested_by,
    }
}

/// `2024-12-29 10:30:00 UTC`.
fn human_time(t: time::OffsetDateTime) -> String {
    ec_domain::time::rfc3339(t)
        .replacen('T', " ", 1)
        .replace('Z', " UTC")
}

#[derive(Serialize)]
struct SeverityCount {
    severity: Severity,
    count: usize,
}

fn severity_rows(counts: &BTreeMap<Severity, usize>) -> Vec<SeverityCount> {
    counts
        .iter()
        .map(|(s, c)| SeverityCount {
            severity: *s,
            count: *c,
        })
        .collect()
}

#[derive(Serialize)]
struct Summary {
    findings: usize,
    fixable: usize,
    suppressed: usize,
    decision: Decision,
    by_severity: Vec<SeverityCount>,
}

fn summary(view: &ReportView<'_>) -> Summary {
    Summary {
        findings: view.findings.len(),
        fixable: view
            .findings
            .iter()
            .filter(|r| r.finding.fixed_version.is_some())
            .count(),
        suppressed: view.findings.iter().filter(|r| r.suppressed()).count(),
        decision: overall_decision(view),
        by_severity: severity_rows(&view.severity_counts()),
    }
}

fn overall_decision(view: &ReportView<'_>) -> Decision {
    view.snapshot
        .scans
        .iter()
        .map(|s| s.verdicts.decision)
        .max()
        .unwrap_or(Decision::Pass)
}

#[derive(Serialize)]
struct ScanData<'a> {
    scan_id: &'a str,
    artifact: &'a str,
    digest: Option<&'a str>,
    scanner: String,
    scanned_at: String,
    policy: &'a str,
    decision: Decision,
    findings: usize,
    by_severity: Vec<SeverityCount>,
}

fn scans<'a>(view: &ReportView<'a>) -> Vec<ScanData<'a>> {
    view.snapshot
        .scans
        .iter()
        .map(|s| ScanData {
            scan_id: &s.scan.scan_id,
            artifact: &s.scan.artifact.name,
            digest: s.scan.artifact.digest.as_deref(),
            scanner: scanner(&s.scan),
            scanned_at: human_time(s.scan.scanned_at),
            policy: &s.verdicts.policy,
            decision: s.verdicts.decision,
            findings: s.scan.findings.len(),
            by_severity: severity_rows(&s.scan.severity_counts()),
        })
        .collect()
}

fn scanner(scan: &Scan) -> String {
    match &scan.scanner.version {
        Some(v) => format!("{} {v}", scan.scanner.name),
        None => scan.scanner.name.clone(),
    }
}

/// One finding as the detailed report prints it. The lines are composed here so that
/// the template sets few text runs (typst's cost grows with runs and style changes).
#[derive(Serialize)]
struct FindingData<'a> {
    severity: Severity,
    id: &'a str,
    /// Aliases and the highest CVSS score with its source and vector.
    head: String,
    title: Option<&'a str>,
    /// Remediation (fixed version), scanner status and policy verdict.
    line: String,
    /// The VEX decision in force, when a statement applies.
    vex: Option<String>,
    suppressed: bool,
    description: Option<&'a str>,
    /// `package version` of the first finding of this vulnerability in the artifact, whose
    /// entry holds the description (scanners repeat it for every package affected).
    described_under: Option<String>,
}

fn finding_data<'a>(row: &FindingRow<'a>) -> FindingData<'a> {
    let f = row.finding;
    let mut head = Vec::new();
    if !f.aliases.is_empty() {
        head.push(f.aliases.join(", "));
    }
    if let Some(c) = best_cvss(f) {
        head.push(c);
    }
    let mut line = remediation(row);
    if let Some(status) = &f.status {
        line.push_str(" · scanner status ");
        line.push_str(status);
    }
    if let Some(v) = row.verdict {
        line.push_str(" · policy ");
        line.push_str(decision_name(v.decision));
    }
    FindingData {
        severity: f.severity,
        id: &f.vulnerability_id,
        head: head.join(" · "),
        title: f.title.as_deref(),
        line,
        vex: vex_line(row),
        suppressed: row.suppressed(),
        description: f.description.as_deref(),
        described_under: None,
    }
}

/// `CVSS 9.8 (nvd 3.1)` for the highest-scored entry (vectors are in the data formats).
fn best_cvss(f: &Finding) -> Option<String> {
    let best = f
        .cvss
        .iter()
        .filter(|c| c.score.is_some())
        .max_by(|a, b| a.score.unwrap_or(0.0).total_cmp(&b.score.unwrap_or(0.0)))?;
    Some(format!(
        "CVSS {:.1} ({} {})",
        best.score.unwrap_or(0.0),
        best.source,
        best.version
    ))
}

/// `VEX not_affected (justification): impact`, and a note when statements disagree.
fn vex_line(row: &FindingRow<'_>) -> Option<String> {
    let v = row.vex?;
    let mut s = format!("VEX {}", v.status.as_str());
    if let Some(j) = &v.justification {
        s.push_str(&format!(" ({j})"));
    }
    if let Some(i) = &v.impact_statement {
        s.push_str(": ");
        s.push_str(i);
    }
    if row.vex_conflict {
        s.push_str(" (conflicting statements)");
    }
    Some(s)
}

/// What to do about a finding, in one short sentence (the package and installed version
/// head its group), followed by the VEX action statement when there is one.
fn remediation(row: &FindingRow<'_>) -> String {
    let f = row.finding;
    let mut text = match (row.vex, &f.fixed_version) {
        (Some(v), _) if row.suppressed() => {
            format!("No action required (VEX {}).", v.status.as_str())
        }
        (_, Some(fixed)) => format!("Upgrade to {fixed} or later."),
        (_, None) => "No fixed version published: mitigate or accept the risk.".to_string(),
    };
    if let Some(action) = row.vex.and_then(|v| v.action_statement.as_deref()) {
        text.push(' ');
        text.push_str(action);
    }
    text
}

/// A body entry. Groups open a section (level 1: artifact or target, level 2: package or
/// rule) and carry the key the table of contents finds them by.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Item<'a> {
    Group {
        level: u8,
        key: String,
        label: String,
        detail: Option<String>,
    },
    /// Repeats the label of a group cut across chunks (not a heading: no second anchor).
    Continued {
        label: String,
    },
    Finding(FindingData<'a>),
    Rule(RuleData<'a>),
    Verdict(VerdictRow<'a>),
}

impl Item<'_> {
    /// About the characters the entry sets, which is what its layout costs: how chunks
    /// are balanced. Headings weigh nothing, so cuts can fall before them.
    fn weight(&self) -> usize {
        // The fixed words, spacing and style changes of one entry.
        const ENTRY: usize = 60;
        let len = |s: Option<&str>| s.map_or(0, str::len);
        match self {
            Item::Group { .. } | Item::Continued { .. } => 0,
            Item::Finding(f) => {
                ENTRY
                    + f.head.len()
                    + f.line.len()
                    + len(f.title)
                    + len(f.description)
                    + len(f.vex.as_deref())
            }
            Item::Rule(r) => {
                ENTRY + len(r.title) + r.packages.iter().map(String::len).sum::<usize>()
            }
            Item::Verdict(v) => ENTRY + v.package.len() + v.note.len(),
        }
    }
}

#[derive(Serialize)]
struct Chunk<'a, 'b> {
    items: &'b [Item<'a>],
}

#[derive(Serialize)]
struct TocEntry {
    level: u8,
    key: String,
    label: String,
}

/// The groups down to `depth`, in body order.
fn toc(items: &[Item<'_>], depth: u8) -> Vec<TocEntry> {
    items
        .iter()
        .filter_map(|it| match it {
            Item::Group {
                level, key, label, ..
            } if *level <= depth => Some(TocEntry {
                level: *level,
                key: key.clone(),
                label: label.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// Weight per chunk: the fewest rounds of full chunks on the workers `ec-pdf` uses,
/// chunks no larger than [`MAX_CHUNK`], balanced so the last round is not left half idle.
fn chunk_size(total: usize) -> usize {
    let workers = ec_pdf::workers();
    let rounds = total.div_ceil(workers * MAX_CHUNK).max(1);
    total.div_ceil(rounds * workers).max(1)
}

/// Cuts the body into chunks of about [`chunk_size`] weight each: the k-th cut falls
/// near k × size, at a group start when one is within a tenth of a chunk of it, else
/// inside the group (the next chunk then opens with a "continued" line). Equal chunks
/// keep the workers of a round busy equally long.
fn split(items: Vec<Item<'_>>) -> Vec<Vec<Item<'_>>> {
    let total: usize = items.iter().map(Item::weight).sum();
    let size = chunk_size(total);
    let slack = size / 10;
    let mut chunks = Vec::new();
    let mut current: Vec<Item> = Vec::new();
    let mut done = 0;
    let mut next = size;
    let mut open: Option<String> = None;
    for item in items {
        // The last chunk takes the rest, however the cuts before it fell.
        let cut = next < total
            && match &item {
                Item::Group { .. } => done + slack >= next,
                _ => item.weight() > 0 && done >= next + slack,
            };
        if cut && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
            next += size;
            if !matches!(item, Item::Group { .. })
                && let Some(label) = &open
            {
                current.push(Item::Continued {
                    label: label.clone(),
                });
            }
        }
        if let Item::Group { label, .. } = &item {
            open = Some(label.clone());
        }
        done += item.weight();
        current.push(item);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

fn artifact_group(index: usize, scan: &Scan) -> Item<'static> {
    let mut detail = format!(
        "{} · scanned {} · {} findings",
        scanner(scan),
        human_time(scan.scanned_at),
        scan.findings.len()
    );
    if let Some(d) = &scan.artifact.digest {
        detail.push_str(" · ");
        detail.push_str(d);
    }
    Item::Group {
        level: 1,
        key: format!("a{index}"),
        label: scan.artifact.name.clone(),
        detail: Some(detail),
    }
}

/// Calls `each` with the index of every scan's first row, then for every row, keeping
/// the rows of one scan together (the view orders rows by scan).
fn by_scan<'v, 'a>(
    view: &'v ReportView<'a>,
    mut each: impl FnMut(usize, bool, &'v FindingRow<'a>),
) {
    let mut scan_index = 0;
    let mut last: Option<&str> = None;
    for row in &view.findings {
        let first = last != Some(row.scan.scan_id.as_str());
        if first && last.is_some() {
            scan_index += 1;
        }
        last = Some(&row.scan.scan_id);
        each(scan_index, first, row);
    }
}

// ---- compliance-detailed ----

#[derive(Serialize)]
struct DetailedFront<'a> {
    meta: Meta<'a>,
    summary: Summary,
    scans: Vec<ScanData<'a>>,
    toc: Vec<TocEntry>,
}

fn detailed_front<'a>(view: &ReportView<'a>, items: &[Item<'_>]) -> DetailedFront<'a> {
    DetailedFront {
        meta: meta(
            view,
            BuiltinTemplate::ComplianceDetailed,
            "Compliance report: findings in detail",
        ),
        summary: summary(view),
        scans: scans(view),
        toc: toc(items, 2),
    }
}

/// Artifact → package (in a target) → findings.
fn detailed_items<'a>(view: &ReportView<'a>) -> Vec<Item<'a>> {
    let mut items = Vec::with_capacity(view.findings.len() * 11 / 10 + 1);
    let mut package: Option<(usize, &Finding)> = None;
    let mut packages = 0;
    // Vulnerability id → where its description was printed, within the current artifact.
    let mut described: HashMap<&str, &Finding> = HashMap::new();
    by_scan(view, |scan_index, first, row| {
        let f = row.finding;
        if first {
            items.push(artifact_group(scan_index, row.scan));
            package = None;
            described.clear();
        }
        let same = package.is_some_and(|(i, p)| {
            i == scan_index
                && p.target == f.target
                && p.package == f.package
                && p.installed_version == f.installed_version
        });
        if !same {
            packages += 1;
            let mut detail = Vec::new();
            if let Some(t) = &f.package_type {
                detail.push(t.clone());
            }
            if let Some(t) = &f.target {
                detail.push(format!("in {t}"));
            }
            items.push(Item::Group {
                level: 2,
                key: format!("p{packages}"),
                label: format!("{} {}", f.package, f.installed_version),
                detail: (!detail.is_empty()).then(|| detail.join(" · ")),
            });
            package = Some((scan_index, f));
        }
        let mut data = finding_data(row);
        if f.description.is_some() {
            match described.get(f.vulnerability_id.as_str()) {
                Some(at) if at.description == f.description => {
                    data.description = None;
                    data.described_under = Some(format!("{} {}", at.package, at.installed_version));
                }
                _ => {
                    described.insert(&f.vulnerability_id, f);
                }
            }
        }
        items.push(Item::Finding(data));
    });
    items
}

// ---- compliance-executive ----

#[derive(Serialize)]
struct FixRow {
    severity: Severity,
    fixable: usize,
    total: usize,
}

#[derive(Serialize)]
struct Risk<'a> {
    severity: Severity,
    id: &'a str,
    score: Option<String>,
    package: &'a str,
    installed: &'a str,
    fixed: Option<&'a str>,
    title: Option<&'a str>,
    artifact: &'a str,
}

#[derive(Serialize)]
struct Executive<'a> {
    meta: Meta<'a>,
    summary: Summary,
    scans: Vec<ScanData<'a>>,
    fix_availability: Vec<FixRow>,
    top_risks: Vec<Risk<'a>>,
    /// Counts per scan in order of `scanned_at`, when several scans are in scope.
    trend: Vec<ScanData<'a>>,
}

/// How many risks the executive summary lists.
const TOP_RISKS: usize = 10;

fn executive<'a>(view: &ReportView<'a>) -> Executive<'a> {
    let fix_availability = Severity::ALL
        .iter()
        .map(|&severity| {
            let rows = view
                .findings
                .iter()
                .filter(|r| r.finding.severity == severity);
            FixRow {
                severity,
                fixable: rows
                    .clone()
                    .filter(|r| r.finding.fixed_version.is_some())
                    .count(),
                total: rows.count(),
            }
        })
        .collect();
    // Open findings, worst first: severity, then the highest CVSS score, then id.
    let mut open: Vec<&FindingRow> = view.findings.iter().filter(|r| !r.suppressed()).collect();
    open.sort_by(|a, b| {
        let (fa, fb) = (a.finding, b.finding);
        fa.severity
            .cmp(&fb.severity)
            .then_with(|| {
                fb.max_score()
                    .unwrap_or(0.0)
                    .total_cmp(&fa.max_score().unwrap_or(0.0))
            })
            .then_with(|| fa.vulnerability_id.cmp(&fb.vulnerability_id))
            .then_with(|| fa.sort_key().cmp(&fb.sort_key()))
    });
    let top_risks = open
        .iter()
        .take(TOP_RISKS)
        .map(|r| {
            let f = r.finding;
            Risk {
                severity: f.severity,
                id: &f.vulnerability_id,
                score: f.max_score().map(|s| format!("{s:.1}")),
                package: &f.package,
                installed: &f.installed_version,
                fixed: f.fixed_version.as_deref(),
                title: f.title.as_deref(),
                artifact: &r.scan.artifact.name,
            }
        })
        .collect();
    let mut trend = scans(view);
    if trend.len() < 2 {
        trend.clear();
    }
    trend.sort_by(|a, b| {
        a.scanned_at
            .cmp(&b.scanned_at)
            .then_with(|| a.scan_id.cmp(b.scan_id))
    });
    Executive {
        meta: meta(
            view,
            BuiltinTemplate::ComplianceExecutive,
            "Compliance report: executive summary",
        ),
        summary: summary(view),
        scans: scans(view),
        fix_availability,
        top_risks,
        trend,
    }
}

// ---- audit-evidence ----

#[derive(Serialize)]
struct ManifestFile {
    path: String,
    sha256: Option<String>,
    note: &'static str,
}

#[derive(Serialize)]
struct VexStatementData<'a> {
    artifact: &'a str,
    id: &'a str,
    status: &'static str,
    products: &'a [String],
    justification: Option<&'a str>,
    impact: Option<&'a str>,
    action: Option<&'a str>,
    timestamp: Option<String>,
    source: Option<&'a str>,
}

#[derive(Serialize)]
struct Audit<'a> {
    meta: Meta<'a>,
    request: Vec<(&'static str, String)>,
    summary: Summary,
    scans: Vec<ScanData<'a>>,
    inputs: &'a [ec_domain::snapshot::InputDigest],
    manifest: Vec<ManifestFile>,
    vex: Vec<VexStatementData<'a>>,
    toc: Vec<TocEntry>,
}

/// One finding's verdict and VEX decision, as the audit trail lists them.
#[derive(Serialize)]
struct VerdictRow<'a> {
    severity: Severity,
    id: &'a str,
    /// `name installed-version`.
    package: String,
    decision: Option<Decision>,
    /// The verdict's reason and the VEX decision.
    note: String,
}

fn audit_front<'a>(view: &ReportView<'a>, items: &[Item<'_>]) -> Audit<'a> {
    let snap = view.snapshot;
    let req = &snap.request;
    let scope = match &req.scope {
        ec_domain::Scope::ScanIds(ids) => format!("scans {}", ids.join(", ")),
        ec_domain::Scope::DateRange(r) => {
            format!("scans from {} to {}", human_time(r.from), human_time(r.to))
        }
    };
    let request = vec![
        ("Requested by", snap.requested_by.clone()),
        ("Requested at", human_time(snap.generated_at)),
        ("Export type", req.export_type.as_str().to_string()),
        ("Format", req.format.as_str().to_string()),
        ("Template", req.template.to_string()),
        ("Scope", scope),
        ("Include SBOM", req.options.include_sbom.to_string()),
        ("Include evidence", req.options.include_evidence.to_string()),
    ];
    let digest = |kind: &str, id: &str| {
        snap.inputs
            .iter()
            .find(|i| i.kind == kind && i.id == id)
            .map(|i| i.sha256.clone())
    };
    let mut manifest = vec![ManifestFile {
        path: format!("report.{}", req.format.extension()),
        sha256: None,
        note: "this document; its digest is recorded when the bundle is sealed",
    }];
    if req.options.include_evidence {
        for s in &snap.scans {
            let id = &s.scan.scan_id;
            for kind in ["scan", "verdicts", "vex"] {
                manifest.push(ManifestFile {
                    path: format!("evidence/{id}/{kind}.json"),
                    sha256: digest(kind, id),
                    note: "input, canonical JSON",
                });
            }
            if let Some(sbom) = &s.sbom {
                manifest.push(ManifestFile {
                    path: format!("evidence/{id}/sbom.json"),
                    sha256: digest("sbom", &sbom.artifact_digest),
                    note: "input, canonical JSON",
                });
            }
        }
    }
    for path in [
        "manifest.json",
        "manifest.dsse.json",
        "checksums.sha256",
        "keys/signing.pub.pem",
        "VERIFY.md",
    ] {
        manifest.push(ManifestFile {
            path: path.to_string(),
            sha256: None,
            note: "written when the bundle is sealed",
        });
    }
    Audit {
        meta: meta(
            view,
            BuiltinTemplate::AuditEvidence,
            "Audit evidence: inputs, verdicts and VEX decisions",
        ),
        request,
        summary: summary(view),
        scans: scans(view),
        inputs: &snap.inputs,
        manifest,
        vex: view
            .vex
            .iter()
            .map(|(scan, v)| VexStatementData {
                artifact: &scan.artifact.name,
                id: &v.vulnerability_id,
                status: v.status.as_str(),
                products: &v.products,
                justification: v.justification.as_deref(),
                impact: v.impact_statement.as_deref(),
                action: v.action_statement.as_deref(),
                timestamp: v.timestamp.map(human_time),
                source: v.source.as_deref(),
            })
            .collect(),
        toc: toc(items, 1),
    }
}

/// Artifact → one row per finding with its verdict and VEX decision.
fn audit_items<'a>(view: &ReportView<'a>) -> Vec<Item<'a>> {
    let mut items = Vec::with_capacity(view.findings.len() + view.snapshot.scans.len());
    by_scan(view, |scan_index, first, row| {
        if first {
            items.push(artifact_group(scan_index, row.scan));
        }
        let f = row.finding;
        let mut note: Vec<String> = row.verdict.iter().map(|v| v.reason.clone()).collect();
        note.extend(vex_line(row));
        if row.suppressed() {
            note.push("suppressed".into());
        }
        items.push(Item::Verdict(VerdictRow {
            severity: f.severity,
            id: &f.vulnerability_id,
            package: format!("{} {}", f.package, f.installed_version),
            decision: row.verdict.map(|v| v.decision),
            note: note.join(" · "),
        }));
    });
    items
}

// ---- developer-sarif ----

/// One rule (vulnerability id) in one target, with every package it hits and the fix.
#[derive(Serialize)]
struct RuleData<'a> {
    id: &'a str,
    severity: Severity,
    title: Option<&'a str>,
    score: Option<String>,
    /// `name installed → fixed`, and the VEX status where a statement applies.
    packages: Vec<String>,
}

#[derive(Serialize)]
struct DeveloperFront<'a> {
    meta: Meta<'a>,
    summary: Summary,
    scans: Vec<ScanData<'a>>,
    toc: Vec<TocEntry>,
}

fn developer_front<'a>(view: &ReportView<'a>, items: &[Item<'_>]) -> DeveloperFront<'a> {
    DeveloperFront {
        meta: meta(
            view,
            BuiltinTemplate::DeveloperSarif,
            "Developer report: findings by target and rule",
        ),
        summary: summary(view),
        scans: scans(view),
        toc: toc(items, 1),
    }
}

/// Target (manifest, lock file or image OS) → rule id → packages and their fixes.
fn developer_items<'a>(view: &ReportView<'a>) -> Vec<Item<'a>> {
    // The view orders a scan's rows by target first, so each target is one run of rows.
    let mut runs: Vec<(usize, &FindingRow<'a>, Vec<&FindingRow<'a>>)> = Vec::new();
    by_scan(view, |scan_index, first, row| match runs.last_mut() {
        Some((_, head, rows)) if !first && head.finding.target == row.finding.target => {
            rows.push(row)
        }
        _ => runs.push((scan_index, row, vec![row])),
    });
    let mut items = Vec::with_capacity(view.findings.len() + runs.len());
    for (n, (scan_index, head, mut rows)) in runs.into_iter().enumerate() {
        let target = head.finding.target.as_deref().unwrap_or("(no target)");
        items.push(Item::Group {
            level: 1,
            key: format!("t{n}"),
            label: target.to_string(),
            detail: Some(format!(
                "{} · scan {} · {} findings",
                head.scan.artifact.name,
                scan_index + 1,
                rows.len()
            )),
        });
        rows.sort_by(|a, b| {
            (&a.finding.vulnerability_id, a.finding.sort_key())
                .cmp(&(&b.finding.vulnerability_id, b.finding.sort_key()))
        });
        for same in rows.chunk_by(|a, b| a.finding.vulnerability_id == b.finding.vulnerability_id) {
            let first = same[0].finding;
            items.push(Item::Rule(RuleData {
                id: &first.vulnerability_id,
                severity: same
                    .iter()
                    .map(|r| r.finding.severity)
                    .min()
                    .unwrap_or(first.severity),
                title: first.title.as_deref(),
                score: same
                    .iter()
                    .filter_map(|r| r.finding.max_score())
                    .reduce(f64::max)
                    .map(|s| format!("{s:.1}")),
                packages: same
                    .iter()
                    .map(|r| {
                        let f = r.finding;
                        let fixed = f.fixed_version.as_deref().unwrap_or("no fix");
                        let mut p = format!("{} {} → {fixed}", f.package, f.installed_version);
                        if let Some(v) = r.vex {
                            p.push_str(" · VEX ");
                            p.push_str(v.status.as_str());
                            if r.suppressed() {
                                p.push_str(" (suppressed)");
                            }
                        }
                        p
                    })
                    .collect(),
            }));
        }
    }
    items
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of weight 1000.
    fn row() -> Item<'static> {
        Item::Verdict(VerdictRow {
            severity: Severity::High,
            id: "CVE-2024-0001",
            package: "pkg".into(),
            decision: None,
            note: "x".repeat(1000 - 60 - 3),
        })
    }

    fn group(n: usize) -> Item<'static> {
        Item::Group {
            level: 2,
            key: format!("g{n}"),
            label: format!("group {n}"),
            detail: None,
        }
    }

    fn weights(chunks: &[Vec<Item<'_>>]) -> Vec<usize> {
        chunks
            .iter()
            .map(|c| c.iter().map(Item::weight).sum())
            .collect()
    }

    #[test]
    fn chunks_are_balanced_and_cut_at_group_starts() {
        assert_eq!(row().weight(), 1000);
        let mut items = Vec::new();
        for g in 0..400 {
            items.push(group(g));
            items.extend((0..7).map(|_| row()));
        }
        let total = 2800 * 1000;
        let size = chunk_size(total);
        let chunks = split(items);
        assert_eq!(weights(&chunks).iter().sum::<usize>(), total);
        assert_eq!(chunks.len(), total.div_ceil(size));
        assert_eq!(chunks.len() % ec_pdf::workers(), 0, "rounds are full");
        for (i, chunk) in chunks.iter().enumerate() {
            assert!(
                matches!(chunk[0], Item::Group { .. }),
                "chunk {i} starts mid-group"
            );
        }
        for w in weights(&chunks) {
            assert!(
                w.abs_diff(size) <= size / 10 + 7000,
                "chunk of {w} for {size}"
            );
        }
    }

    #[test]
    fn a_group_larger_than_a_chunk_is_continued() {
        let mut items = vec![group(0)];
        items.extend((0..1000).map(|_| row()));
        let chunks = split(items);
        assert!(chunks.len() > 1);
        for chunk in &chunks[1..] {
            match &chunk[0] {
                Item::Continued { label } => assert_eq!(label, "group 0"),
                _ => panic!("a cut inside a group must say which group continues"),
            }
        }
        assert_eq!(weights(&chunks).iter().sum::<usize>(), 1000 * 1000);
    }
}
