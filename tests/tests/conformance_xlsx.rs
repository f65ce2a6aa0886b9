//! Conformance of the XLSX report: every vendored Trivy and Grype report, read into a
//! snapshot the way `exportctl render` does (`ec_pipeline::offline`), rendered as a workbook
//! and read back with openpyxl (`tests/python/check_xlsx.py`): the five sheets in order,
//! bold frozen headers, autofilters over exactly the data, one row per finding, component,
//! VEX statement and verdict, formula-like text kept as text, http(s) references as links.
//!
//! Run with `EC_PYTHON=<venv>/bin/python cargo test -p ec-tests --test conformance_xlsx`.

use std::path::{Path, PathBuf};
use std::process::Command;

use ec_domain::policy::{PolicyConfig, evaluate};
use ec_domain::scan::{VexStatement, VexStatus};
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::{ExportType, Format};
use ec_pipeline::offline::{OfflineRequest, snapshot_from_documents};
use ec_tests::{fixtures, python, repo_root};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2024-12-29 10:30:00 UTC);
const SHEETS: [&str; 5] = ["Summary", "Findings", "Components", "VEX", "Verdicts"];

fn scanner_fixtures() -> Vec<PathBuf> {
    let mut files = fixtures("trivy");
    files.extend(fixtures("grype"));
    assert!(files.len() >= 2, "no Trivy/Grype fixtures found");
    files
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("fixture")
        .to_string()
}

/// The snapshot `exportctl render --type <export_type> --format xlsx` renders.
fn offline_snapshot(paths: &[PathBuf], export_type: ExportType) -> Snapshot {
    let docs: Vec<Vec<u8>> = paths.iter().map(|p| read(p)).collect();
    let req = {
        let mut r = OfflineRequest::new(export_type, Format::Xlsx, AT);
        r.template = None;
        r
    };
    snapshot_from_documents(&docs, &req).unwrap_or_else(|e| panic!("{paths:?}: {e:?}"))
}

/// The same snapshot with each scan's inputs changed by `edit` and its verdicts re-evaluated.
fn edited(snap: &Snapshot, edit: impl Fn(&mut ScanInputs)) -> Snapshot {
    let scans = snap
        .scans
        .iter()
        .cloned()
        .map(|mut inputs| {
            edit(&mut inputs);
            inputs.verdicts = evaluate(&PolicyConfig::default(), &inputs.scan, &inputs.vex);
            inputs
        })
        .collect();
    Snapshot::new(
        snap.export_id.clone(),
        snap.tenant_id.clone(),
        snap.request.clone(),
        snap.requested_by.clone(),
        snap.generated_at,
        scans,
    )
}

/// Renders twice and checks the bytes are identical.
fn render(snap: &Snapshot) -> Vec<u8> {
    let first = ec_render::render(snap).unwrap_or_else(|e| panic!("render: {e}"));
    let again = ec_render::render(snap).unwrap_or_else(|e| panic!("render: {e}"));
    assert!(
        first == again,
        "rendering the same snapshot twice gave different bytes"
    );
    assert!(first.starts_with(b"PK\x03\x04"), "not a zip container");
    first
}

fn lists_findings(snap: &Snapshot) -> bool {
    snap.request.export_type != ExportType::Sbom
}

/// Data rows each sheet must hold, counted from the snapshot itself.
fn expected_rows(snap: &Snapshot) -> Value {
    let findings: usize = if lists_findings(snap) {
        snap.scans.iter().map(|s| s.scan.findings.len()).sum()
    } else {
        0
    };
    let components: usize = snap
        .scans
        .iter()
        .map(|s| {
            s.sbom
                .as_ref()
                .map_or(s.scan.components.len(), |b| b.components.len())
        })
        .sum();
    let statements: usize = snap.scans.iter().map(|s| s.vex.len()).sum();
    // One row per scan decision, plus one per listed finding that has a verdict.
    let verdicts: usize = snap
        .scans
        .iter()
        .map(|s| {
            let with_verdict = s
                .scan
                .findings
                .iter()
                .filter(|f| {
                    s.verdicts.findings.iter().any(|v| {
                        v.vulnerability_id == f.vulnerability_id
                            && v.package == f.package
                            && v.installed_version == f.installed_version
                    })
                })
                .count();
            1 + if lists_findings(snap) {
                with_verdict
            } else {
                0
            }
        })
        .sum();
    json!({
        "Findings": findings,
        "Components": components,
        "VEX": statements,
        "Verdicts": verdicts,
    })
}

/// Findings whose first reference Excel can take as a hyperlink.
fn expected_links(snap: &Snapshot) -> usize {
    if !lists_findings(snap) {
        return 0;
    }
    snap.scans
        .iter()
        .flat_map(|s| &s.scan.findings)
        .filter(|f| {
            f.references.first().is_some_and(|r| {
                (r.starts_with("https://") || r.starts_with("http://")) && r.len() <= 255
            })
        })
        .count()
        .min(65_530)
}

fn check_xlsx(dir: &Path, name: &str, snap: &Snapshot, literals: Value) {
    let xlsx = dir.join(format!("{name}.xlsx"));
    std::fs::write(&xlsx, render(snap)).expect("write xlsx");
    let rows = expected_rows(snap);
    let expect = json!({
        "sheets": SHEETS,
        "rows": rows,
        "links": { "Findings": expected_links(snap) },
        "literals": literals,
        "summary": {
            "Export ID": snap.export_id,
            "Tenant": snap.tenant_id,
            "Type": snap.request.export_type.as_str(),
            "Scans in scope": snap.scans.len(),
            "Findings": rows["Findings"],
            "Components": rows["Components"],
            "VEX statements": rows["VEX"],
        },
    });
    let expect_path = dir.join(format!("{name}.expect.json"));
    std::fs::write(&expect_path, expect.to_string()).expect("write expectations");

    let root = repo_root();
    let out = Command::new(python())
        .arg(root.join("tests/python/check_xlsx.py"))
        .arg(&xlsx)
        .arg(&expect_path)
        .current_dir(&root)
        .output()
        .expect("running check_xlsx.py");
    assert!(
        out.status.success(),
        "check_xlsx.py {name} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_scanner_report_renders_to_a_valid_workbook() {
    let dir = tempfile::tempdir().expect("tempdir");
    for path in scanner_fixtures() {
        let snap = offline_snapshot(std::slice::from_ref(&path), ExportType::ScanReport);
        assert!(
            snap.finding_count() > 0,
            "{}: fixture without findings",
            path.display()
        );
        check_xlsx(dir.path(), &stem(&path), &snap, json!([]));
    }
}

/// All scans in one workbook, with VEX statements and cells a spreadsheet would run as
/// formulas if they were written as such.
#[test]
fn multi_scan_workbook_with_vex_keeps_formula_text_literal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let snap = offline_snapshot(&scanner_fixtures(), ExportType::ScanReport);
    let title = r#"=HYPERLINK("https://evil.example/","click")"#;
    let first_scan = snap.scans[0].scan.scan_id.clone();
    let snap = edited(&snap, |inputs| {
        let Some(f) = inputs.scan.findings.first_mut() else {
            return;
        };
        if inputs.scan.scan_id == first_scan {
            f.title = Some(title.into());
            f.fixed_version = Some("+1.2.3".into());
            f.status = Some("@SUM(A1)".into());
            f.references = vec!["-x".into(), "https://example.com/advisory".into()];
        }
        inputs.vex = vec![VexStatement {
            vulnerability_id: f.vulnerability_id.clone(),
            products: f.purl.clone().into_iter().collect(),
            status: VexStatus::NotAffected,
            justification: Some("-the function is never called".into()),
            impact_statement: Some("=1+1".into()),
            action_statement: None,
            timestamp: Some(AT),
            source: Some("https://vex.example/doc-1".into()),
        }];
    });
    let literals = json!([
        { "sheet": "Findings", "column": "title", "value": title },
        { "sheet": "Findings", "column": "fixed_version", "value": "+1.2.3" },
        { "sheet": "Findings", "column": "status", "value": "@SUM(A1)" },
        { "sheet": "Findings", "column": "reference", "value": "-x" },
        { "sheet": "VEX", "column": "justification", "value": "-the function is never called" },
        { "sheet": "VEX", "column": "impact_statement", "value": "=1+1" },
    ]);
    assert_eq!(
        expected_rows(&snap)["VEX"].as_u64(),
        Some(snap.scans.len() as u64)
    );
    check_xlsx(dir.path(), "multi", &snap, literals);
}

/// SBOM and VEX exports still have all five sheets; the SBOM one lists no findings, so its
/// Findings sheet is only the header and its Verdicts sheet only the scan decisions.
#[test]
fn sbom_and_vex_exports_keep_every_sheet() {
    let dir = tempfile::tempdir().expect("tempdir");
    let fixtures = scanner_fixtures();
    let sbom = offline_snapshot(&fixtures, ExportType::Sbom);
    assert_eq!(expected_rows(&sbom)["Findings"], 0);
    check_xlsx(dir.path(), "sbom", &sbom, json!([]));

    let vex = offline_snapshot(&fixtures, ExportType::Vex);
    check_xlsx(dir.path(), "vex", &vex, json!([]));
}
