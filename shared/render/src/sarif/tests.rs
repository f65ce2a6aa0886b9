//! Tests of the SARIF writer: locations, rule names and the GitHub limits.

use serde_json::Value;
use serde_json::json;

use ec_domain::scan::{Scan, ScannedArtifact, Scanner, Severity};

use super::limits::Limits;
use super::render_within;
use super::results::artifact_uri;
use super::rules::{push_md, rule_name, truncate};
use crate::view::ReportView;

fn scan(name: &str) -> Scan {
    Scan {
        scan_id: "scan-1".parse().unwrap(),
        tenant_id: "t".parse().unwrap(),
        artifact: ScannedArtifact {
            name: name.into(),
            kind: "container_image".into(),
            digest: None,
            os: None,
        },
        scanner: Scanner {
            name: "trivy".into(),
            version: None,
        },
        source_format: "trivy".into(),
        scanned_at: time::OffsetDateTime::UNIX_EPOCH,
        ingested_at: time::OffsetDateTime::UNIX_EPOCH,
        scanned_at_known: true,
        assessed: true,
        document_sha256: String::new(),
        document_name: None,
        document_size: None,
        components: Vec::new(),
        dependencies: Vec::new(),
        findings: Vec::new(),
    }
}

#[test]
fn uris_are_relative_and_encoded() {
    let s = scan("docker.io/library/alpine:3.10");
    assert_eq!(
        artifact_uri(&s, Some("docker.io/library/alpine:3.10 (alpine 3.10.2)")),
        "docker.io/library/alpine%3A3.10"
    );
    assert_eq!(
        artifact_uri(&s, Some("/lib/apk/db/installed")),
        "lib/apk/db/installed"
    );
    assert_eq!(
        artifact_uri(&s, Some("./app dir\\package-lock.json")),
        "app%20dir/package-lock.json"
    );
    assert_eq!(
        artifact_uri(&scan("busybox:1.32.1"), None),
        "busybox%3A1.32.1"
    );
    assert_eq!(artifact_uri(&scan("/"), None), "scan-1");
}

fn finding(id: &str, package: &str, severity: Severity) -> ec_domain::scan::Finding {
    ec_domain::scan::Finding::new(id, package, "1.0", severity)
}

/// Small limits: 2 results per run, 3 runs. Scan 1 has 5 results (3 runs' worth), scan
/// 2 has 2, scan 3 none: the least severe result (scan 1's negligible one) and the clean
/// scan's empty run give way, and the notices say so.
#[test]
fn limits_split_runs_and_drop_the_least_severe() {
    use Severity::*;
    let mut one = scan("app:1");
    one.findings = vec![
        finding("CVE-1", "a", Critical),
        finding("CVE-2", "b", Low),
        finding("CVE-3", "c", High),
        finding("CVE-4", "d", Negligible),
        finding("CVE-5", "e", Medium),
    ];
    let mut two = scan("app:2");
    two.scan_id = "scan-2".parse().unwrap();
    two.findings = vec![finding("CVE-6", "f", High), finding("CVE-7", "g", Low)];
    let mut three = scan("app:3");
    three.scan_id = "scan-3".parse().unwrap();
    let inputs = [one, two, three]
        .into_iter()
        .map(|scan| ec_domain::snapshot::ScanInputs {
            verdicts: ec_domain::policy::evaluate(&Default::default(), &scan, &[]),
            scan,
            vex: Vec::new(),
            sbom: None,
        })
        .collect();
    let body = json!({"type": "scan_report", "format": "sarif",
        "scope": {"scan_ids": ["scan-1", "scan-2", "scan-3"]}});
    let req = ec_domain::request::ExportRequest::from_json(&body, "t").expect("request");
    let at = time::OffsetDateTime::UNIX_EPOCH;
    let snap = ec_domain::snapshot::Snapshot::new(
        "exp-1".parse().unwrap(),
        "t".parse().unwrap(),
        req,
        "u".into(),
        at,
        inputs,
    );
    let view = ReportView::new(&snap);
    let limits = Limits {
        results_per_run: 2,
        runs: 3,
        gzip_bytes: usize::MAX,
    };
    let out = render_within(&view, limits).expect("render");
    let doc: Value = serde_json::from_slice(&out).expect("JSON");
    let runs = doc["runs"].as_array().expect("runs");
    let ids: Vec<Vec<&str>> = runs
        .iter()
        .map(|r| {
            r["results"]
                .as_array()
                .expect("results")
                .iter()
                .map(|x| x["ruleId"].as_str().unwrap_or(""))
                .collect()
        })
        .collect();
    // Parts keep the report order; only the negligible CVE-4 needed a fourth run.
    assert_eq!(
        ids,
        vec![
            vec!["CVE-1", "CVE-2"],
            vec!["CVE-3", "CVE-5"],
            vec!["CVE-6", "CVE-7"]
        ]
    );
    let automation: Vec<&str> = runs
        .iter()
        .map(|r| r["automationDetails"]["id"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        automation,
        [
            "exportcenter/app:1/part-1/",
            "exportcenter/app:1/part-2/",
            "exportcenter/app:2/"
        ]
    );
    let omitted: Vec<u64> = runs
        .iter()
        .map(|r| {
            r["properties"]["exportcenter.truncated"]["omitted_results"]
                .as_u64()
                .unwrap_or(99)
        })
        .collect();
    assert_eq!(omitted, vec![1, 0, 0]);
    let note = &runs[0]["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "warning");
    assert!(render_within(&view, limits).expect("again") == out);
}

#[test]
fn rule_names_and_truncation() {
    assert_eq!(rule_name("CVE-2019-1549"), "VulnerabilityCVE20191549");
    assert_eq!(truncate("abcdef", 3), "abc…");
    assert_eq!(truncate("abc", 3), "abc");
    let mut cell = String::new();
    push_md(&mut cell, "a|b\nc*", true);
    assert_eq!(cell, "a\\|b c\\*");
}

/// Renders one scan's findings as SARIF and returns `{rule id: security-severity}` (`None`
/// when the rule has none) and `{rule id: default level}`.
fn rule_scores(findings: Vec<ec_domain::scan::Finding>) -> Vec<(String, Option<String>, String)> {
    let mut one = scan("app:1");
    one.findings = findings;
    let inputs = vec![ec_domain::snapshot::ScanInputs {
        verdicts: ec_domain::policy::evaluate(&Default::default(), &one, &[]),
        scan: one,
        vex: Vec::new(),
        sbom: None,
    }];
    let body = json!({"type": "scan_report", "format": "sarif", "scope": {"scan_ids": ["scan-1"]}});
    let req = ec_domain::request::ExportRequest::from_json(&body, "t").expect("request");
    let snap = ec_domain::snapshot::Snapshot::new(
        "exp-1".parse().unwrap(),
        "t".parse().unwrap(),
        req,
        "u".into(),
        time::OffsetDateTime::UNIX_EPOCH,
        inputs,
    );
    let out = render_within(&ReportView::new(&snap), super::limits::GITHUB).expect("render");
    let doc: Value = serde_json::from_slice(&out).expect("JSON");
    doc["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or_default().to_string(),
                r["properties"]["security-severity"]
                    .as_str()
                    .map(str::to_string),
                r["defaultConfiguration"]["level"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect()
}

fn scored(mut f: ec_domain::scan::Finding, score: f64) -> ec_domain::scan::Finding {
    f.cvss.push(ec_domain::scan::Cvss {
        source: "nvd".into(),
        version: "3.1".into(),
        vector: None,
        score: Some(score),
    });
    f
}

/// GitHub's band of a `security-severity`.
fn band(score: &str) -> &'static str {
    match score.parse::<f64>().unwrap_or(-1.0) {
        s if s >= 9.0 => "critical",
        s if s >= 7.0 => "high",
        s if s >= 4.0 => "medium",
        s if s >= 0.1 => "low",
        _ => "none",
    }
}

/// Issue 13, defect 3: the band is the scanner's severity (the highest of the rule's
/// findings), never the highest CVSS of some other source; negligible and unknown carry no
/// `security-severity` and are notes.
#[test]
fn security_severity_follows_the_scanners_severity() {
    use Severity::*;
    let rules = rule_scores(vec![
        scored(finding("CVE-LOW-10", "a", Low), 10.0),
        scored(finding("CVE-CRIT-5", "b", Critical), 5.0),
        finding("CVE-HIGH", "c", High),
        scored(finding("CVE-MED", "d", Medium), 6.1),
        scored(finding("CVE-NEG", "e", Negligible), 7.5),
        finding("CVE-UNK", "f", Unknown),
        // One rule, two findings: the highest severity decides.
        scored(finding("CVE-MIX", "g", Low), 9.8),
        finding("CVE-MIX", "h", High),
    ]);
    let get = |id: &str| rules.iter().find(|r| r.0 == id).cloned().expect(id);
    for (id, expected) in [
        ("CVE-LOW-10", "low"),
        ("CVE-CRIT-5", "critical"),
        ("CVE-HIGH", "high"),
        ("CVE-MED", "medium"),
        ("CVE-MIX", "high"),
    ] {
        let (_, score, _) = get(id);
        assert_eq!(
            band(score.as_deref().unwrap_or("x")),
            expected,
            "{id}: {score:?}"
        );
    }
    assert_eq!(
        get("CVE-MED").1.as_deref(),
        Some("6.1"),
        "an in-band score is kept"
    );
    for id in ["CVE-NEG", "CVE-UNK"] {
        let (_, score, level) = get(id);
        assert_eq!((score, level.as_str()), (None, "note"), "{id}");
    }
}
