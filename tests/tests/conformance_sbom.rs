//! Conformance of the SARIF, CycloneDX and SPDX outputs. Every real Trivy and Grype report,
//! and every CycloneDX or SPDX document that carries a scan, is rendered through the offline
//! pipeline (with sample VEX statements added) and checked by third-party validators:
//! jsonschema against the SARIF 2.1.0 schema plus GitHub Code Scanning's rules
//! (`check_sarif.py`), cyclonedx-python-lib's strict CycloneDX 1.5 validator
//! (`check_cyclonedx.py`) and spdx-tools as SPDX-2.3 (`check_spdx.py`). The counts the
//! checkers read back (results, components, packages, vulnerabilities, analyses) must equal
//! the input's, and rendering twice must give the same bytes. Synthetic snapshots push the
//! SARIF writer past GitHub's limits (25,000 results per run, 20 runs, 10 MB gzipped).
//!
//! Run with `EC_PYTHON=<venv>/bin/python cargo test -p ec-tests --test conformance_sbom`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ec_domain::request::ExportRequest;
use ec_domain::scan::{
    Cvss, Finding, Scan, ScannedArtifact, Scanner, Severity, VexStatement, VexStatus,
};
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::{ExportType, Format};
use ec_pipeline::offline::{OfflineRequest, snapshot_from_documents};
use ec_render::view::ReportView;
use ec_tests::{fixtures, handmade, python, repo_root};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const AT: OffsetDateTime = datetime!(2024-12-29 10:30:00 UTC);

/// Runs `tests/python/<script> <files>` once; fails the test with its output unless it
/// exits 0, and returns the JSON counts it prints for each file, in order.
fn check(script: &str, files: &[PathBuf]) -> Vec<Value> {
    run_checker(script, &[], files)
}

fn run_checker(script: &str, flags: &[&str], files: &[PathBuf]) -> Vec<Value> {
    let root = repo_root();
    let out = Command::new(python())
        .arg(root.join("tests/python").join(script))
        .args(flags)
        .args(files)
        .current_dir(&root)
        .output()
        .unwrap_or_else(|e| panic!("running {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let counts: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{script} printed {l:?}: {e}")))
        .collect();
    assert_eq!(counts.len(), files.len(), "{script}: one line per file");
    for (c, f) in counts.iter().zip(files) {
        assert_eq!(
            c["file"].as_str(),
            f.to_str(),
            "{script}: counts out of order"
        );
    }
    counts
}

/// Checks one file.
fn check_one(script: &str, file: &Path) -> Value {
    check(script, &[file.to_path_buf()]).remove(0)
}

/// Checks a large synthetic SARIF file against GitHub's limits, without the JSON Schema.
fn check_limits(file: &Path) -> Value {
    run_checker("check_sarif.py", &["--limits-only"], &[file.to_path_buf()]).remove(0)
}

fn count(v: &Value, key: &str) -> usize {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("no count {key} in {v}")) as usize
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

/// Every real document that yields a scan: scanner reports, and CycloneDX / SPDX BOMs
/// (VEX-only documents carry no scan and are left out).
fn scan_documents() -> Vec<PathBuf> {
    let mut files = fixtures("trivy");
    files.extend(fixtures("grype"));
    files.extend(handmade("grype"));
    for kind in ["cyclonedx", "spdx"] {
        for path in fixtures(kind).into_iter().chain(handmade(kind)) {
            let parsed = ec_ingest::parse_document(&read(&path), &"t".parse().unwrap(), AT)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            if parsed.scan.is_some() {
                files.push(path);
            }
        }
    }
    assert!(
        files.iter().any(|p| p.to_string_lossy().contains("/spdx/"))
            && files
                .iter()
                .any(|p| p.to_string_lossy().contains("/cyclonedx/")),
        "expected CycloneDX and SPDX documents with a scan among {files:?}"
    );
    files
}

fn snapshot(docs: &[Vec<u8>], export_type: ExportType, format: Format) -> Snapshot {
    let req = {
        let mut r = OfflineRequest::new(export_type, format, AT);
        r.template = None;
        r
    };
    let mut snap = snapshot_from_documents(docs, &req)
        .unwrap_or_else(|e| panic!("{export_type} {format}: {e:?}"));
    for inputs in &mut snap.scans {
        inputs.vex.extend(sample_vex(&inputs.scan));
    }
    snap
}

/// Statements about the scan's first findings: not affected (suppresses, with a
/// justification), affected, and fixed for every package (suppresses).
fn sample_vex(scan: &Scan) -> Vec<VexStatement> {
    let statement =
        |f: &Finding, status, justification: Option<&str>, products: bool| VexStatement {
            vulnerability_id: f.vulnerability_id.clone(),
            products: if products {
                f.purl.iter().cloned().collect()
            } else {
                Vec::new()
            },
            status,
            justification: justification.map(str::to_string),
            impact_statement: Some("the vulnerable function is never called".into()),
            action_statement: None,
            timestamp: Some(datetime!(2024-06-01 12:00:00 UTC)),
            source: Some("https://vex.example/doc-1".into()),
        };
    let mut ids = BTreeSet::new();
    let distinct: Vec<&Finding> = scan
        .findings
        .iter()
        .filter(|f| ids.insert(f.vulnerability_id.clone()))
        .take(3)
        .collect();
    let mut out = Vec::new();
    if let Some(f) = distinct.first() {
        out.push(statement(
            f,
            VexStatus::NotAffected,
            Some("vulnerable_code_not_in_execute_path"),
            true,
        ));
    }
    if let Some(f) = distinct.get(1) {
        out.push(statement(f, VexStatus::Affected, None, true));
    }
    if let Some(f) = distinct.get(2) {
        out.push(statement(f, VexStatus::Fixed, None, false));
    }
    out
}

/// Renders twice, checks the bytes are identical and writes them.
fn render_to(snap: &Snapshot, dir: &Path, name: &str) -> PathBuf {
    let first = ec_render::render(snap).unwrap_or_else(|e| panic!("{name}: {e}"));
    let again = ec_render::render(snap).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(
        first == again,
        "{name}: rendering twice gave different bytes"
    );
    let path = dir.join(name);
    std::fs::write(&path, &first).unwrap_or_else(|e| panic!("writing {name}: {e}"));
    path
}

/// What the view says a document must hold.
struct Expected {
    findings: usize,
    suppressed: usize,
    components: usize,
    /// Distinct (vulnerability id, statement in force) over the listed findings.
    vulnerabilities: usize,
    vulnerability_ids: usize,
    analyses: usize,
    /// Distinct (scan, package, where found, vulnerability id).
    advisories: usize,
}

fn expected(snap: &Snapshot, only_with_vex: bool) -> Expected {
    let view = ReportView::new(snap);
    let rows: Vec<_> = view
        .findings
        .iter()
        .filter(|r| !only_with_vex || r.vex.is_some())
        .collect();
    let groups: BTreeSet<(String, Option<String>)> = rows
        .iter()
        .map(|r| {
            (
                r.finding.vulnerability_id.clone(),
                r.vex.map(|v| serde_json::to_string(v).expect("statement")),
            )
        })
        .collect();
    let advisories: BTreeSet<_> = rows
        .iter()
        .map(|r| {
            let f = r.finding;
            (
                r.scan.scan_id.clone(),
                f.purl
                    .clone()
                    .unwrap_or_else(|| format!("{}@{}", f.package, f.installed_version)),
                f.target.clone(),
                f.vulnerability_id.clone(),
            )
        })
        .collect();
    Expected {
        findings: rows.len(),
        suppressed: rows.iter().filter(|r| r.suppressed()).count(),
        components: view.components.len(),
        vulnerabilities: groups.len(),
        vulnerability_ids: groups.iter().map(|g| &g.0).collect::<BTreeSet<_>>().len(),
        analyses: groups.iter().filter(|g| g.1.is_some()).count(),
        advisories: advisories.len(),
    }
}

/// One rendered document and what it must hold.
struct Case {
    name: String,
    export_type: ExportType,
    file: PathBuf,
    want: Expected,
    /// The scan's document gave a dependency graph.
    dependencies: bool,
    artifact: String,
}

fn case(dir: &Path, name: &str, docs: &[Vec<u8>], t: ExportType, f: Format, file: &str) -> Case {
    let snap = snapshot(docs, t, f);
    let scan = &snap.scans[0].scan;
    Case {
        name: format!("{name} ({t} {f})"),
        export_type: t,
        file: render_to(&snap, dir, file),
        want: expected(&snap, t == ExportType::Vex),
        dependencies: !scan.dependencies.is_empty(),
        artifact: scan.artifact.name.clone(),
    }
}

/// Runs the checker once over every case and pairs each case with its counts.
/// Issue 13, defect 3: every rule's `security-severity` lies in GitHub's band of its
/// severity (the rule's second tag); negligible and unknown rules have none and are notes.
fn assert_bands_follow_severity(name: &str, file: &Path) {
    let doc: Value =
        serde_json::from_slice(&std::fs::read(file).expect("read SARIF")).expect("JSON");
    for run in doc["runs"].as_array().expect("runs") {
        for rule in run["tool"]["driver"]["rules"].as_array().expect("rules") {
            let severity = rule["properties"]["tags"][1].as_str().unwrap_or_default();
            let score = rule["properties"]["security-severity"].as_str();
            let band = score.and_then(|s| s.parse::<f64>().ok()).map(|s| match s {
                s if s >= 9.0 => "critical",
                s if s >= 7.0 => "high",
                s if s >= 4.0 => "medium",
                s if s >= 0.1 => "low",
                _ => "none",
            });
            match severity {
                "negligible" | "unknown" => {
                    assert_eq!(band, None, "{name}: {}", rule["id"]);
                    assert_eq!(
                        rule["defaultConfiguration"]["level"], "note",
                        "{name}: {}",
                        rule["id"]
                    );
                }
                s => assert_eq!(band, Some(s), "{name}: {} ({score:?})", rule["id"]),
            }
        }
    }
}

fn checked<'c>(script: &str, cases: &'c [Case]) -> Vec<(&'c Case, Value)> {
    let files: Vec<PathBuf> = cases.iter().map(|c| c.file.clone()).collect();
    cases.iter().zip(check(script, &files)).collect()
}

#[test]
fn every_scan_document_renders_to_valid_sarif_cyclonedx_and_spdx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let (mut sarif, mut cdx, mut cdx_sbom, mut cdx_vex, mut spdx) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for path in scan_documents() {
        let n = stem(&path);
        let docs = vec![read(&path)];
        use ExportType::*;
        sarif.push(case(
            d,
            &n,
            &docs,
            ScanReport,
            Format::Sarif,
            &format!("{n}.sarif"),
        ));
        cdx.push(case(
            d,
            &n,
            &docs,
            ScanReport,
            Format::Cyclonedx,
            &format!("{n}.cdx.json"),
        ));
        cdx_sbom.push(case(
            d,
            &n,
            &docs,
            Sbom,
            Format::Cyclonedx,
            &format!("{n}.sbom.cdx.json"),
        ));
        cdx_vex.push(case(
            d,
            &n,
            &docs,
            Vex,
            Format::Cyclonedx,
            &format!("{n}.vex.cdx.json"),
        ));
        for t in [ScanReport, Sbom] {
            spdx.push(case(
                d,
                &n,
                &docs,
                t,
                Format::Spdx,
                &format!("{n}.{t}.spdx.json"),
            ));
        }
    }

    for (c, got) in checked("check_sarif.py", &sarif) {
        let (name, want) = (&c.name, &c.want);
        assert_bands_follow_severity(name, &c.file);
        assert_eq!(
            count(&got, "results"),
            want.findings,
            "{name}: SARIF results"
        );
        assert_eq!(
            count(&got, "suppressed"),
            want.suppressed,
            "{name}: suppressed"
        );
        assert_eq!(count(&got, "runs"), 1, "{name}: one run per scan");
        assert_eq!(
            count(&got, "omitted_results"),
            0,
            "{name}: nothing truncated"
        );
        assert_eq!(
            count(&got, "rules"),
            want.vulnerability_ids,
            "{name}: a rule per id"
        );
        if want.findings > 0 {
            assert!(
                want.suppressed > 0,
                "{name}: the sample VEX suppresses something"
            );
        }
    }

    let cdx_all: Vec<Case> = cdx.into_iter().chain(cdx_sbom).chain(cdx_vex).collect();
    for (c, got) in checked("check_cyclonedx.py", &cdx_all) {
        let (name, want) = (&c.name, &c.want);
        let bom: Value = serde_json::from_slice(&read(&c.file)).expect("BOM");
        assert_eq!(
            bom["metadata"]["timestamp"], "2024-12-29T10:30:00Z",
            "{name}"
        );
        assert_eq!(
            bom["metadata"]["component"]["name"],
            c.artifact.as_str(),
            "{name}"
        );
        let dependencies = count(&got, "dependencies");
        let expected_dependencies = if c.dependencies {
            1 + count(&got, "components")
        } else {
            1
        };
        assert_eq!(
            dependencies, expected_dependencies,
            "{name}: dependency entries"
        );
        match c.export_type {
            ExportType::Sbom => {
                assert_eq!(
                    count(&got, "components"),
                    want.components,
                    "{name}: components"
                );
                assert_eq!(
                    count(&got, "vulnerabilities"),
                    0,
                    "{name}: no vulnerabilities"
                );
            }
            ExportType::Vex => {
                assert_eq!(
                    count(&got, "vulnerabilities"),
                    want.vulnerabilities,
                    "{name}"
                );
                assert_eq!(
                    count(&got, "analyses"),
                    want.vulnerabilities,
                    "{name}: analysed"
                );
                assert_eq!(count(&got, "affects"), want.advisories, "{name}: affects");
            }
            _ => {
                assert_eq!(
                    count(&got, "components"),
                    want.components,
                    "{name}: components"
                );
                assert_eq!(
                    count(&got, "vulnerabilities"),
                    want.vulnerabilities,
                    "{name}"
                );
                assert_eq!(
                    count(&got, "vulnerability_ids"),
                    want.vulnerability_ids,
                    "{name}"
                );
                assert_eq!(count(&got, "analyses"), want.analyses, "{name}: analyses");
                assert_eq!(count(&got, "affects"), want.advisories, "{name}: affects");
            }
        }
    }

    for (c, got) in checked("check_spdx.py", &spdx) {
        let (name, want) = (&c.name, &c.want);
        assert_eq!(got["spdx_version"], "SPDX-2.3", "{name}");
        assert_eq!(count(&got, "described"), 1, "{name}: one root per scan");
        assert_eq!(
            count(&got, "packages"),
            want.components + 1,
            "{name}: packages"
        );
        assert_eq!(count(&got, "contains"), want.components, "{name}: CONTAINS");
        assert_eq!(
            count(&got, "advisories"),
            want.advisories,
            "{name}: advisories"
        );
        if c.dependencies {
            assert!(
                count(&got, "depends_on") > 0,
                "{name}: DEPENDS_ON from the input"
            );
        }
    }
}

#[test]
fn documents_are_stable_across_snapshot_builds() {
    let docs: Vec<Vec<u8>> = scan_documents().iter().map(|p| read(p)).collect();
    for format in [Format::Sarif, Format::Cyclonedx, Format::Spdx] {
        let a = ec_render::render(&snapshot(&docs, ExportType::ScanReport, format));
        let b = ec_render::render(&snapshot(&docs, ExportType::ScanReport, format));
        let (a, b) = (a.expect("render"), b.expect("render"));
        assert!(
            a == b,
            "{format}: two snapshots of the same documents differ"
        );
    }
}

#[test]
fn multi_scan_exports_with_vex_documents_validate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let mut docs: Vec<Vec<u8>> = scan_documents().iter().map(|p| read(p)).collect();
    // VEX documents apply to every scan, as the tenant's stored VEX does.
    for kind in ["openvex", "csaf", "cyclonedx"] {
        for path in fixtures(kind) {
            let bytes = read(&path);
            let parsed =
                ec_ingest::parse_document(&bytes, &"t".parse().unwrap(), AT).expect("VEX document");
            if parsed.scan.is_none() {
                docs.push(bytes);
            }
        }
    }

    let snap = snapshot(&docs, ExportType::ScanReport, Format::Sarif);
    let scans = snap.scans.len();
    let want = expected(&snap, false);
    let sarif = render_to(&snap, d, "all.sarif");

    let snap = snapshot(&docs, ExportType::ScanReport, Format::Cyclonedx);
    let want_cdx = expected(&snap, false);
    let cdx = render_to(&snap, d, "all.cdx.json");
    let snap = snapshot(&docs, ExportType::Vex, Format::Cyclonedx);
    let want_vex = expected(&snap, true);
    let vex = render_to(&snap, d, "all.vex.cdx.json");

    let snap = snapshot(&docs, ExportType::ScanReport, Format::Spdx);
    let want_spdx = expected(&snap, false);
    let spdx = render_to(&snap, d, "all.spdx.json");

    let got = check_one("check_sarif.py", &sarif);
    assert_eq!(count(&got, "runs"), scans, "one run per scan");
    assert_eq!(count(&got, "results"), want.findings);
    assert_eq!(count(&got, "suppressed"), want.suppressed);

    let got = check("check_cyclonedx.py", &[cdx, vex]);
    assert_eq!(
        count(&got[0], "artifacts"),
        scans + 1,
        "a root and a component per scan"
    );
    assert_eq!(count(&got[0], "components"), want_cdx.components);
    assert_eq!(count(&got[0], "vulnerabilities"), want_cdx.vulnerabilities);
    assert_eq!(count(&got[0], "analyses"), want_cdx.analyses);
    assert_eq!(count(&got[1], "vulnerabilities"), want_vex.vulnerabilities);
    assert_eq!(count(&got[1], "analyses"), want_vex.vulnerabilities);

    let got = check_one("check_spdx.py", &spdx);
    assert_eq!(count(&got, "described"), scans);
    assert_eq!(count(&got, "packages"), want_spdx.components + scans);
    assert_eq!(count(&got, "advisories"), want_spdx.advisories);
}

// --- GitHub's SARIF limits, on synthetic snapshots ----------------------------------------

const SEVERITIES: [Severity; 5] = [
    Severity::Critical,
    Severity::High,
    Severity::Medium,
    Severity::Low,
    Severity::Negligible,
];

fn finding(i: usize, id: String, severity: Severity, description: Option<String>) -> Finding {
    Finding {
        vulnerability_id: id,
        aliases: Vec::new(),
        package: format!("pkg-{i}"),
        package_type: Some("npm".into()),
        purl: Some(format!("pkg:npm/pkg-{i}@1.0.{i}")),
        installed_version: format!("1.0.{i}"),
        fixed_version: Some(format!("1.1.{i}")),
        severity,
        cvss: Vec::<Cvss>::new(),
        title: Some(format!("Issue in pkg-{i}").into()),
        description: description.map(Into::into),
        references: Vec::new(),
        status: None,
        target: Some(format!("services/app-{}/package-lock.json", i % 7)),
        cwes: Vec::new(),
        details: Default::default(),
    }
}

fn synthetic_scan(n: usize, findings: Vec<Finding>) -> ScanInputs {
    let mut scan = Scan {
        scan_id: format!("scan-{n:04}").parse().unwrap(),
        tenant_id: "acme".parse().unwrap(),
        artifact: ScannedArtifact {
            name: format!("registry.example/app-{n}:1.0"),
            kind: "container_image".into(),
            digest: None,
            os: None,
        },
        scanner: Scanner {
            name: "trivy".into(),
            version: Some("0.50.0".into()),
        },
        source_format: "trivy".into(),
        scanned_at: AT,
        ingested_at: AT,
        scanned_at_known: true,
        assessed: true,
        document_sha256: ec_domain::ids::sha256_hex(format!("doc-{n}").as_bytes()),
        document_name: None,
        document_size: None,
        components: Vec::new(),
        dependencies: Vec::new(),
        findings,
    };
    scan.normalise();
    let verdicts = ec_domain::policy::evaluate(&Default::default(), &scan, &[]);
    ScanInputs {
        scan,
        verdicts,
        vex: Vec::new(),
        sbom: None,
    }
}

fn sarif_snapshot(scans: Vec<ScanInputs>) -> Snapshot {
    let ids: Vec<String> = scans.iter().map(|s| s.scan.scan_id.to_string()).collect();
    let body = json!({"type": "scan_report", "format": "sarif", "scope": {"scan_ids": ids}});
    let req = ExportRequest::from_json(&body, "acme").unwrap_or_else(|e| panic!("{e:?}"));
    Snapshot::new(
        "exp-limits".parse().unwrap(),
        "acme".parse().unwrap(),
        req,
        "alice".into(),
        AT,
        scans,
    )
}

fn sarif_runs(path: &Path) -> Vec<Value> {
    let doc: Value = serde_json::from_slice(&read(path)).expect("SARIF");
    doc["runs"].as_array().cloned().expect("runs")
}

#[test]
fn sarif_splits_a_scan_over_25000_results_into_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 25_001;
    let findings = (0..n)
        .map(|i| {
            finding(
                i,
                format!("CVE-2024-{:05}", i % 40),
                SEVERITIES[i % 5],
                None,
            )
        })
        .collect();
    let snap = sarif_snapshot(vec![synthetic_scan(1, findings)]);
    let path = render_to(&snap, dir.path(), "split.sarif");
    let got = check_limits(&path);
    assert_eq!(count(&got, "runs"), 2);
    assert_eq!(count(&got, "results"), n);
    assert_eq!(count(&got, "omitted_results"), 0);
    let runs = sarif_runs(&path);
    let sizes: Vec<usize> = runs
        .iter()
        .map(|r| r["results"].as_array().map_or(0, Vec::len))
        .collect();
    assert_eq!(sizes, vec![25_000, 1]);
    assert_eq!(
        runs[1]["properties"]["exportcenter.part"],
        json!({"index": 2, "of": 2})
    );
}

#[test]
fn sarif_keeps_the_most_severe_results_within_20_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 23 scans with one finding each (the last three the least severe) and two clean scans.
    let mut scans: Vec<ScanInputs> = (0..23)
        .map(|n| {
            let severity = if n >= 20 {
                Severity::Low
            } else {
                Severity::High
            };
            synthetic_scan(
                n,
                vec![finding(n, format!("CVE-2024-{n:05}"), severity, None)],
            )
        })
        .collect();
    scans.push(synthetic_scan(23, Vec::new()));
    scans.push(synthetic_scan(24, Vec::new()));
    let snap = sarif_snapshot(scans);
    let path = render_to(&snap, dir.path(), "runs.sarif");
    let got = check_one("check_sarif.py", &path);
    assert_eq!(count(&got, "runs"), 20);
    assert_eq!(count(&got, "results"), 20);
    assert_eq!(count(&got, "omitted_results"), 3);
    assert_eq!(
        got["levels"],
        json!({"error": 20}),
        "the three low results were dropped"
    );
    let runs = sarif_runs(&path);
    let truncated = &runs[0]["properties"]["exportcenter.truncated"];
    assert_eq!(truncated["omitted_results_in_file"], 3);
    assert_eq!(
        truncated["omitted_scans"],
        json!(["scan-0020", "scan-0021", "scan-0022"])
    );
}

#[test]
fn sarif_stays_under_10_mb_gzipped() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Hard-to-compress descriptions (chained hashes), one rule each: about 12 MB gzipped.
    let n = 3_000;
    let mut seed = ec_domain::ids::sha256_hex(b"seed");
    let findings: Vec<Finding> = (0..n)
        .map(|i| {
            let mut text = String::new();
            while text.len() < 8_000 {
                seed = ec_domain::ids::sha256_hex(seed.as_bytes());
                text.push_str(&seed);
            }
            finding(
                i,
                format!("GHSA-{i:04}-xxxx-yyyy"),
                SEVERITIES[i % 5],
                Some(text),
            )
        })
        .collect();
    let snap = sarif_snapshot(vec![synthetic_scan(1, findings)]);
    let path = render_to(&snap, dir.path(), "size.sarif");
    let got = check_limits(&path);
    let kept = count(&got, "results");
    let omitted = count(&got, "omitted_results");
    assert!(
        omitted > 0,
        "the synthetic file must have been over the limit"
    );
    assert_eq!(kept + omitted, n);
    assert!(count(&got, "gzip_bytes") <= 10 * 1024 * 1024);
    // Nothing left out is more severe than anything kept.
    let kept_ids: BTreeSet<String> = sarif_runs(&path)
        .iter()
        .flat_map(|r| r["results"].as_array().cloned().unwrap_or_default())
        .filter_map(|r| r["ruleId"].as_str().map(str::to_string))
        .collect();
    let scan = &snap.scans[0].scan;
    let least_kept = scan
        .findings
        .iter()
        .filter(|f| kept_ids.contains(&f.vulnerability_id))
        .map(|f| f.severity)
        .max();
    let worst_dropped = scan
        .findings
        .iter()
        .filter(|f| !kept_ids.contains(&f.vulnerability_id))
        .map(|f| f.severity)
        .min();
    assert!(
        least_kept <= worst_dropped,
        "{least_kept:?} kept, {worst_dropped:?} dropped"
    );
}
