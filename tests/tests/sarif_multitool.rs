//! Microsoft's SARIF Multitool with GitHub's ingestion rules on every SARIF output (issue 13,
//! "Proof"): every real scan document (Trivy, Grype, CycloneDX and SPDX with a scan, plus the
//! hand-made Grype shapes) is rendered to SARIF in-process, with one finding of each scan
//! suppressed by a VEX statement so `suppressions` are checked too, and all of them in one
//! multi-run document; `Sarif.Multitool validate --rule-kind "Gh;Sarif"` must report no
//! error for any of them. The tool exits 0 whatever it finds, so the test reads its output
//! log (itself SARIF) and counts the error-level results per file. A deliberately broken copy
//! (a result without locations, a rule index out of range) goes through the same run and must
//! be reported, so the test cannot pass by not looking.
//!
//! The Multitool comes from the npm registry (`tests/node/package.json`, pinned in its lock
//! file); the test command installs it and sets `EC_NODE_MODULES`. Without it the test fails.
//! Run with `EC_NODE_MODULES=$PWD/tests/node/node_modules cargo test -p ec-tests --test
//! sarif_multitool`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ec_domain::scan::{Scan, VexStatement, VexStatus};
use ec_domain::snapshot::Snapshot;
use ec_domain::{ExportType, Format};
use ec_pipeline::offline::{OfflineRequest, snapshot_from_documents};
use ec_tests::{fixtures, handmade, node_module_main};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2024-12-29 10:30:00 UTC);

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Every real (and hand-made) document that yields a scan.
fn scan_documents() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for kind in ["trivy", "grype", "cyclonedx", "spdx"] {
        for path in fixtures(kind).into_iter().chain(handmade(kind)) {
            let parsed = ec_ingest::parse_document(&read(&path), &"t".parse().unwrap(), AT)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if parsed.scan.is_some() {
                files.push(path);
            }
        }
    }
    files
}

/// Suppresses the scan's first finding (not affected), so the output carries suppressions.
fn suppress_first(scan: &Scan) -> Vec<VexStatement> {
    scan.findings
        .first()
        .map(|f| VexStatement {
            vulnerability_id: f.vulnerability_id.clone(),
            products: f.purl.iter().cloned().collect(),
            status: VexStatus::NotAffected,
            justification: Some("vulnerable_code_not_in_execute_path".into()),
            impact_statement: Some("the vulnerable function is never called".into()),
            action_statement: None,
            timestamp: Some(datetime!(2024-06-01 12:00:00 UTC)),
            source: Some("https://vex.example/doc-1".into()),
        })
        .into_iter()
        .collect()
}

fn render_sarif(docs: &[Vec<u8>], dir: &Path, name: &str) -> PathBuf {
    let req = OfflineRequest::new(ExportType::ScanReport, Format::Sarif, AT);
    let mut snap: Snapshot =
        snapshot_from_documents(docs, &req).unwrap_or_else(|e| panic!("{name}: {e:?}"));
    for inputs in &mut snap.scans {
        let extra = suppress_first(&inputs.scan);
        inputs.vex.extend(extra);
    }
    let bytes = ec_render::render(&snap).unwrap_or_else(|e| panic!("{name}: {e}"));
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("writing {name}: {e}"));
    path
}

/// A copy of `good` that GitHub would refuse: its first result has no location and points
/// at a rule that does not exist.
fn broken_copy(good: &Path, dir: &Path) -> PathBuf {
    let mut doc: Value = serde_json::from_slice(&read(good)).expect("SARIF is JSON");
    let result = &mut doc["runs"][0]["results"][0];
    assert!(result.is_object(), "{}: no result to break", good.display());
    result.as_object_mut().map(|r| r.remove("locations"));
    result["ruleIndex"] = Value::from(100_000);
    let path = dir.join("broken.sarif");
    std::fs::write(&path, serde_json::to_vec(&doc).expect("JSON")).expect("write");
    path
}

/// What the Multitool reported: error-level results per analysed file (by file name), and
/// the number of files it says it scanned.
struct Report {
    errors: BTreeMap<String, Vec<String>>,
    scanned: usize,
}

fn multitool_validate(files: &[PathBuf], dir: &Path) -> Report {
    let tool = node_module_main("@microsoft/sarif-multitool");
    let log = dir.join("multitool-log.sarif");
    let out = Command::new(&tool)
        .args(["validate", "--rule-kind", "Gh;Sarif", "--output"])
        .arg(&log)
        .args(files)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", tool.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "Sarif.Multitool failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&read(&log))
        .unwrap_or_else(|e| panic!("the Multitool's log is not JSON ({e}); it printed:\n{stdout}"));
    let run = &doc["runs"][0];
    assert_eq!(
        run["invocations"][0]["executionSuccessful"],
        Value::Bool(true),
        "the Multitool did not finish its analysis:\n{stdout}"
    );
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in run["results"].as_array().expect("results array") {
        if r["level"].as_str().unwrap_or("warning") != "error" {
            continue;
        }
        let uri = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or("?");
        let file = uri.rsplit('/').next().unwrap_or(uri).to_string();
        let args = r["message"]["arguments"].to_string();
        errors
            .entry(file)
            .or_default()
            .push(format!("{} {args}", r["ruleId"].as_str().unwrap_or("?")));
    }
    // "Done. 12 files scanned." — so a file the tool skipped cannot pass unseen.
    let scanned = stdout
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Done. ")?
                .split(' ')
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no \"Done. N files scanned.\" in:\n{stdout}"));
    Report { errors, scanned }
}

#[test]
fn every_sarif_output_passes_the_multitool_with_githubs_rules() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let documents = scan_documents();
    assert!(
        documents.len() >= 10,
        "expected the real Trivy, Grype, CycloneDX and SPDX fixtures, got {documents:?}"
    );
    let mut outputs: Vec<PathBuf> = documents
        .iter()
        .map(|p| {
            let stem = p.file_stem().and_then(|s| s.to_str()).unwrap_or("fixture");
            render_sarif(&[read(p)], d, &format!("{stem}.sarif"))
        })
        .collect();
    let all: Vec<Vec<u8>> = documents.iter().map(|p| read(p)).collect();
    outputs.push(render_sarif(&all, d, "all-fixtures.sarif"));
    let broken = broken_copy(&outputs[0], d);

    let mut files = outputs.clone();
    files.push(broken);
    let report = multitool_validate(&files, d);
    assert_eq!(report.scanned, files.len(), "files the Multitool scanned");

    // The check can fail: the broken copy is reported, for both defects.
    let found = report
        .errors
        .get("broken.sarif")
        .cloned()
        .unwrap_or_default();
    assert!(
        found.iter().any(|e| e.starts_with("GH")) && found.iter().any(|e| e.starts_with("SARIF")),
        "the broken copy should fail GitHub's and SARIF's rules, got {found:?}"
    );
    for out in &outputs {
        let name = out.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        let errors = report.errors.get(name).cloned().unwrap_or_default();
        assert!(
            errors.is_empty(),
            "{name}: the SARIF Multitool (Gh;Sarif) found {} error(s):\n{}",
            errors.len(),
            errors.join("\n")
        );
    }
}
