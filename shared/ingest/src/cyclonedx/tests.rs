//! Unit tests of the CycloneDX reader, beside it so that `cyclonedx.rs` holds the reader
//! alone.

use crate::CYCLONEDX_JSON_1_5;
use crate::test_support::{error_of, read};
use ec_domain::scan::{Dependency, Severity, VexStatus};
use time::macros::datetime;

const BOM: &str = r#"{
      "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": "urn:uuid:1111", "version": 1,
      "metadata": {
        "timestamp": "2024-06-01T10:00:00Z",
        "tools": {"components": [{"type": "application", "name": "syft", "version": "1.4.1"}]},
        "component": {"bom-ref": "root", "type": "container", "name": "registry.example/app",
                      "purl": "pkg:oci/app@sha256%3Aabcdef?repository_url=registry.example/app"}
      },
      "components": [
        {"bom-ref": "os", "type": "operating-system", "name": "debian", "version": "12.5"},
        {"bom-ref": "app-jar", "type": "application", "name": "app.jar", "components": [
          {"bom-ref": "jackson", "type": "library", "group": "com.fasterxml.jackson.core",
           "name": "jackson-databind", "version": "2.9.4",
           "purl": "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4",
           "licenses": [{"license": {"id": "Apache-2.0"}}, {"license": {"name": "Custom"}}]},
          {"bom-ref": "annotations", "type": "library", "name": "jackson-annotations", "version": "2.9.0",
           "purl": "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.0",
           "licenses": [{"expression": "Apache-2.0 OR MIT"}]}]}
      ],
      "dependencies": [
        {"ref": "root", "dependsOn": ["app-jar"]},
        {"ref": "app-jar", "dependsOn": ["jackson"]},
        {"ref": "jackson", "dependsOn": ["annotations", "app-jar", "pkg:maven/org.example/outside@1.0"]},
        {"ref": "annotations", "dependsOn": []}
      ],
      "vulnerabilities": [
        {"id": "CVE-2018-7489", "source": {"name": "NVD", "url": "https://nvd.nist.gov/vuln/detail/CVE-2018-7489"},
         "references": [{"id": "GHSA-645p-88qh-w398", "source": {"url": "https://github.com/advisories/GHSA-645p-88qh-w398"}},
                        {"id": "CVE-2018-7489"}],
         "ratings": [{"source": {"name": "NVD"}, "score": 9.8, "method": "CVSSv3",
                      "vector": "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"},
                     {"method": "other", "score": 3.0}],
         "cwes": [184],
         "description": "jackson-databind allows remote code execution",
         "recommendation": "Upgrade to 2.9.5",
         "affects": [{"ref": "jackson", "versions": [{"version": "2.9.5", "status": "unaffected"},
                                                    {"range": "vers:maven/<2.9.5", "status": "affected"}]},
                     {"ref": "urn:cdx:2222/1#pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.8.0"},
                     {"ref": "other-bom-thing"}],
         "analysis": {"state": "false_positive", "justification": "code_not_reachable",
                      "response": ["will_not_fix"], "detail": "not on the classpath"}}
      ]
    }"#;

#[test]
fn a_bom_with_analysed_vulnerabilities_is_a_scan_with_vex() {
    let i = read(BOM);
    assert_eq!(i.source_format, CYCLONEDX_JSON_1_5);
    let Some(scan) = &i.scan else {
        panic!("no scan")
    };
    assert_eq!(scan.artifact.name, "registry.example/app");
    assert_eq!(scan.artifact.kind, "container");
    assert_eq!(scan.artifact.digest.as_deref(), Some("sha256:abcdef"));
    assert_eq!(scan.artifact.os.as_deref(), Some("debian 12.5"));
    assert_eq!(scan.scanner.name, "syft");
    assert_eq!(scan.scanner.version.as_deref(), Some("1.4.1"));
    assert_eq!(scan.scanned_at, datetime!(2024-06-01 10:00:00 UTC));

    // Nested components count; metadata.component is the artifact, not a component.
    let names: Vec<&str> = scan.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        vec![
            "app.jar",
            "debian",
            "jackson-annotations",
            "jackson-databind"
        ]
    );
    let jackson = &scan.components[3];
    assert_eq!(jackson.package_type.as_deref(), Some("maven"));
    assert_eq!(
        jackson.licenses,
        vec!["Apache-2.0".to_string(), "Custom".to_string()]
    );
    assert_eq!(
        scan.components[2].licenses,
        vec!["Apache-2.0 OR MIT".to_string()]
    );
    assert_eq!(scan.components[0].package_type, None);

    // Only purl-named refs: app-jar drops out (so does root, whose only dependency is
    // app-jar), an outside purl stays.
    assert_eq!(
        scan.dependencies,
        vec![
            Dependency {
                purl: "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.0".into(),
                depends_on: vec![],
            },
            Dependency {
                purl: "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4".into(),
                depends_on: vec![
                    "pkg:maven/com.fasterxml.jackson.core/jackson-annotations@2.9.0".into(),
                    "pkg:maven/org.example/outside@1.0".into(),
                ],
            },
        ]
    );

    // One finding per affected ref: resolved, BOM-Link to a purl, unresolved plain ref.
    let found: Vec<(&str, &str, Option<&str>)> = scan
        .findings
        .iter()
        .map(|f| {
            (
                f.package.as_str(),
                f.installed_version.as_str(),
                f.purl.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "jackson-databind",
                "2.9.4",
                Some("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4")
            ),
            ("other-bom-thing", "", None),
            (
                "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.8.0",
                "2.8.0",
                Some("pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.8.0")
            ),
        ]
    );
    let f = &scan.findings[0];
    assert_eq!(f.vulnerability_id, "CVE-2018-7489");
    assert_eq!(f.aliases, vec!["GHSA-645p-88qh-w398".to_string()]);
    assert_eq!(
        f.severity,
        Severity::Critical,
        "from the score, no severity stated"
    );
    assert_eq!(f.cvss.len(), 1);
    assert_eq!(
        (f.cvss[0].source.as_str(), f.cvss[0].version.as_str()),
        ("NVD", "3.0")
    );
    assert_eq!(f.fixed_version.as_deref(), Some("2.9.5"));
    assert_eq!(scan.findings[1].fixed_version, None);
    assert_eq!(
        f.references,
        [
            "https://nvd.nist.gov/vuln/detail/CVE-2018-7489",
            "https://github.com/advisories/GHSA-645p-88qh-w398",
        ]
        .map(Into::<std::sync::Arc<str>>::into)
    );
    assert_eq!(f.cwes, [184], "CWEs are first-class, not reference URLs");
    assert_eq!(
        f.description.as_deref(),
        Some("jackson-databind allows remote code execution\n\nRecommendation: Upgrade to 2.9.5")
    );

    assert_eq!(i.vex.len(), 1);
    let s = &i.vex[0];
    assert_eq!(s.status, VexStatus::NotAffected);
    assert_eq!(
        s.products,
        vec![
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4".to_string(),
            "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.8.0".to_string(),
            "other-bom-thing".to_string(),
        ]
    );
    assert_eq!(s.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(s.impact_statement.as_deref(), Some("not on the classpath"));
    assert_eq!(s.action_statement.as_deref(), Some("will_not_fix"));
    assert_eq!(s.timestamp, Some(datetime!(2024-06-01 10:00:00 UTC)));
    assert_eq!(s.source.as_deref(), Some("urn:uuid:1111"));
}

#[test]
fn analysis_states_map_to_vex_statuses() {
    for (state, status) in [
        ("not_affected", VexStatus::NotAffected),
        ("false_positive", VexStatus::NotAffected),
        ("resolved", VexStatus::Fixed),
        ("resolved_with_pedigree", VexStatus::Fixed),
        ("exploitable", VexStatus::Affected),
        ("in_triage", VexStatus::UnderInvestigation),
    ] {
        let doc = format!(
            r#"{{"bomFormat": "CycloneDX", "specVersion": "1.4", "vulnerabilities": [
                    {{"id": "CVE-1", "affects": [{{"ref": "x"}}],
                      "analysis": {{"state": "{state}", "firstIssued": "2022-01-01T00:00:00Z"}}}}]}}"#
        );
        let i = read(&doc);
        assert!(i.scan.is_none(), "{state}");
        assert_eq!(i.vex[0].status, status, "{state}");
        assert_eq!(i.vex[0].products, vec!["x".to_string()]);
        assert_eq!(i.vex[0].timestamp, Some(datetime!(2022-01-01 00:00:00 UTC)));
        assert_eq!(
            i.vex[0].source,
            Some(format!("sha256:{}", i.document_sha256)),
            "no serial number: the document's hash"
        );
    }
}

/// Issue 13, defect 3: the severity is the rating of the vulnerability's own source (for a
/// Trivy-made BOM the finding's `SeveritySource`), else the first rating's — never the
/// highest of all sources, so a Trivy report scores the same as Trivy JSON and CycloneDX.
#[test]
fn severity_is_the_sources_rating_not_the_highest() {
    let bom = |source: &str, ratings: &str| {
        format!(
            r#"{{"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1,
            "metadata": {{"component": {{"bom-ref": "root", "type": "container", "name": "app"}}}},
            "components": [{{"bom-ref": "lib", "type": "library", "name": "lib", "version": "1"}}],
            "vulnerabilities": [{{"id": "CVE-2019-11358", "source": {{"name": "{source}"}},
              "ratings": {ratings}, "affects": [{{"ref": "lib"}}]}}]}}"#
        )
    };
    let severity = |doc: String| {
        let i = read(&doc);
        i.scan.expect("a scan").findings[0].severity
    };
    let ratings = r#"[{"source": {"name": "alma"}, "severity": "medium"},
        {"source": {"name": "nvd"}, "score": 9.8, "severity": "critical", "method": "CVSSv31"},
        {"source": {"name": "ghsa"}, "severity": "low"}]"#;
    assert_eq!(
        severity(bom("ghsa", ratings)),
        Severity::Low,
        "the source's rating"
    );
    assert_eq!(
        severity(bom("GHSA", ratings)),
        Severity::Low,
        "names match in any case"
    );
    assert_eq!(
        severity(bom("osv", ratings)),
        Severity::Medium,
        "else the first rating"
    );
    let scored_first = r#"[{"source": {"name": "nvd"}, "score": 5.3, "method": "CVSSv31"},
        {"source": {"name": "vendor"}, "severity": "critical"}]"#;
    assert_eq!(
        severity(bom("osv", scored_first)),
        Severity::Medium,
        "the first rating's score band when it states no severity"
    );
}

/// A BOM of the given components, dependencies and vulnerabilities (JSON fragments).
fn bom(components: &str, rest: &str) -> String {
    format!(
        r#"{{"bomFormat": "CycloneDX", "specVersion": "1.4", "version": 1,
            "metadata": {{"tools": [{{"vendor": "aquasecurity", "name": "trivy", "version": "0.50.0"}}]}},
            "components": {components}{rest}}}"#
    )
}

/// Parts the schema requires are named by their path when missing or of the wrong shape;
/// optional parts of another type read as absent.
#[test]
fn a_malformed_part_is_named_by_its_path() {
    let nested = r#"[{"name": "a"}, {"name": "b", "components": [{"version": "1"}]}]"#;
    assert_eq!(
        error_of(&bom(nested, "")),
        "invalid cyclonedx-json-1.4 document: components[1].components[0]: missing name"
    );
    assert_eq!(
        error_of(&bom("[7]", "")),
        "invalid cyclonedx-json-1.4 document: components[0]: missing name"
    );
    let not_a_list = error_of(&bom(r#"[{"name": "a", "components": "b"}]"#, ""));
    assert!(
        not_a_list.contains("components[0].components"),
        "{not_a_list}"
    );
    let affects = r#", "vulnerabilities": [{"id": "CVE-1", "affects": [{"ref": "a"}, 3]}]"#;
    assert_eq!(
        error_of(&bom(r#"[{"name": "a", "bom-ref": "a"}]"#, affects)),
        "invalid cyclonedx-json-1.4 document: vulnerabilities[0].affects[1]: missing ref"
    );
    let lenient = r#", "vulnerabilities": [{"id": "CVE-1", "ratings": "high", "cwes": [79, "x", -1],
        "affects": [{"ref": "a", "versions": 5}]}]"#;
    let i = read(&bom(
        r#"[{"name": "a", "bom-ref": "a", "licenses": {"x": 1}}]"#,
        lenient,
    ));
    let scan = i.scan.unwrap();
    assert_eq!(scan.scanner.name, "trivy", "1.4's list of tools");
    assert_eq!(scan.findings.len(), 1);
    assert_eq!(scan.findings[0].cwes, [79]);
    assert_eq!(scan.findings[0].severity, Severity::Unknown);
}

/// `vulnerabilities` present (even `null`) says the BOM was assessed; absent, it lists
/// packages only. A dependency entry whose refs are none of them strings is left out,
/// unlike one that says it depends on nothing.
#[test]
fn assessment_and_dependencies_follow_what_the_document_says() {
    let components = r#"[{"name": "a", "bom-ref": "a", "purl": "pkg:npm/a@1"}]"#;
    assert!(!read(&bom(components, "")).scan.unwrap().assessed);
    let null = read(&bom(components, r#", "vulnerabilities": null"#));
    assert!(null.scan.unwrap().assessed);
    let deps = r#", "dependencies": [{"ref": "a", "dependsOn": [1]}]"#;
    assert!(
        read(&bom(components, deps))
            .scan
            .unwrap()
            .dependencies
            .is_empty()
    );
    let none = r#", "dependencies": [{"ref": "a", "dependsOn": []}]"#;
    assert_eq!(
        read(&bom(components, none)).scan.unwrap().dependencies,
        [Dependency {
            purl: "pkg:npm/a@1".into(),
            depends_on: vec![],
        }]
    );
}
