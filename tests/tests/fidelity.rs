//! No field lost on the way (issue 13): for every real fixture (and the hand-made ones), the
//! number of findings that carry a field in the parsed input equals the number of rows that
//! carry it in each tabular output (CSV, and XLSX read back by openpyxl).

use std::path::{Path, PathBuf};

use serde_json::Value;

use ec_domain::Format;
use ec_domain::scan::Finding;
use ec_domain::snapshot::Snapshot;
use ec_tests::{handmade, offline_snapshot, python, scanner_documents};

fn documents() -> Vec<PathBuf> {
    scanner_documents()
}

fn snapshot(doc: &Path, format: Format) -> Snapshot {
    offline_snapshot(doc, format)
}

/// The fields checked, each with how to tell that a parsed finding carries it.
type Has = fn(&Finding) -> bool;
const FIELDS: &[(&str, Has)] = &[
    ("description", |f: &Finding| {
        f.description
            .as_deref()
            .is_some_and(|d| !d.trim().is_empty())
    }),
    ("cwes", |f: &Finding| !f.cwes.is_empty()),
    ("published", |f: &Finding| f.details.published.is_some()),
    ("modified", |f: &Finding| f.details.modified.is_some()),
    ("severity_source", |f: &Finding| {
        f.details.severity_source.is_some()
    }),
    ("vendor_severity", |f: &Finding| {
        !f.details.vendor_severity.is_empty()
    }),
    ("layer", |f: &Finding| f.details.layer.is_some()),
    ("epss", |f: &Finding| f.details.epss.is_some()),
    ("known_exploited", |f: &Finding| f.details.known_exploited),
];

fn input_counts(snap: &Snapshot) -> Vec<usize> {
    FIELDS
        .iter()
        .map(|(_, has)| {
            snap.scans
                .iter()
                .flat_map(|s| s.scan.findings.iter())
                .filter(|f| has(f))
                .count()
        })
        .collect()
}

/// Non-empty cells per named column of a CSV findings table.
fn csv_counts(bytes: &[u8]) -> Vec<usize> {
    let mut r = csv::Reader::from_reader(bytes);
    let header: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    let cols: Vec<usize> = FIELDS
        .iter()
        .map(|(name, _)| {
            header
                .iter()
                .position(|h| h == name)
                .unwrap_or_else(|| panic!("no {name} column in {header:?}"))
        })
        .collect();
    let mut counts = vec![0; FIELDS.len()];
    for row in r.records() {
        let row = row.expect("row");
        for (i, c) in cols.iter().enumerate() {
            if row.get(*c).is_some_and(|v| !v.trim().is_empty()) {
                counts[i] += 1;
            }
        }
    }
    counts
}

/// Non-empty cells per named column of the XLSX Findings sheet, read by openpyxl.
fn xlsx_counts(path: &Path) -> Vec<usize> {
    let names: Vec<&str> = FIELDS.iter().map(|(n, _)| *n).collect();
    let script = r#"
import json, sys
import openpyxl
wb = openpyxl.load_workbook(sys.argv[1], read_only=True)
rows = wb["Findings"].iter_rows(values_only=True)
header = list(next(rows))
names = json.loads(sys.argv[2])
cols = [header.index(n) for n in names]
counts = [0] * len(cols)
for row in rows:
    for i, c in enumerate(cols):
        v = row[c] if c < len(row) else None
        if v is not None and str(v).strip():
            counts[i] += 1
print(json.dumps(counts))
"#;
    let out = std::process::Command::new(python())
        .args(["-c", script])
        .arg(path)
        .arg(serde_json::to_string(&names).expect("names"))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("counts");
    serde_json::from_value(v).expect("a list of counts")
}

#[test]
fn every_field_survives_into_csv_and_xlsx() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut totals = vec![0; FIELDS.len()];
    for doc in documents() {
        let name = doc
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let csv_snap = snapshot(&doc, Format::Csv);
        let want = input_counts(&csv_snap);
        for (t, w) in totals.iter_mut().zip(&want) {
            *t += w;
        }
        let csv = ec_render::render(&csv_snap).expect("csv");
        assert_eq!(
            csv_counts(&csv),
            want,
            "{name}: CSV {FIELDS:?}",
            FIELDS = names()
        );
        let xlsx_snap = snapshot(&doc, Format::Xlsx);
        let path = dir.path().join(format!("{name}.xlsx"));
        std::fs::write(&path, ec_render::render(&xlsx_snap).expect("xlsx")).expect("write");
        assert_eq!(xlsx_counts(&path), want, "{name}: XLSX {:?}", names());
    }
    // Every field but KEV (no fixture has a KEV entry) occurs in some fixture, so no count
    // above passed for want of data.
    for ((name, _), total) in FIELDS.iter().zip(&totals) {
        assert!(
            *total > 0 || *name == "known_exploited",
            "no fixture has {name}"
        );
    }
}

/// Vulnerability ids with a CWE in the input: what SARIF rules and CycloneDX
/// vulnerabilities (one per id) must tag.
fn ids_with_cwes(snap: &Snapshot) -> std::collections::BTreeSet<String> {
    snap.scans
        .iter()
        .flat_map(|s| s.scan.findings.iter())
        .filter(|f| !f.cwes.is_empty())
        .map(|f| f.vulnerability_id.clone())
        .collect()
}

#[test]
fn cwes_survive_into_json_sarif_and_cyclonedx() {
    let mut seen = 0;
    for doc in documents().into_iter().chain(handmade("cyclonedx")) {
        let name = doc
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let json_snap = snapshot(&doc, Format::Json);
        let with: usize = json_snap
            .scans
            .iter()
            .flat_map(|s| s.scan.findings.iter())
            .filter(|f| !f.cwes.is_empty())
            .count();
        let report: Value =
            serde_json::from_slice(&ec_render::render(&json_snap).expect("json")).expect("JSON");
        let in_json = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["cwes"].as_array().is_some_and(|c| !c.is_empty()))
            .count();
        assert_eq!(in_json, with, "{name}: JSON findings with cwes");
        seen += with;

        let want = ids_with_cwes(&json_snap);
        let sarif: Value = serde_json::from_slice(
            &ec_render::render(&snapshot(&doc, Format::Sarif)).expect("sarif"),
        )
        .expect("SARIF");
        let tagged: std::collections::BTreeSet<String> = sarif["runs"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| {
                r["tool"]["driver"]["rules"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .filter(|rule| {
                rule["properties"]["tags"].as_array().is_some_and(|t| {
                    t.iter().any(|t| {
                        t.as_str()
                            .is_some_and(|t| t.starts_with("external/cwe/cwe-"))
                    })
                })
            })
            .filter_map(|rule| rule["id"].as_str().map(String::from))
            .collect();
        assert_eq!(tagged, want, "{name}: SARIF rules with CWE tags");

        let cdx: Value = serde_json::from_slice(
            &ec_render::render(&snapshot(&doc, Format::Cyclonedx)).expect("cyclonedx"),
        )
        .expect("CycloneDX");
        let with_cwes: std::collections::BTreeSet<String> = cdx["vulnerabilities"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["cwes"].as_array().is_some_and(|c| !c.is_empty()))
            .filter_map(|v| v["id"].as_str().map(String::from))
            .collect();
        assert_eq!(
            with_cwes, want,
            "{name}: CycloneDX vulnerabilities with cwes"
        );
    }
    assert!(seen > 100, "the fixtures carry CWEs: {seen}");
}

fn names() -> Vec<&'static str> {
    FIELDS.iter().map(|(n, _)| *n).collect()
}

/// Issue 13, defect 4: a document without a scan time is not presented as scanned at the
/// ingest or generation time: the JSON report says the time is unknown, the PDFs say "scan
/// time unknown", and a known time stays as it was.
#[test]
fn unknown_scan_times_are_said_to_be_unknown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut unknown = 0;
    for doc in documents() {
        let name = doc
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("?")
            .to_string();
        let snap = snapshot(&doc, Format::Json);
        let known = snap.scans[0].scan.scanned_at_known;
        let report: Value =
            serde_json::from_slice(&ec_render::render(&snap).expect("json")).expect("JSON");
        assert_eq!(report["scans"][0]["scanned_at_known"], known, "{name}");
        if known {
            continue;
        }
        unknown += 1;
        let pdf = dir.path().join(format!("{name}.pdf"));
        std::fs::write(
            &pdf,
            ec_render::render(&snapshot(&doc, Format::Pdf)).expect("pdf"),
        )
        .expect("write");
        let text = std::process::Command::new("pdftotext")
            .arg(&pdf)
            .arg("-")
            .output()
            .expect("pdftotext");
        let text = String::from_utf8_lossy(&text.stdout);
        assert!(text.contains("scan time unknown"), "{name}: {text}");
    }
    assert!(unknown >= 1, "a fixture without a scan time");
}
