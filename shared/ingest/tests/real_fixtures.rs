//! Every vendored real Trivy and Grype report parses, and the parsed findings agree with an
//! independent walk of the raw JSON.

use std::collections::BTreeSet;

use ec_domain::scan::{Finding, Scan, Severity};
use ec_domain::{ApiError, ErrorCode};
use ec_ingest::{GRYPE_JSON, IngestError, TRIVY_JSON_LEGACY, TRIVY_JSON_V2, parse_document};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/real");
const AT: OffsetDateTime = datetime!(2025-03-04 05:06:07 UTC);

const TRIVY_FILES: &[&str] = &[
    "trivy-golden_alpine-310.json",
    "trivy-golden_amazon-2.json",
    "trivy-golden_centos-7.json",
    "trivy-golden_debian-stretch_2021-10-04.json",
    "trivy-golden_gomod.json",
    "trivy-golden_npm.json",
    "trivy-golden_ubuntu-1804.json",
];

const GRYPE_FILES: &[&str] = &[
    "defectdojo_grype_many_vulns_with_epss_values.json",
    "grype-explain_chainguard-ruby-test.json",
    "grype-explain_keycloak-test.json",
];

fn read(dir: &str, file: &str) -> Vec<u8> {
    let path = format!("{FIXTURES}/{dir}/{file}");
    std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn raw(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("fixture is not JSON: {e}"))
}

fn scan_of(bytes: &[u8], what: &str) -> Scan {
    scan_for(bytes, "tenant-a", what)
}

fn scan_for(bytes: &[u8], tenant: &str, what: &str) -> Scan {
    match parse_document(bytes, &tenant.parse().unwrap(), AT) {
        Ok(i) => {
            assert!(i.vex.is_empty(), "{what}: scanner reports carry no VEX");
            i.scan
                .unwrap_or_else(|| panic!("{what}: {} gave no scan", i.source_format))
        }
        Err(e) => panic!("{what}: {e} ({})", e.code()),
    }
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn list(v: &Value, key: &str) -> Vec<Value> {
    v.get(key)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

fn triples(findings: &[Finding]) -> BTreeSet<(String, String, Severity)> {
    findings
        .iter()
        .map(|f| (f.vulnerability_id.clone(), f.package.clone(), f.severity))
        .collect()
}

fn find<'a>(scan: &'a Scan, id: &str, package: &str) -> &'a Finding {
    scan.findings
        .iter()
        .find(|f| f.vulnerability_id == id && f.package == package)
        .unwrap_or_else(|| panic!("no finding {id} in {package}"))
}

#[test]
fn every_trivy_fixture_parses_and_matches_the_raw_document() {
    for file in TRIVY_FILES {
        let bytes = read("trivy", file);
        let doc = raw(&bytes);
        let scan = scan_of(&bytes, file);
        assert_eq!(scan.source_format, TRIVY_JSON_V2, "{file}");
        assert_eq!(scan.scanner.name, "trivy", "{file}");
        assert_eq!(scan.tenant_id, "tenant-a");
        assert_eq!(scan.ingested_at, AT);
        assert_eq!(scan.artifact.name, s(&doc, "ArtifactName"), "{file}");
        assert_eq!(scan.artifact.kind, s(&doc, "ArtifactType"), "{file}");

        let mut count = 0;
        let mut raw_triples = BTreeSet::new();
        for result in list(&doc, "Results") {
            for v in list(&result, "Vulnerabilities") {
                count += 1;
                raw_triples.insert((
                    s(&v, "VulnerabilityID").to_string(),
                    s(&v, "PkgName").to_string(),
                    Severity::parse_lenient(s(&v, "Severity")),
                ));
            }
        }
        assert!(count > 0, "{file} has no vulnerabilities");
        assert_eq!(scan.findings.len(), count, "{file}");
        let parsed = triples(&scan.findings);
        assert!(
            raw_triples.is_subset(&parsed),
            "{file}: {:?}",
            raw_triples.difference(&parsed)
        );
        assert!(!scan.components.is_empty(), "{file}");
        for f in &scan.findings {
            assert!(f.target.is_some(), "{file}: {f:?}");
            assert!(
                !f.installed_version.is_empty(),
                "{file}: {}",
                f.vulnerability_id
            );
        }
        // Whenever the document states a creation time, it is the scan time.
        if doc.get("CreatedAt").is_some() {
            assert_eq!(
                scan.scanned_at,
                datetime!(2021-08-25 12:20:30 UTC),
                "{file}"
            );
        } else {
            assert_eq!(scan.scanned_at, AT, "{file}");
        }
    }
}

#[test]
fn every_grype_fixture_parses_and_matches_the_raw_document() {
    for file in GRYPE_FILES {
        let bytes = read("grype", file);
        let doc = raw(&bytes);
        let scan = scan_of(&bytes, file);
        assert_eq!(scan.source_format, GRYPE_JSON, "{file}");
        assert_eq!(scan.scanner.name, "grype", "{file}");
        assert_eq!(
            scan.scanner.version.as_deref(),
            doc.pointer("/descriptor/version").and_then(Value::as_str),
            "{file}"
        );
        assert_eq!(
            Some(scan.artifact.name.as_str()),
            doc.pointer("/source/target/userInput")
                .and_then(Value::as_str),
            "{file}"
        );

        let matches = list(&doc, "matches");
        assert!(!matches.is_empty(), "{file}");
        assert_eq!(scan.findings.len(), matches.len(), "{file}");
        let raw_triples: BTreeSet<_> = matches
            .iter()
            .map(|m| {
                (
                    m.pointer("/vulnerability/id")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    m.pointer("/artifact/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    Severity::parse_lenient(
                        m.pointer("/vulnerability/severity")
                            .and_then(Value::as_str)
                            .unwrap_or(""),
                    ),
                )
            })
            .collect();
        let parsed = triples(&scan.findings);
        assert!(
            raw_triples.is_subset(&parsed),
            "{file}: {:?}",
            raw_triples.difference(&parsed)
        );

        let raw_artifacts: BTreeSet<_> = matches
            .iter()
            .map(|m| {
                (
                    m.pointer("/artifact/name")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                    m.pointer("/artifact/version")
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                )
            })
            .collect();
        let components: BTreeSet<_> = scan
            .components
            .iter()
            .map(|c| (c.name.clone(), c.version.clone()))
            .collect();
        assert_eq!(components, raw_artifacts, "{file}");
        for f in &scan.findings {
            assert!(f.target.is_some(), "{file}: {f:?}");
            assert!(!f.aliases.contains(&f.vulnerability_id), "{file}: {f:?}");
        }
    }
}

#[test]
fn trivy_alpine_spot_values() {
    let scan = scan_of(&read("trivy", "trivy-golden_alpine-310.json"), "alpine");
    assert_eq!(scan.scanner.version.as_deref(), Some("dev"));
    assert_eq!(scan.artifact.kind, "container_image");
    assert_eq!(scan.artifact.os.as_deref(), Some("alpine 3.10.2"));
    assert_eq!(
        scan.artifact.digest.as_deref(),
        Some("sha256:961769676411f082461f9ef46626dd7a2d1e2b2a38e6a44364bcbecf51e66dd4")
    );
    assert_eq!(scan.findings.len(), 4);

    let f = find(&scan, "CVE-2019-1549", "libssl1.1");
    assert_eq!(f.installed_version, "1.1.1c-r0");
    assert_eq!(f.fixed_version.as_deref(), Some("1.1.1d-r0"));
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.status.as_deref(), Some("fixed"));
    assert_eq!(f.package_type.as_deref(), Some("alpine"));
    assert_eq!(
        f.purl.as_deref(),
        Some("pkg:apk/alpine/libssl1.1@1.1.1c-r0?arch=x86_64&distro=3.10.2")
    );
    assert_eq!(
        f.title.as_deref(),
        Some("openssl: information disclosure in fork()")
    );
    assert_eq!(f.max_score(), Some(5.3));
    let nvd3 = f
        .cvss
        .iter()
        .find(|c| c.source == "nvd" && c.version == "3.1")
        .unwrap_or_else(|| panic!("no nvd 3.1 score: {:?}", f.cvss));
    assert_eq!(nvd3.score, Some(5.3));
    assert_eq!(
        nvd3.vector.as_deref(),
        Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N")
    );
    let redhat = f
        .cvss
        .iter()
        .find(|c| c.source == "redhat")
        .unwrap_or_else(|| panic!("no redhat score: {:?}", f.cvss));
    assert_eq!((redhat.version.as_str(), redhat.score), ("3.0", Some(4.8)));
    assert!(
        f.cvss
            .iter()
            .any(|c| c.source == "nvd" && c.version == "2.0" && c.score == Some(5.0))
    );
    assert_eq!(f.cvss.len(), 3);
    assert_eq!(
        f.references.first().map(|r| &**r),
        Some("https://avd.aquasec.com/nvd/cve-2019-1549")
    );
    assert_eq!(f.references.len(), 21);

    let f = find(&scan, "CVE-2019-1551", "libcrypto1.1");
    assert_eq!(f.fixed_version.as_deref(), Some("1.1.1d-r2"));

    // No Packages in the report: components are the vulnerable packages.
    let names: Vec<&str> = scan.components.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, vec!["libcrypto1.1", "libssl1.1"]);
}

#[test]
fn trivy_other_spot_values() {
    let scan = scan_of(&read("trivy", "trivy-golden_centos-7.json"), "centos");
    let f = find(&scan, "CVE-2019-1559", "openssl-libs");
    assert_eq!(f.aliases, vec!["RHSA-2019:2304".to_string()]);

    let scan = scan_of(&read("trivy", "trivy-golden_amazon-2.json"), "amazon");
    assert_eq!(scan.artifact.os.as_deref(), Some("amazon 2 (Karoo)"));

    let scan = scan_of(&read("trivy", "trivy-golden_npm.json"), "npm");
    assert_eq!(scan.artifact.kind, "repository");
    assert_eq!(scan.artifact.os, None);
    assert_eq!(scan.artifact.digest, None);
    // Components come from Packages, including packages without vulnerabilities.
    assert_eq!(scan.components.len(), 12);
    let jquery = scan
        .components
        .iter()
        .find(|c| c.name == "jquery")
        .unwrap_or_else(|| panic!("no jquery component"));
    assert_eq!(jquery.version, "3.3.9");
    assert_eq!(jquery.purl.as_deref(), Some("pkg:npm/jquery@3.3.9"));
    assert_eq!(jquery.licenses, vec!["MIT".to_string()]);
    assert_eq!(jquery.package_type.as_deref(), Some("npm"));
    let f = find(&scan, "CVE-2019-11358", "jquery");
    assert_eq!(f.fixed_version.as_deref(), Some("3.4.0"));
    assert_eq!(f.target.as_deref(), Some("package-lock.json"));

    // The same advisory in three go.mod targets is three findings, ordered by target.
    let scan = scan_of(&read("trivy", "trivy-golden_gomod.json"), "gomod");
    let targets: Vec<&str> = scan
        .findings
        .iter()
        .filter(|f| f.vulnerability_id == "GMS-2022-20")
        .filter_map(|f| f.target.as_deref())
        .collect();
    assert_eq!(targets, vec!["go.mod", "submod/go.mod", "submod2/go.mod"]);
    assert!(
        scan.findings
            .iter()
            .filter(|f| f.vulnerability_id == "GMS-2022-20")
            .all(|f| f.cvss.is_empty() && f.severity == Severity::Unknown)
    );

    // The 2021 golden has no CreatedAt, Trivy block or Status.
    let scan = scan_of(
        &read("trivy", "trivy-golden_debian-stretch_2021-10-04.json"),
        "debian",
    );
    assert_eq!(scan.scanner.version, None);
    assert_eq!(scan.scanned_at, AT);
    assert!(scan.findings.iter().all(|f| f.status.is_none()));
    assert_eq!(
        scan.findings
            .iter()
            .filter(|f| f.fixed_version.is_some())
            .count(),
        4
    );
}

#[test]
fn grype_spot_values() {
    // 0.61: relatedVulnerabilities give aliases and scores; no cvss `source` field.
    let scan = scan_of(
        &read("grype", "grype-explain_chainguard-ruby-test.json"),
        "ruby",
    );
    assert_eq!(scan.scanner.version.as_deref(), Some("0.61.1"));
    assert_eq!(scan.artifact.kind, "image");
    assert_eq!(scan.artifact.os.as_deref(), Some("wolfi 20221118"));
    assert_eq!(
        scan.artifact.digest.as_deref(),
        Some("sha256:86abe662dfa3746038eea6b0db91092b0767d78b8b8938a343d614cd1579adc2")
    );
    assert_eq!(scan.scanned_at, datetime!(2023-05-18 01:00:56 UTC));
    let ghsa = find(&scan, "GHSA-hv5j-3h9f-99c2", "uri");
    assert_eq!(ghsa.aliases, vec!["CVE-2023-28755".to_string()]);
    assert_eq!(ghsa.fixed_version.as_deref(), Some("0.10.2"));
    assert_eq!(ghsa.status.as_deref(), Some("fixed"));
    assert_eq!(ghsa.severity, Severity::High);
    assert_eq!(ghsa.max_score(), Some(7.5));
    assert_eq!(ghsa.cvss[0].source, "nvd");
    assert_eq!(ghsa.package_type.as_deref(), Some("gem"));
    assert_eq!(ghsa.purl.as_deref(), Some("pkg:gem/uri@0.10.1"));
    assert_eq!(
        ghsa.target.as_deref(),
        Some("/usr/lib/ruby/gems/3.0.0/specifications/default/uri-0.10.1.gemspec")
    );
    assert_eq!(
        ghsa.references,
        ["https://github.com/advisories/GHSA-hv5j-3h9f-99c2".into()]
    );
    // A related record with the match's own id is not an alias.
    let apk = find(&scan, "CVE-2023-28755", "ruby-3.0");
    assert!(apk.aliases.is_empty());
    assert_eq!(apk.fixed_version.as_deref(), Some("3.0.6-r0"));
    assert!(
        apk.description
            .as_deref()
            .is_some_and(|d| d.contains("ReDoS"))
    );
    let uri = find(&scan, "CVE-2023-28755", "uri");
    assert_eq!(uri.fixed_version, None);
    assert_eq!(uri.status.as_deref(), Some("unknown"));
    let ruby = scan
        .components
        .iter()
        .find(|c| c.name == "ruby-3.0")
        .unwrap_or_else(|| panic!("no ruby component"));
    assert_eq!(ruby.licenses, vec!["PSF-2.0".to_string()]);
    assert_eq!(ruby.package_type.as_deref(), Some("apk"));

    // 0.66: the match's redhat score and the related NVD score both kept.
    let scan = scan_of(
        &read("grype", "grype-explain_keycloak-test.json"),
        "keycloak",
    );
    assert_eq!(scan.artifact.os.as_deref(), Some("redhat 9.1"));
    let f = find(&scan, "CVE-2020-12413", "nss");
    assert_eq!(f.status.as_deref(), Some("wont-fix"));
    assert_eq!(f.severity, Severity::Low);
    let sources: Vec<&str> = f.cvss.iter().map(|c| c.source.as_str()).collect();
    assert_eq!(sources, vec!["redhat", "nvd@nist.gov"]);
    assert_eq!(scan.components.len(), 6);

    // 0.94: cvss with `source`, nanosecond UTC timestamp.
    let scan = scan_of(
        &read("grype", "defectdojo_grype_many_vulns_with_epss_values.json"),
        "busybox",
    );
    assert_eq!(scan.scanner.version.as_deref(), Some("0.94.0"));
    assert_eq!(scan.artifact.name, "busybox:1.32.1");
    assert_eq!(scan.artifact.os.as_deref(), Some("busybox 1.32.1"));
    assert_eq!(scan.scanned_at, datetime!(2025-06-19 11:43:35 UTC));
    let f = find(&scan, "CVE-2022-48174", "busybox");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.max_score(), Some(9.8));
    assert_eq!(f.cvss[0].source, "nvd@nist.gov");
    assert_eq!(f.fixed_version, None);
    assert_eq!(f.status, None, "an empty fix.state is no status");
    let f = find(&scan, "CVE-2021-42376", "busybox");
    assert_eq!(f.fixed_version.as_deref(), Some("1.34.0"));
    assert!(
        f.cvss
            .iter()
            .any(|c| c.version == "2.0" && c.score == Some(1.9))
    );
    assert_eq!(scan.components.len(), 1);
    assert_eq!(scan.severity_counts()[&Severity::High], 10);
}

#[test]
fn legacy_trivy_array_reads_like_v2() {
    for file in TRIVY_FILES {
        let bytes = read("trivy", file);
        let doc = raw(&bytes);
        let v2 = scan_of(&bytes, file);
        let legacy_bytes =
            serde_json::to_vec(&doc["Results"]).unwrap_or_else(|e| panic!("{file}: {e}"));
        let legacy = scan_of(&legacy_bytes, file);
        assert_eq!(legacy.source_format, TRIVY_JSON_LEGACY, "{file}");
        assert_eq!(legacy.findings, v2.findings, "{file}");
        assert_eq!(legacy.components, v2.components, "{file}");
        assert_eq!(legacy.scanner.version, None);
        assert_eq!(legacy.scanned_at, AT);
        assert_ne!(legacy.scan_id, v2.scan_id);
    }
    let alpine = raw(&read("trivy", "trivy-golden_alpine-310.json"));
    let bytes = serde_json::to_vec(&alpine["Results"]).unwrap_or_default();
    let legacy = scan_of(&bytes, "alpine legacy");
    assert_eq!(
        legacy.artifact.name,
        "testdata/fixtures/images/alpine-310.tar.gz"
    );
    assert_eq!(legacy.artifact.os.as_deref(), Some("alpine 3.10.2"));
}

fn expect_err(bytes: &[u8]) -> IngestError {
    match parse_document(bytes, &"tenant-a".parse().unwrap(), AT) {
        Ok(i) => panic!("unexpectedly parsed as {}", i.source_format),
        Err(e) => e,
    }
}

#[test]
fn non_reports_are_rejected() {
    let e = expect_err(b"<html>not json</html>");
    assert!(matches!(e, IngestError::NotJson(_)), "{e:?}");
    assert_eq!(e.code(), "INGEST_NOT_JSON");
    let api: ApiError = e.into();
    assert_eq!((api.code, api.status()), (ErrorCode::MalformedBody, 400));

    for doc in [&b"{}"[..], b"[]", b"\"trivy\"", b"{\"Results\": []}"] {
        let e = expect_err(doc);
        assert!(matches!(e, IngestError::Unrecognised { .. }), "{e:?}");
        assert_eq!(e.code(), "INGEST_UNRECOGNISED");
    }

    // Other JSON that merely resembles a supported format.
    for doc in [
        &br#"{"bomFormat": "SPDX"}"#[..],
        br#"{"spdxVersion": ["SPDX-2.3"]}"#,
        br#"{"@context": "https://example.com/ns", "statements": []}"#,
        br#"{"document": {"category": "csaf_vex"}}"#,
    ] {
        let e = expect_err(doc);
        assert!(matches!(e, IngestError::Unrecognised { .. }), "{e:?}");
        let api: ApiError = e.into();
        assert_eq!(api.code, ErrorCode::UnrecognisedDocument);
        assert_eq!(api.status(), 422);
        assert!(
            api.message.contains("expected a Trivy JSON report"),
            "{}",
            api.message
        );
    }
}

#[test]
fn a_broken_trivy_report_is_invalid() {
    let mut doc = raw(&read("trivy", "trivy-golden_alpine-310.json"));
    if let Some(v) = doc.pointer_mut("/Results/0/Vulnerabilities/2")
        && let Some(o) = v.as_object_mut()
    {
        o.remove("VulnerabilityID");
    }
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    let e = expect_err(&bytes);
    match &e {
        IngestError::Invalid { format, reason } => {
            assert_eq!(*format, TRIVY_JSON_V2);
            assert!(reason.contains("Results[0].Vulnerabilities[2]"), "{reason}");
            assert!(reason.contains("VulnerabilityID"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(e.code(), "INGEST_INVALID");
    let api: ApiError = e.into();
    assert_eq!(api.code, ErrorCode::UnrecognisedDocument);
}

#[test]
fn scan_identity() {
    let bytes = read("grype", "grype-explain_keycloak-test.json");
    let a = scan_of(&bytes, "a");
    let again = scan_of(&bytes, "again");
    assert_eq!(a.scan_id, again.scan_id);
    assert_eq!(a, again, "parsing is deterministic");
    assert!(a.scan_id.starts_with("scan-"));
    assert_eq!(
        a.scan_id.as_str(),
        ec_domain::ids::scan_id_for("tenant-a", &bytes)
    );
    assert_eq!(a.document_sha256, ec_domain::ids::sha256_hex(&bytes));

    let other = scan_for(&bytes, "tenant-b", "tenant-b");
    assert_ne!(other.scan_id, a.scan_id);
    assert_eq!(other.tenant_id, "tenant-b");
    assert_eq!(other.document_sha256, a.document_sha256);

    let mut changed = bytes.clone();
    changed.push(b'\n');
    assert_ne!(scan_of(&changed, "changed").scan_id, a.scan_id);
}

/// A document given up to the reader (`parse_owned_document`, which frees the text before
/// sorting) reads exactly as one lent to it, for every kind of fixture.
#[test]
fn owned_and_lent_documents_read_alike() {
    let tenant: ec_domain::TenantId = "tenant-a".parse().unwrap();
    let at = time::macros::datetime!(2025-01-02 03:04:05 UTC);
    for (dir, file) in [
        ("trivy", "trivy-golden_alpine-310.json"),
        ("grype", "defectdojo_grype_many_vulns_with_epss_values.json"),
        ("spdx", "spdx-spec_SPDXJSONExample-v2.3.spdx.json"),
    ] {
        let bytes = read(dir, file);
        let lent = ec_ingest::parse_document(&bytes, &tenant, at).unwrap();
        let owned = ec_ingest::parse_owned_document(bytes, &tenant, at).unwrap();
        assert_eq!(owned, lent, "{dir}/{file}");
        let read_something = lent
            .scan
            .is_some_and(|s| !s.findings.is_empty() || !s.components.is_empty());
        assert!(read_something, "{dir}/{file}");
    }
}
