//! The audit-evidence template: the request, the inputs and their digests, the bundle's
//! manifest and the VEX statements up front; then per artifact one row per finding with
//! its policy verdict and VEX decision.

use serde::Serialize;

use ec_domain::BuiltinTemplate;

use super::chunks::{Item, TocEntry, artifact_group, by_scan, toc};
use super::entries::VerdictRow;
use super::{Meta, ScanData, Summary, human_time, meta, scans, summary, vex_line};
use crate::common::identity::{TOOL_NAME, TOOL_VERSION};
use crate::view::ReportView;

#[derive(Serialize)]
struct ManifestFile {
    path: String,
    sha256: Option<String>,
    note: &'static str,
}

/// A document as it was received: what an auditor can hash themselves.
#[derive(Serialize)]
struct ReceivedDocument<'a> {
    /// The file name it came with, or `None` when none was given.
    name: Option<&'a str>,
    kind: &'static str,
    source_format: &'a str,
    size: Option<u64>,
    sha256: &'a str,
}

fn received<'a>(view: &ReportView<'a>) -> Vec<ReceivedDocument<'a>> {
    let snap = view.snapshot;
    let scans = snap.scans.iter().map(|s| ReceivedDocument {
        name: s.scan.document_name.as_deref(),
        kind: if s.scan.assessed { "scan" } else { "sbom" },
        source_format: &s.scan.source_format,
        size: s.scan.document_size,
        sha256: &s.scan.document_sha256,
    });
    let vex = snap.vex_documents.iter().map(|d| ReceivedDocument {
        name: d.name.as_deref(),
        kind: "vex",
        source_format: &d.source_format,
        size: d.size,
        sha256: &d.document_sha256,
    });
    scans.chain(vex).collect()
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

/// One audit-trail entry as the report prints it.
#[derive(Serialize)]
struct TrailRow<'a> {
    seq: u64,
    at: &'a str,
    subject: &'a str,
    action: &'static str,
    resource: &'a str,
    status: u16,
}

#[derive(Serialize)]
pub(super) struct Audit<'a> {
    meta: Meta<'a>,
    request: Vec<(&'static str, String)>,
    summary: Summary,
    scans: Vec<ScanData<'a>>,
    inputs: &'a [ec_domain::snapshot::InputDigest],
    /// The documents as received: name, size and the sha256 of their bytes.
    received: Vec<ReceivedDocument<'a>>,
    /// The files the sealed bundle will hold; empty for an offline render, which is never
    /// sealed.
    manifest: Vec<ManifestFile>,
    /// Each distinct policy with its thresholds.
    policies: Vec<(&'a str, &'a str)>,
    vex: Vec<VexStatementData<'a>>,
    trail: Vec<TrailRow<'a>>,
    /// Whether the trail's links hold, and its head hash (sealing signs it).
    trail_check: String,
    toc: Vec<TocEntry>,
}

pub(super) fn front<'a>(view: &ReportView<'a>, items: &[Item<'_>]) -> Audit<'a> {
    let snap = view.snapshot;
    let req = &snap.request;
    let scope = match &req.scope {
        ec_domain::Scope::ScanIds(ids) => format!("scans {}", ids.join(", ")),
        ec_domain::Scope::DateRange(r) => {
            format!("scans from {} to {}", human_time(r.from), human_time(r.to))
        }
        ec_domain::Scope::Relative(w) => match &w.resolved {
            Some(r) => format!(
                "scans of the last {} ({} to {})",
                w.last.as_str(),
                human_time(r.from),
                human_time(r.to)
            ),
            None => format!("scans of the last {}", w.last.as_str()),
        },
    };
    let request = vec![
        ("Made by", format!("{TOOL_NAME} {TOOL_VERSION}")),
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
    let mut policies: Vec<(&str, &str)> = snap
        .scans
        .iter()
        .map(|s| {
            (
                s.verdicts.policy.as_str(),
                s.verdicts
                    .thresholds
                    .as_deref()
                    .unwrap_or("not given by the policy service"),
            )
        })
        .collect();
    policies.sort();
    policies.dedup();
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
    if snap.export_id.is_offline() {
        manifest.clear();
    }
    Audit {
        received: received(view),
        policies,
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
        trail: snap
            .audit
            .iter()
            .map(|e| TrailRow {
                seq: e.seq,
                at: &e.at,
                subject: &e.subject,
                action: e.action.as_str(),
                resource: &e.resource,
                status: e.status,
            })
            .collect(),
        trail_check: match ec_domain::audit::verify_chain(&snap.audit) {
            _ if snap.audit.is_empty() => String::new(),
            Ok(r) => format!(
                "Chain {} verified from entry {} to {}; head SHA-256 {}.",
                r.chain, r.first_seq, r.last_seq, r.head_sha256
            ),
            Err(b) => format!("The chain does not verify: {b}."),
        },
        toc: toc(items, 1),
    }
}

/// Artifact → one row per finding with its verdict and VEX decision.
pub(super) fn items<'a>(view: &ReportView<'a>) -> Vec<Item<'a>> {
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
