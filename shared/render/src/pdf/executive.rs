//! The compliance-executive template: front matter only, no body: the summary, fix
//! availability per severity, the top open risks and the trend over the scans.

use serde::Serialize;

use ec_domain::BuiltinTemplate;
use ec_domain::scan::Severity;

use super::{Meta, ScanData, Summary, meta, scans, summary};
use ec_domain::natural::NaturalId;

use crate::view::{FindingRow, ReportView};

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
pub(super) struct Executive<'a> {
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

pub(super) fn front<'a>(view: &ReportView<'a>) -> Executive<'a> {
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
            .then_with(|| NaturalId(&fa.vulnerability_id).cmp(&NaturalId(&fb.vulnerability_id)))
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
    // Scans of unknown time have no place on a time axis.
    let mut trend: Vec<_> = scans(view)
        .into_iter()
        .zip(&view.snapshot.scans)
        .filter(|(_, s)| s.scan.scanned_at_known && s.scan.assessed)
        .map(|(d, _)| d)
        .collect();
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
