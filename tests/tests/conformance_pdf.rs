//! Conformance of the PDF reports: every vendored Trivy and Grype report rendered with every
//! built-in template, each file checked by third-party tools (poppler-utils, qpdf):
//!
//! - `qpdf --check` finds no damage;
//! - `pdffonts` lists only embedded fonts;
//! - `pdfinfo` counts pages, and page 1's footer says "Page 1 of N" with that N;
//! - `pdftotext -bbox` finds no word outside the page's 1 cm margins (nothing overflows);
//! - `pdftotext` of compliance-detailed contains every vulnerability id of the scanner
//!   document (read here from the raw JSON, not through ingest), each finding starting
//!   its own line;
//! - rendering twice gives identical bytes.
//!
//! Needs `qpdf` and `poppler-utils` (Debian packages). Run with
//! `cargo test -p ec-tests --test conformance_pdf`.
//! The ignored `pdf_bench` measures compliance-detailed at 1,000 and 10,000 findings.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use ec_domain::BuiltinTemplate;
use ec_domain::scan::{VexStatement, VexStatus};
use ec_tests::fixtures;
use ec_tests::pdf::{render as render_pdf, snapshot, tool};
use serde_json::Value;

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

fn scanner_fixtures() -> Vec<PathBuf> {
    let mut files = fixtures("trivy");
    files.extend(fixtures("grype"));
    assert!(files.len() >= 2, "no Trivy/Grype fixtures found");
    files
}

/// `pdftotext ARGS FILE -`: what it writes to stdout.
fn pdftotext(file: &Path, args: &[&str]) -> String {
    let out = Command::new("pdftotext")
        .args(args)
        .arg(file)
        .arg("-")
        .output()
        .unwrap_or_else(|e| panic!("running pdftotext: {e}"));
    assert!(
        out.status.success(),
        "pdftotext {args:?} {} failed",
        file.display()
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn text_of(file: &Path, pages: Option<(usize, usize)>) -> String {
    match pages {
        Some((first, last)) => {
            pdftotext(file, &["-f", &first.to_string(), "-l", &last.to_string()])
        }
        None => pdftotext(file, &[]),
    }
}

fn page_count(file: &Path) -> usize {
    let info = tool("pdfinfo", &[], file);
    info.lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("pdfinfo {} gave no page count:\n{info}", file.display()))
}

/// Every font `pdffonts` lists, with whether it is embedded. Names and types may hold
/// spaces and overflow their columns, so the row is read from the right: `emb sub uni
/// object-number generation`.
fn fonts(file: &Path) -> Vec<(String, bool)> {
    let listing = tool("pdffonts", &[], file);
    listing
        .lines()
        .skip(2)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let emb = cols.len() >= 6 && cols[cols.len() - 5] == "yes";
            (cols.first().unwrap_or(&"").to_string(), emb)
        })
        .collect()
}

/// Vulnerability ids of a Trivy or Grype document, read from the raw JSON.
fn raw_ids(doc: &Value) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    if let Some(matches) = doc.get("matches").and_then(Value::as_array) {
        ids.extend(
            matches
                .iter()
                .filter_map(|m| m["vulnerability"]["id"].as_str().map(str::to_string)),
        );
        return ids;
    }
    let results = match doc {
        Value::Array(items) => items.clone(),
        _ => doc["Results"].as_array().cloned().unwrap_or_default(),
    };
    for r in &results {
        for v in r["Vulnerabilities"].as_array().into_iter().flatten() {
            if let Some(id) = v["VulnerabilityID"].as_str() {
                ids.insert(id.to_string());
            }
        }
    }
    ids
}

/// The checks every rendered PDF passes; returns its page count.
fn check_pdf(file: &Path) -> usize {
    tool("qpdf", &["--check"], file);
    let fonts = fonts(file);
    assert!(!fonts.is_empty(), "{}: no fonts", file.display());
    for (name, embedded) in &fonts {
        assert!(embedded, "{}: font {name} is not embedded", file.display());
    }
    let pages = page_count(file);
    assert!(pages > 0, "{}: no pages", file.display());
    let first = text_of(file, Some((1, 1)));
    assert!(
        first.contains(&format!("Page 1 of {pages}")),
        "{}: page 1's footer does not say \"Page 1 of {pages}\":\n{first}",
        file.display()
    );
    let last = text_of(file, Some((pages, pages)));
    assert!(
        last.contains(&format!("Page {pages} of {pages}")),
        "{}: the last page's footer is not \"Page {pages} of {pages}\"",
        file.display()
    );
    let outside = words_outside_margins(file);
    assert!(
        outside.is_empty(),
        "{}: text beyond the 1 cm margins (page, word, xMin, xMax): {outside:?}",
        file.display()
    );
    pages
}

/// A4's 1 cm margin, in points, less half a point for rounding.
const MARGIN_PT: f64 = 28.3465 - 0.5;

/// Words whose box `pdftotext -bbox` places left or right of the page's margins: text that
/// overflows its column (a long digest, say) runs off the page or into the margin.
fn words_outside_margins(file: &Path) -> Vec<(usize, String, f64, f64)> {
    let html = pdftotext(file, &["-bbox"]);
    let attr = |tag: &str, name: &str| -> f64 {
        let key = format!("{name}=\"");
        tag.split(&key)
            .nth(1)
            .and_then(|v| v.split('"').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {tag}"))
    };
    let mut outside = Vec::new();
    let (mut page, mut width) = (0, 0.0);
    for line in html.lines().map(str::trim) {
        if line.starts_with("<page ") {
            page += 1;
            width = attr(line, "width");
        } else if line.starts_with("<word ") {
            let (min, max) = (attr(line, "xMin"), attr(line, "xMax"));
            if min < MARGIN_PT || max > width - MARGIN_PT {
                let word = line.rsplit_once("\">").map_or(line, |(_, w)| w);
                outside.push((page, word.trim_end_matches("</word>").to_string(), min, max));
            }
        }
    }
    assert!(
        page > 0,
        "{}: pdftotext -bbox found no pages",
        file.display()
    );
    outside
}

/// Lines of the text where a finding's head (severity, then vulnerability id) does not
/// start the line: something before it ran into the same paragraph.
fn run_in_findings(text: &str, ids: &BTreeSet<String>) -> Vec<String> {
    const SEVERITIES: [&str; 6] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "NEGLIGIBLE", "UNKNOWN"];
    text.lines()
        .filter(|line| {
            SEVERITIES.iter().any(|sev| {
                line.match_indices(&format!("{sev} ")).any(|(at, m)| {
                    let next = line[at + m.len()..].split_whitespace().next();
                    at > 0 && next.is_some_and(|id| ids.contains(id))
                })
            })
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn every_fixture_with_every_template() {
    let dir = tempfile::tempdir().expect("tempdir");
    for path in scanner_fixtures() {
        let doc = read(&path);
        let raw: Value = serde_json::from_slice(&doc).expect("fixture is JSON");
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("fixture");
        for template in BuiltinTemplate::ALL {
            let snap = snapshot(std::slice::from_ref(&doc), *template);
            let name = format!("{stem}-{template}");
            let file = render_pdf(&snap, dir.path(), &name);
            check_pdf(&file);
            if *template == BuiltinTemplate::ComplianceDetailed {
                let text = text_of(&file, None);
                let ids = raw_ids(&raw);
                let missing: Vec<&String> = ids
                    .iter()
                    .filter(|id| !text.contains(id.as_str()))
                    .collect();
                assert!(
                    missing.is_empty(),
                    "{name}: ids missing from the text: {missing:?}"
                );
                let run_in = run_in_findings(&text, &ids);
                assert!(
                    run_in.is_empty(),
                    "{name}: findings that do not start their line: {run_in:?}"
                );
            }
        }
    }
}

/// Several scans in one export: the executive summary draws the trend, the detailed report
/// has one section per artifact, and page numbers run across the body chunks.
#[test]
fn several_scans_in_one_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let docs: Vec<Vec<u8>> = fixtures("trivy").iter().map(|p| read(p)).collect();
    let exec = render_pdf(
        &snapshot(&docs, BuiltinTemplate::ComplianceExecutive),
        dir.path(),
        "exec",
    );
    check_pdf(&exec);
    assert!(text_of(&exec, None).contains("Trend across scans"));
    let snap = snapshot(&docs, BuiltinTemplate::ComplianceDetailed);
    let detailed = render_pdf(&snap, dir.path(), "detailed");
    let pages = check_pdf(&detailed);
    let text = text_of(&detailed, None);
    for s in &snap.scans {
        assert!(
            text.contains(&s.scan.artifact.name),
            "no section for {}",
            s.scan.artifact.name
        );
    }
    for page in 1..=pages {
        assert!(
            text.contains(&format!("Page {page} of {pages}")),
            "page {page} has no footer"
        );
    }
}

/// A VEX-suppressed finding stays listed, marked with its status and justification; text
/// that looks like typst markup prints literally.
#[test]
fn suppressed_findings_and_literal_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let doc = read(&fixtures("trivy")[0]);
    let mut snap = snapshot(&[doc], BuiltinTemplate::ComplianceDetailed);
    let inputs = &mut snap.scans[0];
    let target = inputs.scan.findings[0].clone();
    inputs.vex.push(VexStatement {
        vulnerability_id: target.vulnerability_id.clone(),
        products: vec![],
        status: VexStatus::NotAffected,
        justification: Some("vulnerable_code_not_in_execute_path".into()),
        impact_statement: Some("The affected function is never called.".into()),
        action_statement: None,
        timestamp: None,
        source: Some("openvex-test".into()),
    });
    let tricky = "#panic(\"boom\") ] *bold* _x_ $y$ <lbl> @ref \\ `raw`";
    inputs.scan.findings[1].title = Some(tricky.into());
    let file = render_pdf(&snap, dir.path(), "vex");
    check_pdf(&file);
    let text = text_of(&file, None);
    for needle in [
        "SUPPRESSED",
        "VEX not_affected",
        "vulnerable_code_not_in_execute_path",
        "The affected function is never called.",
        tricky,
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}
