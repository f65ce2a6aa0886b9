//! `exportctl render`: offline rendering from scanner documents, reproducible under
//! `SOURCE_DATE_EPOCH`, with clear errors and no half-written output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use ec_tests::{exportctl_bin, fixtures};

fn fixture(kind: &str, name: &str) -> PathBuf {
    fixtures(kind)
        .into_iter()
        .find(|p| p.file_name().is_some_and(|n| n == name))
        .unwrap_or_else(|| panic!("fixture {kind}/{name}"))
}

fn render(inputs: &[&Path], args: &[&str], output: &Path, epoch: Option<&str>) -> Output {
    let mut cmd = Command::new(exportctl_bin());
    cmd.arg("render");
    for i in inputs {
        cmd.arg("--input").arg(i);
    }
    cmd.args(args).arg("--output").arg(output);
    match epoch {
        Some(e) => cmd.env("SOURCE_DATE_EPOCH", e),
        None => cmd.env_remove("SOURCE_DATE_EPOCH"),
    };
    cmd.output().unwrap()
}

#[test]
fn every_format_renders_reproducibly_under_source_date_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let trivy = fixture("trivy", "trivy-golden_alpine-310.json");
    let grype = fixture("grype", "grype-explain_chainguard-ruby-test.json");
    for format in ["json", "csv", "xlsx", "sarif", "cyclonedx", "spdx", "pdf"] {
        let a = dir.path().join(format!("a.{format}"));
        let b = dir.path().join(format!("b.{format}"));
        for out in [&a, &b] {
            let o = render(
                &[&trivy, &grype],
                &["--format", format],
                out,
                Some("1700000000"),
            );
            assert!(
                o.status.success(),
                "{format}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
        let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
        assert!(!x.is_empty(), "{format}: empty output");
        assert!(x == y, "{format}: two runs differ");
    }
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("a.json")).unwrap()).unwrap();
    assert_eq!(report["export"]["generated_at"], "2023-11-14T22:13:20Z");
    assert_eq!(report["summary"]["scans"], 2);
}

#[test]
fn bad_arguments_fail_clearly_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let trivy = fixture("trivy", "trivy-golden_alpine-310.json");
    let out = dir.path().join("out.json");
    let cases: [(&[&Path], &[&str], &str); 5] = [
        (&[&trivy], &["--format", "docx"], "unknown format"),
        (
            &[&trivy],
            &["--format", "json", "--type", "x"],
            "unknown type",
        ),
        (
            &[&trivy],
            &["--format", "sarif", "--template", "compliance-executive"],
            "cannot be rendered",
        ),
        (
            &[Path::new("/nonexistent/scan.json")],
            &["--format", "json"],
            "reading /nonexistent/scan.json",
        ),
        (
            &[Path::new("Cargo.toml")],
            &["--format", "json"],
            "not valid JSON",
        ),
    ];
    for (inputs, args, needle) in cases {
        let o = render(inputs, args, &out, Some("1700000000"));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} left an output file");
    }
    let o = render(&[&trivy], &["--format", "json"], &out, Some("soon"));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("SOURCE_DATE_EPOCH"));
}
