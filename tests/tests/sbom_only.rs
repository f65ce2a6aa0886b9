//! Issue 13, defect 6: an SBOM alone (SPDX, a CycloneDX BOM without `vulnerabilities`)
//! carries no vulnerability data, so no report may show it as a green PASS or "Top 0
//! risks": it says "not assessed", and the PDF lists every component, as CSV and XLSX do.
//! A scanner report with findings is still assessed.

use std::path::Path;

use serde_json::Value;
use time::macros::datetime;

use ec_domain::{BuiltinTemplate, ExportType, Format, TemplateName};
use ec_pipeline::offline::{InputDocument, OfflineRequest, render_documents};
use ec_tests::{fixtures, pdf_text, repo_root};

fn render(path: &Path, t: ExportType, f: Format, template: Option<BuiltinTemplate>) -> Vec<u8> {
    let mut req = OfflineRequest::new(t, f, datetime!(2025-01-01 00:00:00 UTC));
    req.template = template.map(TemplateName::Builtin);
    let doc = InputDocument {
        name: None,
        bytes: std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    };
    render_documents(&[doc], &req).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

#[test]
fn an_sbom_alone_is_not_assessed_and_its_pdf_lists_every_component() {
    let sboms = fixtures("spdx");
    assert!(!sboms.is_empty());
    for path in &sboms {
        let json: Value =
            serde_json::from_slice(&render(path, ExportType::Sbom, Format::Json, None)).unwrap();
        assert_eq!(json["summary"]["assessed"], false, "{}", path.display());
        assert_eq!(json["scans"][0]["assessed"], false);
        let components = json["components"].as_array().unwrap();
        assert!(!components.is_empty());

        let detailed = pdf_text(&render(path, ExportType::Sbom, Format::Pdf, None));
        assert!(detailed.contains("NOT ASSESSED"), "{}", path.display());
        assert!(
            !detailed.contains("PASS"),
            "{}: a verdict was shown",
            path.display()
        );
        // pdftotext breaks long lines; compare without whitespace.
        let flat: String = detailed.split_whitespace().collect();
        for c in components {
            let name: String = c["name"].as_str().unwrap().split_whitespace().collect();
            assert!(
                flat.contains(&name),
                "{}: component {name} missing",
                path.display()
            );
        }

        let executive = pdf_text(&render(
            path,
            ExportType::Sbom,
            Format::Pdf,
            Some(BuiltinTemplate::ComplianceExecutive),
        ));
        assert!(executive.contains("Not assessed"), "{executive}");
        assert!(
            !executive.contains("PASS") && !executive.contains("Top 0"),
            "{executive}"
        );

        let csv = String::from_utf8(render(path, ExportType::Sbom, Format::Csv, None)).unwrap();
        assert_eq!(csv.lines().count(), components.len() + 1);
    }
}

#[test]
fn a_scanner_report_is_assessed() {
    let trivy = repo_root().join("tests/fixtures/real/trivy/trivy-golden_alpine-310.json");
    let json: Value =
        serde_json::from_slice(&render(&trivy, ExportType::ScanReport, Format::Json, None))
            .unwrap();
    assert_eq!(json["summary"]["assessed"], true);
    let text = pdf_text(&render(&trivy, ExportType::ScanReport, Format::Pdf, None));
    assert!(!text.contains("NOT ASSESSED"));
}
