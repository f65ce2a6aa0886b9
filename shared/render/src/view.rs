//! A read-only view of a snapshot that every format shares: findings joined with their
//! scan, verdict and VEX decision, in one canonical order.

use std::collections::{BTreeMap, HashMap};

use ec_domain::ExportType;
use ec_domain::scan::{
    Component, Cvss, Decision, Finding, FindingVerdict, Scan, Severity, VexStatement,
};
use ec_domain::snapshot::Snapshot;

pub struct FindingRow<'a> {
    pub scan: &'a Scan,
    pub finding: &'a Finding,
    pub verdict: Option<&'a FindingVerdict>,
    /// The statement in force (latest of the matching ones).
    pub vex: Option<&'a VexStatement>,
    /// More than one matching statement, with different statuses.
    pub vex_conflict: bool,
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

pub struct ReportView<'a> {
    pub snapshot: &'a Snapshot,
    pub findings: Vec<FindingRow<'a>>,
    pub components: Vec<(&'a Scan, &'a Component)>,
    pub vex: Vec<(&'a Scan, &'a VexStatement)>,
}

impl<'a> ReportView<'a> {
    pub fn new(snapshot: &'a Snapshot) -> ReportView<'a> {
        let req = &snapshot.request;
        let with_findings = req.export_type != ExportType::Sbom;
        let with_components = req.export_type == ExportType::Sbom || req.options.include_sbom;
        let mut findings = Vec::new();
        let mut components = Vec::new();
        let mut vex = Vec::new();
        for inputs in &snapshot.scans {
            let scan = &inputs.scan;
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
                        vex: matching.last().copied(),
                        vex_conflict: statuses.len() > 1,
                    });
                }
            }
            if with_components {
                let list = inputs
                    .sbom
                    .as_ref()
                    .map_or(&scan.components, |s| &s.components);
                components.extend(list.iter().map(|c| (scan, c)));
            }
            vex.extend(inputs.vex.iter().map(|s| (scan, s)));
        }
        ReportView {
            snapshot,
            findings,
            components,
            vex,
        }
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

    /// The export's policy decision: the worst decision of any scan in scope.
    pub fn decision(&self) -> Decision {
        self.snapshot
            .scans
            .iter()
            .map(|s| s.verdicts.decision)
            .max()
            .unwrap_or(Decision::Pass)
    }
}
