//! The developer-sarif template: target (manifest, lock file or image OS) → rule
//! (vulnerability id) → the packages it hits and their fixes, as a code-scanning view.

use ec_domain::BuiltinTemplate;

use super::Front;
use super::chunks::{Item, by_scan, toc};
use super::entries::RuleData;
use ec_domain::natural::NaturalId;

use crate::common::severity::worst;
use crate::view::{FindingRow, ReportView};

pub(super) fn front<'a>(view: &ReportView<'a>, items: &[Item<'_>]) -> Front<'a> {
    Front::new(
        view,
        BuiltinTemplate::DeveloperSarif,
        "Developer report: findings by target and rule",
        toc(items, 1),
    )
}

/// Target (manifest, lock file or image OS) → rule id → packages and their fixes.
pub(super) fn items<'a>(view: &ReportView<'a>) -> Vec<Item<'a>> {
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
            (NaturalId(&a.finding.vulnerability_id), a.finding.sort_key())
                .cmp(&(NaturalId(&b.finding.vulnerability_id), b.finding.sort_key()))
        });
        for same in rows.chunk_by(|a, b| a.finding.vulnerability_id == b.finding.vulnerability_id) {
            let first = same[0].finding;
            items.push(Item::Rule(RuleData {
                id: &first.vulnerability_id,
                severity: worst(same.iter().map(|r| r.finding.severity)),
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
