//! PDF reports: the built-in typst templates (`templates/<name>/report.typ`, compiled into
//! the binary) laid out by `ec-pdf`. The view becomes JSON data the template reads; no
//! text from a scan is ever pasted into markup.
//!
//! Long listings (findings, verdicts) go into body chunks cut at group boundaries, so
//! `ec-pdf` can lay them out in parallel with bounded memory; the front matter carries
//! the summary and the table of contents, whose page numbers `ec-pdf` supplies.
//!
//! The parts: the body's [`chunks`], and one module per template: [`executive`],
//! [`detailed`], [`audit`] and [`developer`]. What every template's front matter shares
//! (header, summary, scans) is here.

mod audit;
mod chunks;
mod detailed;
mod developer;
mod entries;
mod executive;

use std::collections::BTreeMap;

use serde::Serialize;

use ec_domain::BuiltinTemplate;
use ec_domain::scan::{Decision, Severity};

use crate::RenderError;
use crate::common::identity::scanner_label;
use crate::view::{FindingRow, ReportView};
use chunks::{Chunk, TocEntry, split};

const COMMON: &str = include_str!("../../../templates/common.typ");
const COMPLIANCE_EXECUTIVE: &str =
    include_str!("../../../templates/compliance-executive/report.typ");
const COMPLIANCE_DETAILED: &str = include_str!("../../../templates/compliance-detailed/report.typ");
const AUDIT_EVIDENCE: &str = include_str!("../../../templates/audit-evidence/report.typ");
const DEVELOPER_SARIF: &str = include_str!("../../../templates/developer-sarif/report.typ");
const MODULES: &[(&str, &str)] = &[("/common.typ", COMMON)];

pub fn render(view: &ReportView<'_>, template: BuiltinTemplate) -> Result<Vec<u8>, RenderError> {
    let (main, items, front) = match template {
        BuiltinTemplate::ComplianceExecutive => (
            COMPLIANCE_EXECUTIVE,
            Vec::new(),
            to_json(&executive::front(view))?,
        ),
        BuiltinTemplate::ComplianceDetailed => {
            let items = detailed::items(view);
            let front = to_json(&detailed::front(view, &items))?;
            (COMPLIANCE_DETAILED, items, front)
        }
        BuiltinTemplate::AuditEvidence => {
            let items = audit::items(view);
            let front = to_json(&audit::front(view, &items))?;
            (AUDIT_EVIDENCE, items, front)
        }
        BuiltinTemplate::DeveloperSarif => {
            let items = developer::items(view);
            let front = to_json(&developer::front(view, &items))?;
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
    serde_json::to_vec(value).map_err(|e| RenderError::encode(ec_domain::Format::Pdf, e))
}

/// What every part's header and footer show.
#[derive(Serialize)]
struct Meta<'a> {
    title: &'a str,
    template: &'static str,
    tenant: &'a str,
    export_id: &'a str,
    generated_at: String,
    requested_by: &'a str,
    /// The filters in force, in words (`none` without any).
    filters: String,
    /// What the findings were compared with, and the counts (only with a baseline).
    baseline: Option<String>,
}

fn meta<'a>(view: &ReportView<'a>, template: BuiltinTemplate, title: &'static str) -> Meta<'a> {
    let snap = view.snapshot;
    Meta {
        title: snap.title.as_deref().unwrap_or(title),
        template: template.as_str(),
        tenant: &snap.tenant_id,
        export_id: &snap.export_id,
        generated_at: human_time(snap.generated_at),
        requested_by: &snap.requested_by,
        filters: snap.request.options.filters.describe(),
        baseline: snap.baseline.as_ref().map(|b| {
            let counts: Vec<String> = view
                .delta_counts()
                .iter()
                .map(|(d, n)| format!("{n} {d}"))
                .collect();
            format!("{}: {}", b.label, counts.join(", "))
        }),
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
    /// False when no input carries vulnerability data: templates print "not assessed".
    assessed: bool,
    /// Components listed (SBOM exports, `include_sbom`).
    components: usize,
    findings: usize,
    fixable: usize,
    suppressed: usize,
    decision: Decision,
    by_severity: Vec<SeverityCount>,
}

fn summary(view: &ReportView<'_>) -> Summary {
    Summary {
        assessed: view.assessed(),
        components: view.components.len(),
        findings: view.findings.len(),
        fixable: view.fixable_count(),
        suppressed: view.suppressed_count(),
        decision: view.decision(),
        by_severity: severity_rows(&view.severity_counts()),
    }
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
    assessed: bool,
    findings: usize,
    by_severity: Vec<SeverityCount>,
}

/// When the scan ran, as the reports print it; "scan time unknown" when the document did
/// not say (its `scanned_at` is then the ingest time, which is no scan time).
pub(crate) fn scan_time(scan: &ec_domain::scan::Scan) -> String {
    if scan.scanned_at_known {
        human_time(scan.scanned_at)
    } else {
        UNKNOWN_SCAN_TIME.to_string()
    }
}

pub(crate) const UNKNOWN_SCAN_TIME: &str = "scan time unknown";

fn scans<'a>(view: &ReportView<'a>) -> Vec<ScanData<'a>> {
    view.snapshot
        .scans
        .iter()
        .map(|s| ScanData {
            scan_id: &s.scan.scan_id,
            artifact: &s.scan.artifact.name,
            digest: s.scan.artifact.digest.as_deref(),
            scanner: scanner_label(&s.scan),
            scanned_at: scan_time(&s.scan),
            policy: &s.verdicts.policy,
            decision: s.verdicts.decision,
            assessed: s.scan.assessed,
            findings: s.scan.findings.len(),
            by_severity: severity_rows(&s.scan.severity_counts()),
        })
        .collect()
}

/// The front matter of a template whose body lists the findings: header, summary, scans
/// and the table of contents.
#[derive(Serialize)]
struct Front<'a> {
    meta: Meta<'a>,
    summary: Summary,
    scans: Vec<ScanData<'a>>,
    toc: Vec<TocEntry>,
    /// Baseline findings no longer found.
    fixed: Vec<&'a ec_domain::snapshot::BaselineFinding>,
    vex_documents: Vec<VexDocumentData<'a>>,
}

/// A VEX document in the front matter: what it is and what its statements matched.
#[derive(Serialize)]
struct VexDocumentData<'a> {
    name: &'a str,
    source_format: &'a str,
    sha256: &'a str,
    statements: usize,
    matched: usize,
    /// `3 × unknown_product: …`, one entry per reason.
    unmatched: Vec<String>,
}

fn vex_documents<'a>(view: &ReportView<'a>) -> Vec<VexDocumentData<'a>> {
    view.vex_documents
        .iter()
        .map(|d| {
            let mut reasons: BTreeMap<ec_domain::vex::Unmatched, usize> = BTreeMap::new();
            for r in d.matches.iter().filter_map(|m| m.reason) {
                *reasons.entry(r).or_default() += 1;
            }
            VexDocumentData {
                name: d.document.name.as_deref().unwrap_or(&d.document.id),
                source_format: &d.document.source_format,
                sha256: &d.document.document_sha256,
                statements: d.document.statements.len(),
                matched: d.matched_statements(),
                unmatched: reasons
                    .into_iter()
                    .map(|(r, n)| format!("{n} × {r}: {}", r.explain()))
                    .collect(),
            }
        })
        .collect()
}

impl<'a> Front<'a> {
    fn new(
        view: &ReportView<'a>,
        template: BuiltinTemplate,
        title: &'static str,
        toc: Vec<TocEntry>,
    ) -> Front<'a> {
        Front {
            meta: meta(view, template, title),
            summary: summary(view),
            scans: scans(view),
            toc,
            fixed: view.fixed.clone(),
            vex_documents: vex_documents(view),
        }
    }
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
