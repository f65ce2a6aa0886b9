//! The compliance-detailed template: artifact → package (in a target) → findings, each
//! with its scores, remediation, policy verdict and VEX decision; a vulnerability's
//! description is printed once per artifact.

use std::collections::HashMap;

use ec_domain::BuiltinTemplate;
use ec_domain::scan::Finding;

use super::chunks::{Item, artifact_group, by_scan, component_items, toc};
use super::entries::FindingData;
use super::{Front, vex_line};
use crate::common::columns::cwe_names;
use crate::common::decision::decision_name;
use crate::common::facts::VulnerabilityFacts;
use crate::view::{FindingRow, ReportView};

fn finding_data<'a>(row: &FindingRow<'a>) -> FindingData<'a> {
    let f = row.finding;
    let mut head = Vec::new();
    if !f.aliases.is_empty() {
        head.push(f.aliases.join(", "));
    }
    if let Some(c) = cvss_label(row) {
        head.push(c);
    }
    if let Some(d) = row.delta {
        head.push(format!("{d} since baseline"));
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
        more: more(f),
        references: references(f),
    }
}

/// How many references a finding entry prints; the data formats list them all.
const REFERENCES_SHOWN: usize = 1;

/// `CWE-79 · published … · EPSS … · nvd 3.1 CVSS:3.1/AV:N/…`, or `None` with nothing to say.
fn more(f: &Finding) -> Option<String> {
    let mut parts: Vec<String> = cwe_names(&f.cwes);
    let facts = VulnerabilityFacts::of([f]).line();
    if !facts.is_empty() {
        parts.push(facts);
    }
    // A v3/v4 vector names its version (`CVSS:3.1/…`); a v2 vector does not.
    parts.extend(f.cvss.iter().filter_map(|c| {
        c.vector.as_ref().map(|v| match v.starts_with("CVSS:") {
            true => format!("{} {v}", c.source),
            false => format!("{} {} {v}", c.source, c.version),
        })
    }));
    (!parts.is_empty()).then(|| parts.join(" · "))
}

/// The first [`REFERENCES_SHOWN`] references, and how many more there are.
fn references(f: &Finding) -> Option<String> {
    let shown: Vec<&str> = f
        .references
        .iter()
        .take(REFERENCES_SHOWN)
        .map(|r| &**r)
        .collect();
    let rest = f.references.len().saturating_sub(REFERENCES_SHOWN);
    match (shown.is_empty(), rest) {
        (true, _) => None,
        (false, 0) => Some(shown.join(" ")),
        (false, n) => Some(format!(
            "{} (and {n} more in the data formats)",
            shown.join(" ")
        )),
    }
}

/// `CVSS 9.8 (nvd 3.1)` for the highest-scored entry (vectors are in the data formats).
fn cvss_label(row: &FindingRow<'_>) -> Option<String> {
    let best = row.best_cvss()?;
    Some(format!(
        "CVSS {:.1} ({} {})",
        best.score.unwrap_or(0.0),
        best.source,
        best.version
    ))
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

pub(super) fn front<'a>(view: &ReportView<'a>, items: &[Item<'_>]) -> Front<'a> {
    Front::new(
        view,
        BuiltinTemplate::ComplianceDetailed,
        "Compliance report: findings in detail",
        toc(items, 2),
    )
}

/// Artifact → package (in a target) → findings.
pub(super) fn items<'a>(view: &ReportView<'a>) -> Vec<Item<'a>> {
    let mut items = Vec::with_capacity(view.findings.len() * 11 / 10 + 1);
    let mut package: Option<(usize, &Finding)> = None;
    let mut packages = 0;
    // Vulnerability id → where its description was printed, within the current artifact.
    let mut described: HashMap<&str, &Finding> = HashMap::new();
    // Vulnerability id → the facts and references last printed for it in this artifact:
    // scanners repeat them for every package a vulnerability hits, the report once.
    let mut told: HashMap<&str, (Option<String>, Option<String>)> = HashMap::new();
    by_scan(view, |scan_index, first, row| {
        let f = row.finding;
        if first {
            items.push(artifact_group(scan_index, row.scan));
            package = None;
            described.clear();
            told.clear();
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
        let facts = (data.more.clone(), data.references.clone());
        if told.get(f.vulnerability_id.as_str()) == Some(&facts) {
            data.more = None;
            data.references = None;
        } else {
            told.insert(&f.vulnerability_id, facts);
        }
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
    // The inventory of an SBOM export (a scan report's PDF stays on its findings; the data
    // formats list components with `include_sbom`).
    if view.snapshot.request.export_type == ec_domain::ExportType::Sbom {
        component_items(view, &mut items);
    }
    items
}
