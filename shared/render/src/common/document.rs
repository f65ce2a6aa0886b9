//! The report document (`exportcenter.report/v1`, `schemas/export-report-v1.schema.json`):
//! what the JSON format writes and the only data custom templates read, so both take it
//! from here.

use std::collections::BTreeMap;

use serde::Serialize;

use ec_domain::filters::{Delta, Filters};
use ec_domain::scan::{
    Component, Decision, Finding, ScannedArtifact, Scanner, Severity, VexStatement, VexStatus,
};
use ec_domain::snapshot::{BaselineFinding, InputDigest};
use ec_domain::vex::Unmatched;

use crate::view::ReportView;

pub(crate) const SCHEMA_VERSION: &str = "exportcenter.report/v1";

#[derive(Serialize)]
pub(crate) struct Document<'a> {
    schema_version: &'static str,
    export: ExportInfo<'a>,
    summary: Summary,
    scans: Vec<ScanEntry<'a>>,
    findings: Vec<FindingEntry<'a>>,
    components: Vec<ComponentEntry<'a>>,
    vex: Vec<VexEntry<'a>>,
    inputs: &'a [InputDigest],
    /// Baseline findings no longer found (only with `options.baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<Vec<&'a BaselineFinding>>,
    /// Every VEX document applied or named, with what each statement matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    vex_documents: Vec<VexDocumentEntry<'a>>,
}

#[derive(Serialize)]
struct VexDocumentEntry<'a> {
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    source_format: &'a str,
    document_sha256: &'a str,
    statements: usize,
    matched: usize,
    results: Vec<StatementResult<'a>>,
}

#[derive(Serialize)]
struct StatementResult<'a> {
    vulnerability_id: &'a str,
    status: VexStatus,
    products: &'a [String],
    /// Findings it applies to.
    matched: usize,
    /// Why it applies to none.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<Unmatched>,
}

#[derive(Serialize)]
struct ExportInfo<'a> {
    export_id: &'a str,
    tenant_id: &'a str,
    #[serde(rename = "type")]
    export_type: &'static str,
    format: &'static str,
    template: String,
    generated_at: String,
    requested_by: &'a str,
    scope: &'a ec_domain::Scope,
    options: &'a ec_domain::request::ExportOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
    /// The filters in force (all defaults when none were given).
    filters: &'a Filters,
    /// What the findings were compared with (only with `options.baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<&'a str>,
}

#[derive(Serialize)]
struct Summary {
    scans: usize,
    findings: usize,
    components: usize,
    vex_statements: usize,
    suppressed: usize,
    fixable: usize,
    by_severity: BTreeMap<Severity, usize>,
    decision: Decision,
    /// False when no input says anything about vulnerabilities (an SBOM or VEX alone):
    /// `decision` is then no verdict.
    assessed: bool,
    /// Findings in scope that the filters left out.
    filtered_out: usize,
    /// Findings new, unchanged and fixed against the baseline (only with one).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    delta: BTreeMap<Delta, usize>,
}

#[derive(Serialize)]
struct ScanEntry<'a> {
    scan_id: &'a str,
    artifact: &'a ScannedArtifact,
    scanner: &'a Scanner,
    source_format: &'a str,
    /// The scan's time, or (with `scanned_at_known` false) its ingest time.
    scanned_at: String,
    scanned_at_known: bool,
    document_sha256: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    document_size: Option<u64>,
    policy: &'a str,
    decision: Decision,
    /// False for a document without vulnerability data (an SBOM alone).
    assessed: bool,
    findings: usize,
    by_severity: BTreeMap<Severity, usize>,
}

#[derive(Serialize)]
struct VerdictEntry<'a> {
    decision: Decision,
    reason: &'a str,
}

#[derive(Serialize)]
struct VexDecision<'a> {
    status: &'static str,
    justification: Option<&'a str>,
    impact_statement: Option<&'a str>,
    source: Option<&'a str>,
    conflict: bool,
}

#[derive(Serialize)]
pub(crate) struct FindingEntry<'a> {
    scan_id: &'a str,
    #[serde(flatten)]
    finding: &'a Finding,
    verdict: Option<VerdictEntry<'a>>,
    vex: Option<VexDecision<'a>>,
    suppressed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    delta: Option<Delta>,
}

#[derive(Serialize)]
struct ComponentEntry<'a> {
    scan_id: &'a str,
    #[serde(flatten)]
    component: &'a Component,
}

#[derive(Serialize)]
struct VexEntry<'a> {
    scan_id: &'a str,
    #[serde(flatten)]
    statement: &'a VexStatement,
}

impl<'a> Document<'a> {
    /// The findings, leaving the document's list empty (the JSON writer prints them apart).
    pub(crate) fn take_findings(&mut self) -> Vec<FindingEntry<'a>> {
        std::mem::take(&mut self.findings)
    }
}

/// The report document (`exportcenter.report/v1`): also the data custom templates read.
pub(crate) fn document<'a>(view: &'a ReportView<'a>) -> Document<'a> {
    let snap = view.snapshot;
    let req = &snap.request;
    let findings: Vec<FindingEntry> = view
        .findings
        .iter()
        .map(|r| FindingEntry {
            scan_id: &r.scan.scan_id,
            finding: r.finding,
            verdict: r.verdict.map(|v| VerdictEntry {
                decision: v.decision,
                reason: &v.reason,
            }),
            vex: r.vex.map(|v| VexDecision {
                status: v.status.as_str(),
                justification: v.justification.as_deref(),
                impact_statement: v.impact_statement.as_deref(),
                source: v.source.as_deref(),
                conflict: r.vex_conflict,
            }),
            suppressed: r.suppressed(),
            delta: r.delta,
        })
        .collect();
    let scans: Vec<ScanEntry> = snap
        .scans
        .iter()
        .map(|s| ScanEntry {
            scan_id: &s.scan.scan_id,
            artifact: &s.scan.artifact,
            scanner: &s.scan.scanner,
            source_format: &s.scan.source_format,
            scanned_at: ec_domain::time::rfc3339(s.scan.scanned_at),
            scanned_at_known: s.scan.scanned_at_known,
            document_sha256: &s.scan.document_sha256,
            document_name: s.scan.document_name.as_deref(),
            document_size: s.scan.document_size,
            policy: &s.verdicts.policy,
            decision: s.verdicts.decision,
            assessed: s.scan.assessed,
            findings: s.scan.findings.len(),
            by_severity: s.scan.severity_counts(),
        })
        .collect();
    Document {
        schema_version: SCHEMA_VERSION,
        export: ExportInfo {
            export_id: &snap.export_id,
            tenant_id: &snap.tenant_id,
            export_type: req.export_type.as_str(),
            format: req.format.as_str(),
            template: req.template.to_string(),
            generated_at: ec_domain::time::rfc3339(snap.generated_at),
            requested_by: &snap.requested_by,
            scope: &req.scope,
            options: &req.options,
            title: snap.title.as_deref(),
            filters: &req.options.filters,
            baseline: snap.baseline.as_ref().map(|b| b.label.as_str()),
        },
        summary: Summary {
            scans: scans.len(),
            findings: findings.len(),
            components: view.components.len(),
            vex_statements: view.vex.len(),
            suppressed: view.suppressed_count(),
            fixable: view.fixable_count(),
            by_severity: view.severity_counts(),
            decision: view.decision(),
            assessed: view.assessed(),
            filtered_out: view.filtered_out,
            delta: view.delta_counts(),
        },
        scans,
        findings,
        components: view
            .components
            .iter()
            .map(|(s, c)| ComponentEntry {
                scan_id: &s.scan_id,
                component: c,
            })
            .collect(),
        vex: view
            .vex
            .iter()
            .map(|(s, v)| VexEntry {
                scan_id: &s.scan_id,
                statement: v,
            })
            .collect(),
        inputs: &snap.inputs,
        fixed: snap.baseline.as_ref().map(|_| view.fixed.clone()),
        vex_documents: view
            .vex_documents
            .iter()
            .map(|d| VexDocumentEntry {
                id: &d.document.id,
                name: d.document.name.as_deref(),
                source_format: &d.document.source_format,
                document_sha256: &d.document.document_sha256,
                statements: d.document.statements.len(),
                matched: d.matched_statements(),
                results: d
                    .document
                    .statements
                    .iter()
                    .zip(&d.matches)
                    .map(|(s, m)| StatementResult {
                        vulnerability_id: &s.vulnerability_id,
                        status: s.status,
                        products: &s.products,
                        matched: m.matched,
                        reason: m.reason,
                    })
                    .collect(),
            })
            .collect(),
    }
}
