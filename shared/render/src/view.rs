//! A read-only view of a snapshot that every format shares: findings joined with their
//! scan, verdict and VEX decision, in one canonical order; the request's filters applied
//! and each finding compared with the baseline once, here, so every format keeps the same
//! rows; and what each VEX document matched.

use std::collections::{BTreeMap, HashMap};

use ec_domain::ExportType;
use ec_domain::filters::{Delta, delta_key};
use ec_domain::scan::{
    Component, Cvss, Decision, Finding, FindingVerdict, Scan, Severity, VexStatement,
};
use ec_domain::snapshot::{BaselineFinding, Snapshot};
use ec_domain::vex::{StatementMatch, VexDocument};

pub struct FindingRow<'a> {
    pub scan: &'a Scan,
    pub finding: &'a Finding,
    pub verdict: Option<&'a FindingVerdict>,
    /// The statement in force (latest of the matching ones).
    pub vex: Option<&'a VexStatement>,
    /// More than one matching statement, with different statuses.
    pub vex_conflict: bool,
    /// `new` or `unchanged` against the request's baseline; `None` without one.
    pub delta: Option<Delta>,
}

impl<'a> FindingRow<'a> {
    pub fn suppressed(&self) -> bool {
        self.vex.is_some_and(|v| v.status.suppresses())
    }

    /// The CVSS entry with the highest base score: the score and vector a report prints.
    pub fn best_cvss(&self) -> Option<&'a Cvss> {
        self.finding
            .cvss
            .iter()
            .filter(|c| c.score.is_some())
            .max_by(|a, b| {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(std::cmp::Ordering::Equal)
            })
    }
}

/// One VEX document and how each of its statements fared, in the document's order.
pub struct VexDocumentView<'a> {
    pub document: &'a VexDocument,
    pub matches: Vec<StatementMatch>,
}

impl VexDocumentView<'_> {
    pub fn matched_statements(&self) -> usize {
        self.matches.iter().filter(|m| m.matched > 0).count()
    }
}

pub struct ReportView<'a> {
    pub snapshot: &'a Snapshot,
    pub findings: Vec<FindingRow<'a>>,
    pub components: Vec<(&'a Scan, &'a Component)>,
    pub vex: Vec<(&'a Scan, &'a VexStatement)>,
    /// Findings in scope that `options.filters` left out.
    pub filtered_out: usize,
    /// Baseline findings no longer found (after the same filters), in the baseline's order.
    pub fixed: Vec<&'a BaselineFinding>,
    pub vex_documents: Vec<VexDocumentView<'a>>,
}

impl<'a> ReportView<'a> {
    pub fn new(snapshot: &'a Snapshot) -> ReportView<'a> {
        let req = &snapshot.request;
        let with_findings = req.export_type != ExportType::Sbom;
        let with_components = req.export_type == ExportType::Sbom || req.options.include_sbom;
        let filters = req.options.filters.matcher();
        let mut findings = Vec::new();
        let mut components = Vec::new();
        let mut vex = Vec::new();
        let mut filtered_out = 0;
        for inputs in &snapshot.scans {
            let scan = &inputs.scan;
            let artifact_kept = filters.keeps_artifact(&scan.artifact.name);
            if with_findings {
                let verdicts: HashMap<(&str, &str, &str), &FindingVerdict> = inputs
                    .verdicts
                    .findings
                    .iter()
                    .map(|v| {
                        (
                            (
                                v.vulnerability_id.as_str(),
                                v.package.as_str(),
                                v.installed_version.as_str(),
                            ),
                            v,
                        )
                    })
                    .collect();
                for f in &scan.findings {
                    let matching = ec_domain::vex::matching(
                        &inputs.vex,
                        &f.vulnerability_id,
                        f.purl.as_deref(),
                    );
                    let statuses: std::collections::BTreeSet<_> =
                        matching.iter().map(|s| s.status).collect();
                    let in_force = matching.last().copied();
                    let suppressed = in_force.is_some_and(|v| v.status.suppresses());
                    if !artifact_kept || !filters.keeps(f, suppressed) {
                        filtered_out += 1;
                        continue;
                    }
                    findings.push(FindingRow {
                        scan,
                        finding: f,
                        verdict: verdicts
                            .get(&(
                                f.vulnerability_id.as_str(),
                                f.package.as_str(),
                                f.installed_version.as_str(),
                            ))
                            .copied(),
                        vex: in_force,
                        vex_conflict: statuses.len() > 1,
                        delta: None,
                    });
                }
            }
            if with_components && artifact_kept {
                let list = inputs
                    .sbom
                    .as_ref()
                    .map_or(&scan.components, |s| &s.components);
                components.extend(
                    list.iter()
                        .filter(|c| filters.keeps_component(c))
                        .map(|c| (scan, c)),
                );
            }
            vex.extend(inputs.vex.iter().map(|s| (scan, s)));
        }
        let fixed = compare_with_baseline(snapshot, &mut findings, &filters);
        ReportView {
            snapshot,
            vex_documents: vex_documents(snapshot),
            findings,
            components,
            vex,
            filtered_out,
            fixed,
        }
    }

    /// Findings compared with the baseline, by kind (`new`, `unchanged`, `fixed`); empty
    /// without a baseline.
    pub fn delta_counts(&self) -> BTreeMap<Delta, usize> {
        let mut out = BTreeMap::new();
        if self.snapshot.baseline.is_none() {
            return out;
        }
        for d in [Delta::New, Delta::Unchanged] {
            out.insert(
                d,
                self.findings.iter().filter(|r| r.delta == Some(d)).count(),
            );
        }
        out.insert(Delta::Fixed, self.fixed.len());
        out
    }

    pub fn severity_counts(&self) -> BTreeMap<Severity, usize> {
        ec_domain::scan::severity_counts(self.findings.iter().map(|r| r.finding))
    }

    /// Findings a VEX statement suppresses (still listed, but marked).
    pub fn suppressed_count(&self) -> usize {
        self.findings.iter().filter(|r| r.suppressed()).count()
    }

    /// Findings the scanner names a fixed version for.
    pub fn fixable_count(&self) -> usize {
        self.findings
            .iter()
            .filter(|r| r.finding.fixed_version.is_some())
            .count()
    }

    /// The export's policy decision: the worst decision of any assessed scan in scope
    /// (see [`ReportView::assessed`]).
    pub fn decision(&self) -> Decision {
        self.snapshot
            .scans
            .iter()
            .filter(|s| s.scan.assessed)
            .map(|s| s.verdicts.decision)
            .max()
            .unwrap_or(Decision::Pass)
    }

    /// Whether any input says anything about vulnerabilities. An SBOM alone, or VEX
    /// documents alone, are not assessed: reports say so instead of a verdict.
    pub fn assessed(&self) -> bool {
        self.snapshot.scans.iter().any(|s| s.scan.assessed)
    }
}

/// Marks each row `new` or `unchanged` and returns the baseline findings no row matches
/// (those the same filters keep: a filtered-out finding is not "fixed").
fn compare_with_baseline<'a>(
    snapshot: &'a Snapshot,
    rows: &mut [FindingRow<'a>],
    filters: &ec_domain::filters::FilterMatcher,
) -> Vec<&'a BaselineFinding> {
    let Some(baseline) = &snapshot.baseline else {
        return Vec::new();
    };
    let before: std::collections::HashSet<(String, String)> = baseline
        .findings
        .iter()
        .map(BaselineFinding::delta_key)
        .collect();
    let mut now = std::collections::HashSet::new();
    for row in rows.iter_mut() {
        let key = delta_key(row.finding);
        row.delta = Some(if before.contains(&key) {
            Delta::Unchanged
        } else {
            Delta::New
        });
        now.insert(key);
    }
    let mut seen = std::collections::HashSet::new();
    baseline
        .findings
        .iter()
        .filter(|b| filters.keeps_artifact(&b.artifact) && filters.keeps_baseline(b))
        .filter(|b| !now.contains(&b.delta_key()) && seen.insert(b.delta_key()))
        .collect()
}

/// Every VEX document with what each statement matched among all findings in scope
/// (before filters: a filter hides findings, it does not unmatch statements).
fn vex_documents(snapshot: &Snapshot) -> Vec<VexDocumentView<'_>> {
    let mut by_id: HashMap<String, Vec<&Finding>> = HashMap::new();
    for inputs in &snapshot.scans {
        for f in &inputs.scan.findings {
            by_id
                .entry(f.vulnerability_id.to_ascii_uppercase())
                .or_default()
                .push(f);
        }
    }
    snapshot
        .vex_documents
        .iter()
        .map(|document| VexDocumentView {
            document,
            matches: document
                .statements
                .iter()
                .map(|s| {
                    let same = by_id
                        .get(&s.vulnerability_id.to_ascii_uppercase())
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    ec_domain::vex::match_statement(s, same.iter().copied())
                })
                .collect(),
        })
        .collect()
}
