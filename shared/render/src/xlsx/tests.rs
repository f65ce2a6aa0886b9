//! Tests of the XLSX writer: literal text, the same bytes for the same snapshot, every
//! sheet present, continuation sheets, hyperlinks and Excel's cell limit.

use std::collections::BTreeMap;
use std::io::Read;

use ec_domain::Format;
use ec_domain::policy::{PolicyConfig, evaluate};
use ec_domain::request::{ExportOptions, ExportRequest, Scope};
use ec_domain::scan::{Cvss, Finding, Scan, Severity};
use ec_domain::snapshot::{ScanInputs, Snapshot};
use ec_domain::{BuiltinTemplate, ExportType, TemplateName};
use time::OffsetDateTime;
use time::macros::datetime;

use super::cells::{MAX_CELL_LEN, MAX_LINKS_PER_SHEET, fit};
use super::{build, render};
use crate::view::ReportView;

const AT: OffsetDateTime = datetime!(2024-12-29 10:30:00 UTC);

fn finding(i: usize) -> Finding {
    Finding {
        vulnerability_id: format!("CVE-2024-{i:05}"),
        aliases: vec![format!("GHSA-{i:04}-abcd-efgh")],
        package: format!("package-{}", i % 500),
        package_type: Some("npm".into()),
        purl: Some(format!("pkg:npm/package-{}@1.{}.0", i % 500, i % 7)),
        installed_version: format!("1.{}.0", i % 7),
        fixed_version: (!i.is_multiple_of(3)).then(|| format!("1.{}.1", i % 7)),
        severity: Severity::ALL[i % Severity::ALL.len()],
        cvss: vec![Cvss {
            source: "nvd".into(),
            version: "3.1".into(),
            vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
            score: Some((i % 100) as f64 / 10.0),
        }],
        title: Some(
            format!(
                "package-{}: improper input validation allows remote code execution",
                i % 500
            )
            .into(),
        ),
        description: None,
        references: vec![
            format!("https://nvd.nist.gov/vuln/detail/CVE-2024-{i:05}").into(),
            format!("https://github.com/advisories/GHSA-{i:04}-abcd-efgh").into(),
            "https://example.com/security/advisories".into(),
        ],
        status: Some("fixed".into()),
        target: Some("package-lock.json".into()),
        cwes: Vec::new(),
        details: Default::default(),
    }
}

/// A scan report snapshot of one scan with these findings, built as gather builds it.
/// `snapshot_of((0..100_000).map(finding).collect())` is the measurement's input.
fn snapshot_of(findings: Vec<Finding>) -> Snapshot {
    let scan_json = serde_json::json!({
        "scan_id": "scan-1",
        "tenant_id": "acme",
        "artifact": { "name": "registry.example/app:1.0", "kind": "container_image",
                      "digest": "sha256:0123", "os": null },
        "scanner": { "name": "trivy", "version": "0.50.0" },
        "source_format": "trivy",
        "scanned_at": "2024-12-28T09:00:00Z",
        "ingested_at": "2024-12-28T09:01:00Z",
        "document_sha256": "ab",
        "components": [],
        "findings": [],
    });
    let mut scan: Scan = serde_json::from_value(scan_json).expect("scan");
    scan.findings = findings;
    let request = ExportRequest {
        export_type: ExportType::ScanReport,
        format: Format::Xlsx,
        scope: Scope::ScanIds(vec![scan.scan_id.clone()]),
        options: ExportOptions {
            include_sbom: true,
            include_evidence: false,
            ..ExportOptions::default()
        },
        template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
    };
    let inputs = ScanInputs {
        verdicts: evaluate(&PolicyConfig::default(), &scan, &[]),
        vex: Vec::new(),
        sbom: None,
        scan,
    };
    Snapshot::new(
        "exp-1".parse().unwrap(),
        "acme".parse().unwrap(),
        request,
        "alice".into(),
        AT,
        vec![inputs],
    )
}

fn render_snapshot(snap: &Snapshot) -> Vec<u8> {
    render(&ReportView::new(snap)).expect("render")
}

/// The files of a zip archive (the xlsx container) as text, by name.
fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
    let u32_at = |i: usize| {
        u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    let eocd = (0..bytes.len() - 21)
        .rev()
        .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
        .expect("end of central directory");
    let mut at = u32_at(eocd + 16);
    let mut files = BTreeMap::new();
    for _ in 0..u16_at(eocd + 10) {
        assert!(
            bytes[at..].starts_with(b"PK\x01\x02"),
            "central directory entry"
        );
        let (method, size) = (u16_at(at + 10), u32_at(at + 20));
        let name_len = u16_at(at + 28);
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).expect("name");
        let local = u32_at(at + 42);
        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let data = &bytes[data_at..data_at + size];
        let mut text = String::new();
        match method {
            0 => text = String::from_utf8(data.to_vec()).expect("UTF-8"),
            8 => {
                flate2::read::DeflateDecoder::new(data)
                    .read_to_string(&mut text)
                    .expect("inflate");
            }
            m => panic!("{name}: compression method {m}"),
        }
        files.insert(name, text);
        at += 46 + name_len + u16_at(at + 30) + u16_at(at + 32);
    }
    files
}

fn sheet_names_of(files: &BTreeMap<String, String>) -> Vec<String> {
    let workbook = &files["xl/workbook.xml"];
    workbook
        .split("<sheet name=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap_or("").to_string())
        .collect()
}

#[test]
fn formula_like_text_stays_literal() {
    let mut f = finding(1);
    f.title = Some(r#"=HYPERLINK("http://x","y")"#.into());
    f.package = "+cmd".into();
    f.status = Some("@SUM(A1)".into());
    f.fixed_version = Some("-1".into());
    f.references = vec!["=1+1".into()];
    let files = unzip(&render_snapshot(&snapshot_of(vec![f])));
    for (name, xml) in &files {
        assert!(
            !xml.contains("<f>") && !xml.contains("<f "),
            "{name} holds a formula"
        );
    }
    let findings = &files["xl/worksheets/sheet2.xml"];
    for text in [
        r#"=HYPERLINK("http://x","y")"#,
        "+cmd",
        "@SUM(A1)",
        "-1",
        "=1+1",
    ] {
        let cell = format!(r#"t="inlineStr"><is><t>{text}</t></is>"#);
        assert!(findings.contains(&cell), "{text} is not an inline string");
    }
}

#[test]
fn same_snapshot_same_bytes() {
    let snap = snapshot_of((0..50).map(finding).collect());
    let first = render_snapshot(&snap);
    assert!(first == render_snapshot(&snap), "two renders differ");
    let core = &unzip(&first)["docProps/core.xml"];
    assert!(
        core.contains(">2024-12-29T10:30:00Z</dcterms:created>"),
        "creation time is not the snapshot's: {core}"
    );

    let mut later = snap.clone();
    later.generated_at = datetime!(2025-01-02 08:00:00 UTC);
    let core = &unzip(&render_snapshot(&later))["docProps/core.xml"];
    assert!(core.contains(">2025-01-02T08:00:00Z</dcterms:created>"));
}

#[test]
fn every_sheet_is_there_even_when_empty() {
    let files = unzip(&render_snapshot(&snapshot_of(Vec::new())));
    assert_eq!(
        sheet_names_of(&files),
        ["Summary", "Findings", "Components", "VEX", "Verdicts"]
    );
    // Only the header row, filtered and frozen under it.
    let findings = &files["xl/worksheets/sheet2.xml"];
    assert!(
        findings.contains(r#"<autoFilter ref="A1:AH1"/>"#),
        "{findings}"
    );
    assert!(findings.contains(r#"topLeftCell="A2""#));
    assert!(!findings.contains(r#"<row r="2""#));
    // The Verdicts sheet still has the scan's decision.
    assert!(files["xl/worksheets/sheet5.xml"].contains(r#"<autoFilter ref="A1:I2"/>"#));
}

#[test]
fn long_tables_continue_on_numbered_sheets() {
    let snap = snapshot_of((0..5).map(finding).collect());
    let mut wb = build(&ReportView::new(&snap), 2).expect("build");
    let files = unzip(&wb.save_to_buffer().expect("save"));
    assert_eq!(
        sheet_names_of(&files),
        [
            "Summary",
            "Findings",
            "Findings (2)",
            "Findings (3)",
            "Components",
            "VEX",
            "Verdicts",
            "Verdicts (2)",
            "Verdicts (3)",
        ]
    );
    for (sheet, filter) in [(2, "A1:AH3"), (3, "A1:AH3"), (4, "A1:AH2"), (9, "A1:I3")] {
        let xml = &files[&format!("xl/worksheets/sheet{sheet}.xml")];
        assert!(
            xml.contains(&format!(r#"<autoFilter ref="{filter}"/>"#)),
            "sheet{sheet}: {xml}"
        );
    }
    let summary = &files["xl/worksheets/sheet1.xml"];
    assert!(summary.contains(
        "Findings has 5 rows, more than one Excel sheet holds: it continues on Findings (2), Findings (3)"
    ));
    assert!(summary.contains("Verdicts has 6 rows"));
}

#[test]
fn only_web_urls_within_limits_become_links() {
    let refs = [
        "https://nvd.nist.gov/vuln/detail/CVE-2024-1".to_string(),
        "ftp://example.com/x".into(),
        format!("https://example.com/{}", "a".repeat(300)),
        "HTTPS://EXAMPLE.COM".into(),
    ];
    let findings = refs
        .iter()
        .enumerate()
        .map(|(i, r)| Finding {
            references: vec![r.as_str().into(), "https://second.example".into()],
            ..finding(i)
        })
        .collect();
    let files = unzip(&render_snapshot(&snapshot_of(findings)));
    let sheet = &files["xl/worksheets/sheet2.xml"];
    assert_eq!(sheet.matches("<hyperlink ").count(), 1);
    for r in &refs {
        assert!(sheet.contains(&format!("<t>{r}</t>")), "{r} not shown");
    }
    let rels = &files["xl/worksheets/_rels/sheet2.xml.rels"];
    assert!(rels.contains(r#"Target="https://nvd.nist.gov/vuln/detail/CVE-2024-1""#));
    assert!(!rels.contains("second.example"));
}

#[test]
fn hyperlinks_stop_at_excels_limit() {
    let snap = snapshot_of((0..MAX_LINKS_PER_SHEET + 2).map(finding).collect());
    let files = unzip(&render_snapshot(&snap));
    let sheet = &files["xl/worksheets/sheet2.xml"];
    assert_eq!(sheet.matches("<hyperlink ").count(), MAX_LINKS_PER_SHEET);
    let last = MAX_LINKS_PER_SHEET + 1;
    assert!(sheet.contains(&format!(
        "<t>https://nvd.nist.gov/vuln/detail/CVE-2024-{last:05}</t>"
    )));
}

#[test]
fn text_is_cut_to_excels_cell_limit() {
    assert_eq!(fit("short"), "short");
    let exact = "x".repeat(MAX_CELL_LEN);
    assert_eq!(fit(&exact), exact);
    // An emoji is two UTF-16 units: the cut counts units, not bytes or chars.
    let long = "😀".repeat(MAX_CELL_LEN);
    let cut = fit(&long);
    assert!(cut.ends_with('…'));
    assert!(cut.encode_utf16().count() <= MAX_CELL_LEN);
    assert_eq!(cut.chars().count(), (MAX_CELL_LEN - 1) / 2 + 1);
}
