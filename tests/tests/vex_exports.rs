//! Issue 13's VEX exports, filters and deltas, on the real fixtures:
//! * VEX documents alone render with `type: vex` as OpenVEX (its JSON schema), CSAF 2.0
//!   VEX (the CSAF 2.0 schema with FIRST's CVSS schemas, and every mandatory test of the
//!   BSI's validator) and CycloneDX VEX (the 1.5 schema, refs resolved), keeping every
//!   statement; other types are refused with the reason.
//! * Next to a scan, every VEX document is listed with what each statement matched and why
//!   the rest did not, and the VEX exports carry the statements in force and the unmatched
//!   ones.
//! * `options.filters` keep the same rows in JSON, CSV and SARIF, and say so in the report.
//! * `options.baseline` marks findings `new`/`unchanged` and lists the `fixed` ones, through
//!   the embedded stack (JSON, CSV, SARIF `baselineState`).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use ec_domain::filters::Filters;
use ec_domain::scan::Severity;
use ec_domain::{ExportType, Format};
use ec_pipeline::offline::{InputDocument, OfflineRequest, render_documents};
use ec_tests::{embedded, fixtures, node, python_check, repo_root};
use time::macros::datetime;

fn doc(path: &Path) -> InputDocument {
    InputDocument {
        name: path.file_name().map(|n| n.to_string_lossy().into_owned()),
        bytes: std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    }
}

fn real(kind: &str, file: &str) -> PathBuf {
    repo_root()
        .join("tests/fixtures/real")
        .join(kind)
        .join(file)
}

fn render(docs: &[InputDocument], t: ExportType, f: Format, filters: Filters) -> Vec<u8> {
    let mut req = OfflineRequest::new(t, f, datetime!(2025-01-01 00:00:00 UTC));
    req.filters = filters;
    render_documents(docs, &req).unwrap_or_else(|e| panic!("{t} as {f}: {e:?}"))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn schema(name: &str) -> String {
    repo_root()
        .join("tests/schemas")
        .join(name)
        .display()
        .to_string()
}

fn validate_openvex(files: &[PathBuf]) {
    let mut args = vec![schema("openvex_json_schema.json")];
    args.extend(files.iter().map(|f| f.display().to_string()));
    python_check("validate_json.py", args);
}

/// The CSAF 2.0 schema (with the CVSS schemas it references) and the BSI validator's
/// schema and mandatory tests.
fn validate_csaf(files: &[PathBuf]) {
    let mut args = vec![schema("csaf_json_schema-2.0.json")];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.push("--refs".into());
    args.extend(["cvss-v2.0.json", "cvss-v3.0.json", "cvss-v3.1.json"].map(schema));
    python_check("validate_json.py", args);
    let out = node()
        .arg(repo_root().join("tests/node/csaf_validate.mjs"))
        .args(files)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "BSI csaf-validator-lib: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), files.len(), "{stdout}");
    for line in stdout.lines() {
        let r: Value = serde_json::from_str(line).unwrap();
        assert_eq!(r["isValid"], true, "{line}");
        assert!(
            r["tests"].as_u64().unwrap_or(0) > 30,
            "mandatory tests ran: {line}"
        );
    }
}

/// (vulnerability, status) of every statement × product of an OpenVEX document.
fn openvex_pairs(doc: &Value) -> BTreeSet<(String, String, String)> {
    let mut out = BTreeSet::new();
    for s in doc["statements"].as_array().unwrap() {
        for p in s["products"].as_array().unwrap() {
            out.insert((
                s["vulnerability"]["name"].as_str().unwrap().to_string(),
                s["status"].as_str().unwrap().to_string(),
                p["@id"].as_str().unwrap().to_string(),
            ));
        }
    }
    out
}

#[test]
fn vex_documents_alone_convert_to_openvex_csaf_and_cyclonedx_keeping_every_statement() {
    let dir = tempfile::tempdir().unwrap();
    let mut inputs: Vec<PathBuf> = fixtures("openvex");
    inputs.extend(fixtures("csaf"));
    assert!(inputs.len() >= 3, "{inputs:?}");
    let (mut openvex, mut csaf, mut cdx) = (Vec::new(), Vec::new(), Vec::new());
    for (i, path) in inputs.iter().enumerate() {
        let docs = [doc(path)];
        let ov = render(&docs, ExportType::Vex, Format::Openvex, Filters::default());
        let cs = render(&docs, ExportType::Vex, Format::Csaf, Filters::default());
        // Deterministic.
        assert_eq!(
            ov,
            render(&docs, ExportType::Vex, Format::Openvex, Filters::default())
        );
        let json: Value = serde_json::from_slice(&render(
            &docs,
            ExportType::Vex,
            Format::Json,
            Filters::default(),
        ))
        .unwrap();
        let listed = &json["vex_documents"][0];
        let statements = listed["statements"].as_u64().unwrap();
        assert!(statements > 0, "{}", path.display());
        assert_eq!(
            listed["name"],
            path.file_name().unwrap().to_string_lossy().as_ref()
        );
        assert_eq!(listed["matched"], 0, "no scan: nothing matched");
        for r in listed["results"].as_array().unwrap() {
            assert_eq!(r["reason"], "vulnerability_not_found", "{r}");
        }
        // Every statement × product of the input is in the OpenVEX output.
        let ov_doc: Value = serde_json::from_slice(&ov).unwrap();
        let mut want = BTreeSet::new();
        for r in listed["results"].as_array().unwrap() {
            for p in r["products"].as_array().unwrap() {
                want.insert((
                    r["vulnerability_id"].as_str().unwrap().to_string(),
                    r["status"].as_str().unwrap().to_string(),
                    p.as_str().unwrap().to_string(),
                ));
            }
        }
        assert_eq!(openvex_pairs(&ov_doc), want, "{}", path.display());
        // And in the CSAF output, by product status.
        let cs_doc: Value = serde_json::from_slice(&cs).unwrap();
        let in_csaf: usize = cs_doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|v| v["product_status"].as_object().unwrap().values())
            .map(|ids| ids.as_array().unwrap().len())
            .sum();
        assert_eq!(in_csaf, want.len(), "{}", path.display());
        // And in the CycloneDX VEX: one affects entry per statement × product.
        let cd = render(
            &docs,
            ExportType::Vex,
            Format::Cyclonedx,
            Filters::default(),
        );
        let cd_doc: Value = serde_json::from_slice(&cd).unwrap();
        let in_cdx: usize = cd_doc["vulnerabilities"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["affects"].as_array().map_or(0, Vec::len))
            .sum();
        assert_eq!(in_cdx, want.len(), "{}", path.display());
        cdx.push(write(dir.path(), &format!("{i}.cdx.json"), &cd));
        openvex.push(write(dir.path(), &format!("{i}.openvex.json"), &ov));
        csaf.push(write(dir.path(), &format!("{i}.csaf.json"), &cs));
    }
    validate_openvex(&openvex);
    validate_csaf(&csaf);
    python_check("check_cyclonedx.py", &cdx);

    // Other types say why VEX alone is not enough.
    let mut req = OfflineRequest::new(
        ExportType::ScanReport,
        Format::Json,
        datetime!(2025-01-01 00:00:00 UTC),
    );
    let e = render_documents(&[doc(&inputs[0])], &req).err().unwrap();
    assert!(e.message.contains("--type vex"), "{}", e.message);
    req.format = Format::Pdf;
    let e = render_documents(&[doc(&inputs[0])], &req).err().unwrap();
    assert!(e.message.contains("--type vex"), "{}", e.message);
}

#[test]
fn the_csaf_validator_rejects_a_broken_document() {
    // The proof that `validate_csaf` can fail: a product id no product defines (6.1.1).
    let dir = tempfile::tempdir().unwrap();
    let docs = [doc(&real("openvex", "go-vex_v0.2.0.json"))];
    let mut cs: Value = serde_json::from_slice(&render(
        &docs,
        ExportType::Vex,
        Format::Csaf,
        Filters::default(),
    ))
    .unwrap();
    cs["vulnerabilities"][0]["product_status"]["fixed"] = json!(["CSAFPID-9999"]);
    let bad = write(
        dir.path(),
        "bad.csaf.json",
        &serde_json::to_vec(&cs).unwrap(),
    );
    let out = node()
        .arg(repo_root().join("tests/node/csaf_validate.mjs"))
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("mandatoryTest_6_1_1"));
}

const VEX_FOR_UBUNTU: &[u8] = br#"{"@context": "https://openvex.dev/ns/v0.2.0",
    "@id": "https://example.com/vex/ubuntu-1", "author": "Example", "version": 1,
    "timestamp": "2024-01-01T00:00:00Z",
    "statements": [
      {"vulnerability": {"name": "CVE-2019-18276"},
       "products": [{"@id": "pkg:deb/ubuntu/bash"}],
       "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
      {"vulnerability": {"name": "CVE-1999-0001"}, "products": [{"@id": "pkg:deb/ubuntu/bash"}],
       "status": "affected", "action_statement": "Upgrade."},
      {"vulnerability": {"name": "CVE-2019-18276"}, "products": [{"@id": "pkg:deb/ubuntu/zsh"}],
       "status": "fixed"}]}"#;

#[test]
fn a_scan_with_vex_lists_every_document_and_what_matched() {
    let dir = tempfile::tempdir().unwrap();
    let docs = [
        doc(&real("trivy", "trivy-golden_ubuntu-1804.json")),
        InputDocument {
            name: Some("ubuntu.openvex.json".into()),
            bytes: VEX_FOR_UBUNTU.to_vec(),
        },
    ];
    let json: Value = serde_json::from_slice(&render(
        &docs,
        ExportType::ScanReport,
        Format::Json,
        Filters::default(),
    ))
    .unwrap();
    let listed = &json["vex_documents"][0];
    assert_eq!(listed["name"], "ubuntu.openvex.json");
    assert_eq!(
        (listed["statements"].as_u64(), listed["matched"].as_u64()),
        (Some(3), Some(1))
    );
    let reasons: Vec<&str> = listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap_or("matched"))
        .collect();
    assert_eq!(
        reasons,
        ["matched", "vulnerability_not_found", "unknown_product"]
    );
    assert_eq!(
        json["scans"][0]["document_name"],
        "trivy-golden_ubuntu-1804.json"
    );

    // The VEX exports: the statement in force about the finding's own purl, and the two
    // unmatched statements as given.
    let ov = render(&docs, ExportType::Vex, Format::Openvex, Filters::default());
    let ov_doc: Value = serde_json::from_slice(&ov).unwrap();
    let pairs = openvex_pairs(&ov_doc);
    assert!(
        pairs.iter().any(|(v, s, p)| v == "CVE-2019-18276"
            && s == "not_affected"
            && p.starts_with("pkg:deb/ubuntu/bash@")),
        "{pairs:?}"
    );
    assert!(pairs.contains(&(
        "CVE-1999-0001".into(),
        "affected".into(),
        "pkg:deb/ubuntu/bash".into()
    )));
    assert!(pairs.contains(&(
        "CVE-2019-18276".into(),
        "fixed".into(),
        "pkg:deb/ubuntu/zsh".into()
    )));
    let cs = render(&docs, ExportType::Vex, Format::Csaf, Filters::default());
    validate_openvex(&[write(dir.path(), "s.openvex.json", &ov)]);
    validate_csaf(&[write(dir.path(), "s.csaf.json", &cs)]);
    // CSV lists the unmatched statements with their reason.
    let csv = String::from_utf8(render(
        &docs,
        ExportType::Vex,
        Format::Csv,
        Filters::default(),
    ))
    .unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains("CVE-1999-0001") && l.ends_with("vulnerability_not_found")),
        "{csv}"
    );
}

/// Findings of a JSON report, CSV data rows and SARIF results, in that order.
fn counts(docs: &[InputDocument], filters: &Filters) -> (usize, usize, usize, Value) {
    let json: Value = serde_json::from_slice(&render(
        docs,
        ExportType::ScanReport,
        Format::Json,
        filters.clone(),
    ))
    .unwrap();
    let csv = render(docs, ExportType::ScanReport, Format::Csv, filters.clone());
    let rows = csv::Reader::from_reader(csv.as_slice()).records().count();
    let sarif: Value = serde_json::from_slice(&render(
        docs,
        ExportType::ScanReport,
        Format::Sarif,
        filters.clone(),
    ))
    .unwrap();
    let results = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["results"].as_array().unwrap().len())
        .sum();
    (
        json["findings"].as_array().unwrap().len(),
        rows,
        results,
        json,
    )
}

#[test]
fn filters_keep_the_same_findings_in_every_format_and_say_so() {
    let docs = [doc(&real(
        "trivy",
        "trivy-golden_debian-stretch_2021-10-04.json",
    ))];
    let (all, all_csv, all_sarif, _) = counts(&docs, &Filters::default());
    assert_eq!((all, all_csv), (all, all_sarif));
    let filters = Filters {
        min_severity: Some(Severity::High),
        packages: vec!["*ssl*".into(), "libc*".into()],
        ..Filters::default()
    };
    let (kept, csv, sarif, json) = counts(&docs, &filters);
    assert!(kept > 0 && kept < all, "{kept} of {all}");
    assert_eq!((csv, sarif), (kept, kept));
    assert_eq!(json["summary"]["filtered_out"], all - kept);
    assert_eq!(json["export"]["filters"]["min_severity"], "high");
    for f in json["findings"].as_array().unwrap() {
        assert!(
            matches!(f["severity"].as_str(), Some("high" | "critical")),
            "{f}"
        );
        let p = f["package"].as_str().unwrap();
        let purl = f["purl"].as_str().unwrap_or("");
        assert!(p.contains("ssl") || p.starts_with("libc"), "{p} {purl}");
    }
}

const SECRET: &str = "vex-exports-test-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_baseline_marks_findings_new_or_unchanged_and_lists_the_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let scopes = "export:read export:write scan:write";
    let (stack, client) = embedded::start(dir.path(), SECRET, "acme", scopes).await;

    // The baseline: the same report without its first three vulnerabilities, and with one
    // that the current scan no longer has.
    let current = std::fs::read(real("trivy", "trivy-golden_ubuntu-1804.json")).unwrap();
    let mut before: Value = serde_json::from_slice(&current).unwrap();
    let vulns = before["Results"][0]["Vulnerabilities"]
        .as_array_mut()
        .unwrap();
    let dropped: BTreeSet<(String, String)> = vulns
        .drain(..3)
        .map(|v| {
            (
                v["VulnerabilityID"].as_str().unwrap().to_string(),
                v["PkgName"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut gone = vulns[0].clone();
    gone["VulnerabilityID"] = json!("CVE-2099-0001");
    vulns.push(gone);
    let baseline = client
        .ingest(serde_json::to_vec(&before).unwrap())
        .await
        .unwrap();
    let scan = client.ingest(current).await.unwrap();

    let req = |format: &str| {
        json!({"type": "scan_report", "format": format,
        "scope": {"scan_ids": [scan.scan_id]},
        "options": {"baseline": {"scan_ids": [baseline.scan_id]}}})
    };
    let report: Value =
        serde_json::from_slice(&embedded::export_report(&client, &req("json")).await).unwrap();
    let findings = report["findings"].as_array().unwrap();
    let new: BTreeSet<(String, String)> = findings
        .iter()
        .filter(|f| f["delta"] == "new")
        .map(|f| {
            (
                f["vulnerability_id"].as_str().unwrap().to_string(),
                f["package"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    // A dropped (id, package) still found in another row of the baseline stays unchanged.
    assert!(
        !new.is_empty() && new.is_subset(&dropped),
        "{new:?} ⊄ {dropped:?}"
    );
    assert!(
        findings
            .iter()
            .all(|f| f["delta"] == "new" || f["delta"] == "unchanged")
    );
    let fixed = report["fixed"].as_array().unwrap();
    assert_eq!(fixed.len(), 1, "{fixed:?}");
    assert_eq!(fixed[0]["vulnerability_id"], "CVE-2099-0001");
    assert_eq!(report["summary"]["delta"]["fixed"], 1);
    assert_eq!(
        report["summary"]["delta"]["new"],
        findings.iter().filter(|f| f["delta"] == "new").count()
    );
    assert!(
        report["export"]["baseline"]
            .as_str()
            .unwrap()
            .contains(baseline.scan_id.as_str())
    );

    let sarif: Value =
        serde_json::from_slice(&embedded::export_report(&client, &req("sarif")).await).unwrap();
    let states: Vec<&str> = sarif["runs"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["results"].as_array().unwrap())
        .map(|r| r["baselineState"].as_str().unwrap_or("missing"))
        .collect();
    assert_eq!(states.len(), findings.len());
    assert_eq!(
        states.iter().filter(|s| **s == "new").count(),
        report["summary"]["delta"]["new"].as_u64().unwrap() as usize
    );
    assert!(
        states.iter().all(|s| *s == "new" || *s == "unchanged"),
        "{states:?}"
    );
    assert_eq!(
        sarif["runs"][0]["properties"]["exportcenter.baseline"]["fixed"][0]["vulnerability_id"],
        "CVE-2099-0001"
    );

    let csv = embedded::export_report(&client, &req("csv")).await;
    let mut reader = csv::Reader::from_reader(csv.as_ref());
    let delta_at = reader
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "delta")
        .unwrap();
    let deltas: Vec<String> = reader
        .records()
        .map(|r| r.unwrap()[delta_at].to_string())
        .collect();
    assert_eq!(
        deltas.iter().filter(|d| *d == "new").count(),
        report["summary"]["delta"]["new"].as_u64().unwrap() as usize
    );

    // A stored VEX document alone, named in scope: a VEX export, not a scan report.
    let vex = client.ingest(VEX_FOR_UBUNTU.to_vec()).await.unwrap();
    assert!(vex.scan_id.as_str().starts_with("vex-"), "{}", vex.scan_id);
    let only =
        |t: &str, f: &str| json!({"type": t, "format": f, "scope": {"scan_ids": [vex.scan_id]}});
    let e = client
        .create_export(&only("scan_report", "json"), None)
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("scope.scan_ids"), "{e}");
    let ov: Value =
        serde_json::from_slice(&embedded::export_report(&client, &only("vex", "openvex")).await)
            .unwrap();
    assert_eq!(ov["statements"].as_array().unwrap().len(), 3, "{ov}");
    let report: Value =
        serde_json::from_slice(&embedded::export_report(&client, &only("vex", "json")).await)
            .unwrap();
    assert_eq!(report["vex_documents"][0]["id"], vex.scan_id.as_str());
    assert_eq!(report["vex_documents"][0]["statements"], 3);

    // previous_run is for schedules only.
    let bad = json!({"type": "scan_report", "format": "json", "scope": {"scan_ids": [scan.scan_id]},
        "options": {"baseline": "previous_run"}});
    let e = client.create_export(&bad, None).await.err().unwrap();
    assert!(e.to_string().contains("options.baseline"), "{e}");
    stack.shutdown().await;
}
