//! Every vendored CycloneDX, SPDX, OpenVEX and CSAF fixture reads, and what it gives agrees
//! with an independent walk of the raw JSON (counts, ids, purls, statuses), plus spot values.

use std::collections::{BTreeMap, BTreeSet};

use ec_domain::scan::{Scan, Severity, VexStatement, VexStatus};
use ec_ingest::{
    CSAF_VEX_2_0, CYCLONEDX_JSON_1_4, CYCLONEDX_JSON_1_6, Ingested, OPENVEX_0_2_0, SPDX_JSON_2_3,
    parse_document,
};
use serde_json::Value;
use time::OffsetDateTime;
use time::macros::datetime;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/real");
const AT: OffsetDateTime = datetime!(2025-03-04 05:06:07 UTC);

fn read(dir: &str, file: &str) -> (Vec<u8>, Value) {
    let path = format!("{FIXTURES}/{dir}/{file}");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let doc = serde_json::from_slice(&bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
    (bytes, doc)
}

fn ingest(bytes: &[u8], what: &str) -> Ingested {
    let i = match parse_document(bytes, &"tenant-a".parse().unwrap(), AT) {
        Ok(i) => i,
        Err(e) => panic!("{what}: {e} ({})", e.code()),
    };
    assert_eq!(
        i.document_sha256,
        ec_domain::ids::sha256_hex(bytes),
        "{what}"
    );
    // Deterministic: the same bytes read the same.
    match parse_document(bytes, &"tenant-a".parse().unwrap(), AT) {
        Ok(again) => assert_eq!(again, i, "{what}"),
        Err(e) => panic!("{what}: {e}"),
    }
    i
}

fn scan_of<'a>(i: &'a Ingested, what: &str) -> &'a Scan {
    i.scan
        .as_ref()
        .unwrap_or_else(|| panic!("{what}: expected a scan"))
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn statuses(vex: &[VexStatement]) -> BTreeMap<VexStatus, usize> {
    let mut m = BTreeMap::new();
    for s in vex {
        *m.entry(s.status).or_default() += 1;
    }
    m
}

// ---------------------------------------------------------------------------- CycloneDX

/// Every component, nested ones too.
fn cdx_components(list: &[Value], out: &mut Vec<Value>) {
    for c in list {
        out.push(c.clone());
        cdx_components(
            c.get("components")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[]),
            out,
        );
    }
}

fn cdx_state(state: &str) -> VexStatus {
    match state {
        "not_affected" | "false_positive" => VexStatus::NotAffected,
        "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
        "exploitable" => VexStatus::Affected,
        "in_triage" => VexStatus::UnderInvestigation,
        other => panic!("state {other}"),
    }
}

/// Checks a CycloneDX BOM against its raw JSON; returns the reading for spot checks.
fn check_cyclonedx(file: &str, format: &str) -> (Ingested, Value) {
    let (bytes, doc) = read("cyclonedx", file);
    let i = ingest(&bytes, file);
    assert_eq!(i.source_format, format, "{file}");

    let mut components = Vec::new();
    cdx_components(list(&doc, "components"), &mut components);
    // bom-ref → purl, metadata.component included.
    let mut purls: BTreeMap<String, Option<String>> = BTreeMap::new();
    for c in components.iter().chain(doc.pointer("/metadata/component")) {
        if let Some(r) = s(c, "bom-ref") {
            purls.insert(r.to_string(), s(c, "purl").map(str::to_string));
        }
    }
    let ref_purl = |r: &str| -> Option<String> {
        match purls.get(r) {
            Some(p) => p.clone(),
            None => {
                let local = r.rsplit('#').next().unwrap_or(r);
                local.starts_with("pkg:").then(|| local.to_string())
            }
        }
    };
    let vulns = list(&doc, "vulnerabilities");
    let analysed: Vec<&Value> = vulns
        .iter()
        .filter(|v| v.pointer("/analysis/state").is_some())
        .collect();

    // VEX: one statement per analysed vulnerability, same id and status, same products.
    assert_eq!(i.vex.len(), analysed.len(), "{file}");
    for (st, v) in i.vex.iter().zip(&analysed) {
        assert_eq!(Some(st.vulnerability_id.as_str()), s(v, "id"), "{file}");
        let state = v
            .pointer("/analysis/state")
            .and_then(Value::as_str)
            .unwrap_or_default();
        assert_eq!(st.status, cdx_state(state), "{file}");
        assert_eq!(
            st.justification.as_deref(),
            v.pointer("/analysis/justification").and_then(Value::as_str),
            "{file}"
        );
        let want: BTreeSet<String> = list(v, "affects")
            .iter()
            .filter_map(|a| s(a, "ref"))
            .map(|r| ref_purl(r).unwrap_or_else(|| r.rsplit('#').next().unwrap_or(r).to_string()))
            .collect();
        let got: BTreeSet<String> = st.products.iter().cloned().collect();
        assert_eq!(got, want, "{file}");
    }

    let vex_only = components.is_empty() && !vulns.is_empty() && analysed.len() == vulns.len();
    assert_eq!(i.scan.is_none(), vex_only, "{file}");
    if let Some(scan) = &i.scan {
        assert_eq!(scan.source_format, format);
        assert_eq!(scan.components.len(), components.len(), "{file}");
        let want: BTreeSet<Option<String>> = components
            .iter()
            .map(|c| s(c, "purl").map(str::to_string))
            .collect();
        let got: BTreeSet<Option<String>> =
            scan.components.iter().map(|c| c.purl.clone()).collect();
        assert_eq!(got, want, "{file}");

        // One finding per (vulnerability, affected ref), by purl.
        let want: BTreeSet<(String, Option<String>)> = vulns
            .iter()
            .flat_map(|v| {
                list(v, "affects").iter().map(move |a| {
                    (
                        s(v, "id").unwrap_or_default().to_string(),
                        s(a, "ref").and_then(ref_purl),
                    )
                })
            })
            .collect();
        let count: usize = vulns.iter().map(|v| list(v, "affects").len()).sum();
        assert_eq!(scan.findings.len(), count, "{file}");
        let got: BTreeSet<(String, Option<String>)> = scan
            .findings
            .iter()
            .map(|f| (f.vulnerability_id.clone(), f.purl.clone()))
            .collect();
        assert_eq!(got, want, "{file}");

        // Dependencies: purl-named entries whose dependencies (if any) include a purl.
        let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for d in list(&doc, "dependencies") {
            let Some(from) = s(d, "ref").and_then(ref_purl) else {
                continue;
            };
            let raw = list(d, "dependsOn");
            let to: BTreeSet<String> = raw
                .iter()
                .filter_map(Value::as_str)
                .filter_map(ref_purl)
                .collect();
            if raw.is_empty() || !to.is_empty() {
                want.entry(from).or_default().extend(to);
            }
        }
        let got: BTreeMap<String, BTreeSet<String>> = scan
            .dependencies
            .iter()
            .map(|d| (d.purl.clone(), d.depends_on.iter().cloned().collect()))
            .collect();
        assert_eq!(got, want, "{file}");
    }
    (i, doc)
}

#[test]
fn cyclonedx_trivy_sbom_with_a_vulnerability() {
    let (i, doc) = check_cyclonedx("trivy-golden_npm-cyclonedx_1.6.json", CYCLONEDX_JSON_1_6);
    let scan = scan_of(&i, "npm cdx");
    assert!(i.vex.is_empty());
    assert_eq!(scan.artifact.name, "testdata/fixtures/repo/npm");
    assert_eq!(scan.artifact.kind, "application");
    assert_eq!(scan.scanner.name, "trivy");
    assert_eq!(scan.scanner.version.as_deref(), Some("dev"));
    assert_eq!(scan.scanned_at, datetime!(2021-08-25 12:20:30 UTC));
    // 12 npm packages and Trivy's package-lock.json application component.
    assert_eq!(scan.components.len(), 13);
    assert_eq!(
        scan.dependencies.len(),
        list(&doc, "dependencies").len() - 2
    );

    let f = &scan.findings[0];
    assert_eq!(f.vulnerability_id, "CVE-2019-11358");
    assert_eq!(f.package, "jquery");
    assert_eq!(f.installed_version, "3.3.9");
    assert_eq!(f.package_type.as_deref(), Some("npm"));
    assert_eq!(
        f.severity,
        Severity::Medium,
        "highest of medium and low ratings"
    );
    let cvss: BTreeSet<(&str, &str, Option<u64>)> = f
        .cvss
        .iter()
        .map(|c| {
            (
                c.source.as_str(),
                c.version.as_str(),
                c.score.map(|s| (s * 10.0).round() as u64),
            )
        })
        .collect();
    assert_eq!(
        cvss,
        BTreeSet::from([
            ("nvd", "2.0", Some(43)),
            ("nvd", "3.1", Some(61)),
            ("redhat", "3.0", Some(56))
        ])
    );
    assert!(f.references.len() > 80);
    assert_eq!(f.cwes, [79], "the BOM's cwes, first-class");
    assert!(
        f.description
            .as_deref()
            .is_some_and(|d| d.ends_with("Recommendation: Upgrade jquery to version 3.4.0"))
    );
    let jquery = scan
        .components
        .iter()
        .find(|c| c.name == "jquery")
        .unwrap_or_else(|| panic!("no jquery"));
    assert_eq!(jquery.licenses, vec!["MIT".to_string()]);

    // The same project read from Trivy's JSON report: the same packages and finding.
    let (trivy, _) = read("trivy", "trivy-golden_npm.json");
    let trivy = ingest(&trivy, "npm json");
    let trivy = scan_of(&trivy, "npm json");
    let package_purls = |s: &Scan| -> BTreeSet<String> {
        s.components.iter().filter_map(|c| c.purl.clone()).collect()
    };
    assert_eq!(package_purls(scan), package_purls(trivy));
    assert_eq!(trivy.findings[0].purl, f.purl);
    assert_eq!(trivy.findings[0].vulnerability_id, f.vulnerability_id);
}

#[test]
fn cyclonedx_spec_vulnerability_example() {
    let (i, _) = check_cyclonedx("cdx-spec_valid-vulnerability-1.6.json", CYCLONEDX_JSON_1_6);
    let scan = scan_of(&i, "spec 1.6");
    assert_eq!(scan.components.len(), 1);
    let f = &scan.findings[0];
    assert_eq!(
        f.vulnerability_id,
        "SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111"
    );
    assert_eq!(f.aliases, vec!["CVE-2018-7489".to_string()]);
    assert_eq!(f.package, "jackson-databind");
    assert_eq!(f.installed_version, "2.9.4");
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.max_score(), Some(9.8));
    assert_eq!(
        (f.cvss[0].source.as_str(), f.cvss[0].version.as_str()),
        ("NVD", "3.0")
    );
    for url in [
        "https://snyk.io/vuln/SNYK-JAVA-COMFASTERXMLJACKSONCORE-32111",
        "https://github.com/FasterXML/jackson-databind/issues/1931",
    ] {
        assert!(f.references.iter().any(|r| &**r == url), "{url}");
    }
    assert!(f.cwes.contains(&502), "{:?}", f.cwes);
    assert!(f.description.as_deref().is_some_and(|d| {
        d.contains("Recommendation: Upgrade") && d.contains("Workaround: Describe")
    }));

    let st = &i.vex[0];
    assert_eq!(st.status, VexStatus::NotAffected);
    assert_eq!(
        st.products,
        vec!["pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.9.4".to_string()]
    );
    assert_eq!(st.action_statement.as_deref(), Some("will_not_fix, update"));
    assert!(
        st.impact_statement
            .as_deref()
            .is_some_and(|d| d.starts_with("An optional"))
    );
    assert_eq!(
        st.timestamp,
        Some(datetime!(2022-02-01 00:00:00 UTC)),
        "lastUpdated"
    );
    assert_eq!(
        st.source.as_deref(),
        Some("urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79")
    );
    // The BOM's own analysis applies to its own finding.
    assert_eq!(
        ec_domain::vex::effective_status(&i.vex, &f.vulnerability_id, f.purl.as_deref()),
        Some(VexStatus::NotAffected)
    );
}

#[test]
fn cyclonedx_standalone_vex_points_into_another_bom() {
    let (i, _) = check_cyclonedx("bom-examples_VEX_vex.json", CYCLONEDX_JSON_1_4);
    assert!(i.scan.is_none());
    let st = &i.vex[0];
    assert_eq!(st.vulnerability_id, "CVE-2020-25649");
    // urn:cdx:<serial>/1#<purl> names the purl in the other BOM.
    assert_eq!(
        st.products,
        vec!["pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar".to_string()]
    );
    assert_eq!(st.justification.as_deref(), Some("code_not_reachable"));
    assert_eq!(st.timestamp, None, "no analysis or BOM timestamp");
    assert_eq!(
        st.source.as_deref(),
        Some(format!("sha256:{}", i.document_sha256).as_str()),
        "no serial number"
    );
    let finding_purl = "pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.10.0?type=jar";
    assert_eq!(
        ec_domain::vex::effective_status(&i.vex, "CVE-2020-25649", Some(finding_purl)),
        Some(VexStatus::NotAffected)
    );
}

#[test]
fn cyclonedx_cisa_case_3_vex() {
    let (i, doc) = check_cyclonedx("bom-examples_VEX_CISA-Case-3_vex.json", CYCLONEDX_JSON_1_4);
    assert!(i.scan.is_none());
    assert_eq!(i.vex.len(), 19);
    let mut want: BTreeMap<VexStatus, usize> = BTreeMap::new();
    for v in list(&doc, "vulnerabilities") {
        let state = v.pointer("/analysis/state").and_then(Value::as_str);
        *want
            .entry(cdx_state(state.unwrap_or_default()))
            .or_default() += 1;
    }
    assert_eq!(statuses(&i.vex), want);
    assert_eq!(want.len(), 4, "all four statuses occur");
    // Every statement is about the BOM's own product (metadata.component, no purl).
    assert!(
        i.vex
            .iter()
            .all(|s| s.products == vec!["product-GHI".to_string()])
    );
    assert!(
        i.vex
            .iter()
            .all(|s| s.timestamp == Some(datetime!(2022-03-03 00:00:00 UTC)))
    );
}

// ---------------------------------------------------------------------------------- SPDX

fn check_spdx(file: &str) -> (Ingested, Value) {
    let (bytes, doc) = read("spdx", file);
    let i = ingest(&bytes, file);
    assert_eq!(i.source_format, SPDX_JSON_2_3, "{file}");
    assert!(i.vex.is_empty());
    let scan = scan_of(&i, file);
    assert!(scan.findings.is_empty());
    assert_eq!(scan.artifact.name, s(&doc, "name").unwrap_or_default());

    let packages = list(&doc, "packages");
    assert_eq!(scan.components.len(), packages.len(), "{file}");
    let purl_of = |p: &Value| -> Option<String> {
        list(p, "externalRefs")
            .iter()
            .find(|r| s(r, "referenceType") == Some("purl"))
            .and_then(|r| s(r, "referenceLocator"))
            .map(str::to_string)
    };
    let want: BTreeSet<(String, String, Option<String>, Vec<String>)> = packages
        .iter()
        .map(|p| {
            let mut licenses: Vec<String> = Vec::new();
            for key in ["licenseConcluded", "licenseDeclared"] {
                if let Some(l) = s(p, key).filter(|l| *l != "NOASSERTION" && *l != "NONE")
                    && !licenses.iter().any(|x| x == l)
                {
                    licenses.push(l.to_string());
                }
            }
            (
                s(p, "name").unwrap_or_default().to_string(),
                s(p, "versionInfo").unwrap_or_default().to_string(),
                purl_of(p),
                licenses,
            )
        })
        .collect();
    let got: BTreeSet<(String, String, Option<String>, Vec<String>)> = scan
        .components
        .iter()
        .map(|c| {
            (
                c.name.clone(),
                c.version.clone(),
                c.purl.clone(),
                c.licenses.clone(),
            )
        })
        .collect();
    assert_eq!(got, want, "{file}");

    // Dependencies between purl-named packages.
    let ids: BTreeMap<&str, String> = packages
        .iter()
        .filter_map(|p| Some((s(p, "SPDXID")?, purl_of(p)?)))
        .collect();
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for r in list(&doc, "relationships") {
        let (a, kind, b) = (
            s(r, "spdxElementId").unwrap_or_default(),
            s(r, "relationshipType").unwrap_or_default(),
            s(r, "relatedSpdxElement").unwrap_or_default(),
        );
        let (from, to) = match kind {
            "DEPENDS_ON" => (a, b),
            k if k.ends_with("DEPENDENCY_OF") => (b, a),
            _ => continue,
        };
        if let (Some(f), Some(t)) = (ids.get(from), ids.get(to)) {
            want.entry(f.clone()).or_default().insert(t.clone());
        }
    }
    let got: BTreeMap<String, BTreeSet<String>> = scan
        .dependencies
        .iter()
        .map(|d| (d.purl.clone(), d.depends_on.iter().cloned().collect()))
        .collect();
    assert_eq!(got, want, "{file}");
    (i, doc)
}

#[test]
fn spdx_trivy_conda() {
    let (i, _) = check_spdx("trivy-golden_conda-spdx.json");
    let scan = scan_of(&i, "conda");
    assert_eq!(scan.artifact.name, "testdata/fixtures/repo/conda");
    assert_eq!(
        scan.artifact.kind, "source",
        "the described package's purpose"
    );
    assert_eq!(scan.scanner.name, "trivy");
    assert_eq!(scan.scanner.version.as_deref(), Some("dev"));
    assert_eq!(scan.scanned_at, datetime!(2021-08-25 12:20:30 UTC));
    let openssl = scan
        .components
        .iter()
        .find(|c| c.name == "openssl")
        .unwrap_or_else(|| panic!("no openssl"));
    assert_eq!(openssl.purl.as_deref(), Some("pkg:conda/openssl@1.1.1q"));
    assert_eq!(openssl.package_type.as_deref(), Some("conda"));
    assert_eq!(openssl.licenses, vec!["OpenSSL".to_string()]);
}

#[test]
fn spdx_spec_example() {
    let (i, _) = check_spdx("spdx-spec_SPDXJSONExample-v2.3.spdx.json");
    let scan = scan_of(&i, "spdx example");
    assert_eq!(scan.artifact.name, "SPDX-Tools-v2.0");
    assert_eq!(
        scan.artifact.digest.as_deref(),
        Some("sha256:11b6d3ee554eedf79299905a98f9b9a04e498210b59f15094c916c91d150efcd"),
        "the described package's SHA256"
    );
    assert_eq!(scan.scanner.name, "LicenseFind");
    assert_eq!(scan.scanner.version.as_deref(), Some("1.0"));
    assert_eq!(scan.scanned_at, datetime!(2010-01-29 18:30:22 UTC));
    let glibc = scan
        .components
        .iter()
        .find(|c| c.name == "glibc")
        .unwrap_or_else(|| panic!("no glibc"));
    assert_eq!(glibc.purl, None, "a cpe is not a purl");
    assert_eq!(glibc.package_type, None);
    let jena = scan
        .components
        .iter()
        .find(|c| c.name == "Jena")
        .unwrap_or_else(|| panic!("no Jena"));
    assert_eq!(
        jena.purl.as_deref(),
        Some("pkg:maven/org.apache.jena/apache-jena@3.12.0")
    );
    assert_eq!(jena.package_type.as_deref(), Some("maven"));
}

// ------------------------------------------------------------------------------- OpenVEX

fn openvex_status(s: &str) -> VexStatus {
    match s {
        "not_affected" => VexStatus::NotAffected,
        "affected" => VexStatus::Affected,
        "fixed" => VexStatus::Fixed,
        "under_investigation" => VexStatus::UnderInvestigation,
        other => panic!("status {other}"),
    }
}

fn check_openvex(file: &str) -> (Ingested, Value) {
    let (bytes, doc) = read("openvex", file);
    let i = ingest(&bytes, file);
    assert_eq!(i.source_format, OPENVEX_0_2_0, "{file}");
    assert!(i.scan.is_none());
    let statements = list(&doc, "statements");
    assert_eq!(i.vex.len(), statements.len(), "{file}");
    let source = s(&doc, "@id")
        .map(str::to_string)
        .unwrap_or_else(|| format!("sha256:{}", i.document_sha256));
    for (st, raw) in i.vex.iter().zip(statements) {
        assert_eq!(
            Some(st.vulnerability_id.as_str()),
            raw.pointer("/vulnerability/name").and_then(Value::as_str)
        );
        assert_eq!(
            st.status,
            openvex_status(s(raw, "status").unwrap_or_default())
        );
        assert_eq!(st.justification.as_deref(), s(raw, "justification"));
        assert_eq!(st.impact_statement.as_deref(), s(raw, "impact_statement"));
        let mut want = Vec::new();
        for p in list(raw, "products") {
            want.extend(s(p, "@id").map(str::to_string));
            for sub in list(p, "subcomponents") {
                want.extend(s(sub, "@id").map(str::to_string));
            }
        }
        assert_eq!(st.products, want, "{file}");
        assert_eq!(st.source.as_deref(), Some(source.as_str()), "{file}");
    }
    (i, doc)
}

#[test]
fn openvex_go_vex_example() {
    let (i, _) = check_openvex("go-vex_v0.2.0.json");
    assert_eq!(
        statuses(&i.vex),
        BTreeMap::from([(VexStatus::NotAffected, 2), (VexStatus::Fixed, 3)])
    );
    // No statement has its own timestamp: the document's.
    assert!(
        i.vex
            .iter()
            .all(|s| s.timestamp == Some(datetime!(2023-07-18 00:28:47 UTC)))
    );
    // The image's statement reaches the apk package Trivy would report inside it.
    let libssl = "pkg:apk/alpine/libssl3@3.0.8-r3?arch=x86_64&distro=3.18.0";
    assert_eq!(
        ec_domain::vex::effective_status(&i.vex, "CVE-2023-3446", Some(libssl)),
        Some(VexStatus::NotAffected)
    );
    assert_eq!(
        ec_domain::vex::effective_status(&i.vex, "CVE-2023-1255", Some(libssl)),
        Some(VexStatus::Fixed)
    );
}

#[test]
fn openvex_trivy_example_without_id() {
    let (i, _) = check_openvex("trivy-testdata_openvex-oci.json");
    let st = &i.vex[0];
    assert_eq!(st.vulnerability_id, "CVE-2022-3715");
    assert_eq!(
        st.products,
        vec![
            "pkg:oci/debian".to_string(),
            "pkg:deb/debian/bash".to_string()
        ]
    );
    assert_eq!(
        st.justification.as_deref(),
        Some("vulnerable_code_not_in_execute_path")
    );
    assert_eq!(st.timestamp, Some(datetime!(2023-01-17 01:07:16 UTC)));
    assert!(
        st.source
            .as_deref()
            .is_some_and(|s| s.starts_with("sha256:"))
    );
    assert_eq!(
        ec_domain::vex::effective_status(
            &i.vex,
            "CVE-2022-3715",
            Some("pkg:deb/debian/bash@5.2.15-2?arch=amd64&distro=debian-12.0")
        ),
        Some(VexStatus::NotAffected)
    );
}

// ---------------------------------------------------------------------------------- CSAF

#[test]
fn csaf_go_vex_example() {
    let (bytes, doc) = read("csaf", "go-vex_csaf.json");
    let i = ingest(&bytes, "csaf");
    assert_eq!(i.source_format, CSAF_VEX_2_0);
    assert!(i.scan.is_none());

    // One statement per (vulnerability, status, product id).
    let status_of = |k: &str| match k {
        "known_not_affected" => VexStatus::NotAffected,
        "fixed" | "first_fixed" => VexStatus::Fixed,
        "known_affected" | "first_affected" | "last_affected" => VexStatus::Affected,
        "under_investigation" => VexStatus::UnderInvestigation,
        other => panic!("{other}"),
    };
    let mut want: BTreeMap<(String, VexStatus), usize> = BTreeMap::new();
    for v in list(&doc, "vulnerabilities") {
        let Some(Value::Object(map)) = v.get("product_status") else {
            continue;
        };
        for (k, ids) in map {
            *want
                .entry((s(v, "cve").unwrap_or_default().to_string(), status_of(k)))
                .or_default() += ids.as_array().map_or(0, Vec::len);
        }
    }
    let mut got: BTreeMap<(String, VexStatus), usize> = BTreeMap::new();
    for st in &i.vex {
        *got.entry((st.vulnerability_id.clone(), st.status))
            .or_default() += 1;
    }
    assert_eq!(got, want);
    assert_eq!(i.vex.len(), 4);

    let find = |id: &str, status: VexStatus| {
        i.vex
            .iter()
            .find(|s| s.vulnerability_id == id && s.status == status)
            .unwrap_or_else(|| panic!("no {id} {status:?}"))
    };
    // CSAFPID-0001 resolves through the branch to its purl.
    let na = find("CVE-2009-4487", VexStatus::NotAffected);
    assert_eq!(na.products, vec!["pkg:maven/@1.3.4".to_string()]);
    assert_eq!(
        na.impact_statement.as_deref(),
        Some("Class with vulnerable code was removed before shipping.")
    );
    assert_eq!(na.action_statement, None);
    // ABC:CSAFPID-0002 is in no tree: kept as written.
    let affected = find("CVE-2009-4487", VexStatus::Affected);
    assert_eq!(affected.products, vec!["ABC:CSAFPID-0002".to_string()]);
    assert_eq!(affected.impact_statement, None);
    let na2 = find("CVE-2009-4488", VexStatus::NotAffected);
    assert_eq!(
        na2.action_statement.as_deref(),
        Some(
            "mitigation: Configure a reverse proxy to limit the size of POST request bodies to \
             1000 bytes before forwarding them to the vulnerable application. \
             (https://example.com/foo/v1.2.3/mitigation)"
        )
    );
    assert!(i.vex.iter().all(|s| {
        s.source.as_deref() == Some("2022-EVD-UC-01-NA-001")
            && s.timestamp == Some(datetime!(2022-03-03 11:00:00 UTC))
    }));
}

#[test]
fn csaf_relationship_names_component_and_product() {
    // The fixture's relationship, with the vulnerability naming its product id.
    let (_, mut doc) = read("csaf", "go-vex_csaf.json");
    if let Some(ids) = doc.pointer_mut("/vulnerabilities/0/product_status/known_affected") {
        *ids = serde_json::json!(["ABC:INTERNAL-0002"]);
    }
    let bytes = serde_json::to_vec(&doc).unwrap_or_default();
    let i = ingest(&bytes, "csaf relationship");
    let st = i
        .vex
        .iter()
        .find(|s| s.status == VexStatus::Affected && s.vulnerability_id == "CVE-2009-4487")
        .unwrap_or_else(|| panic!("no affected statement"));
    // INTERNAL-0002's purl, and "ABC" (a branch name, no product id) as written.
    assert_eq!(
        st.products,
        vec![
            "pkg:golang/github.com/go-homedir@v1.0.0".to_string(),
            "ABC".to_string()
        ]
    );
}

/// Issue 13, defect 1: the oldest Grype layout (`cvssV2`/`cvssV3` objects under the
/// vulnerability, `links` as strings) keeps its scores and links, recognised by its fields.
#[test]
fn old_grype_layout_keeps_scores_and_links() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/handmade/grype/grype-old-layout.json"
    );
    let bytes = std::fs::read(path).expect("the hand-made fixture");
    let parsed = ec_ingest::parse_document(
        &bytes,
        &"t".parse().unwrap(),
        time::OffsetDateTime::UNIX_EPOCH,
    )
    .expect("parses");
    let scan = parsed.scan.expect("a scan");
    let bash = scan
        .findings
        .iter()
        .find(|f| f.vulnerability_id == "CVE-2019-18276")
        .expect("bash finding");
    let scores: Vec<(String, Option<f64>, Option<String>)> = bash
        .cvss
        .iter()
        .map(|c| (c.version.clone(), c.score, c.vector.clone()))
        .collect();
    assert_eq!(
        scores,
        [
            (
                "2.0".to_string(),
                Some(7.2),
                Some("AV:L/AC:L/Au:N/C:C/I:C/A:C".to_string())
            ),
            (
                "3.0".to_string(),
                Some(7.8),
                Some("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H".to_string())
            ),
        ]
    );
    assert_eq!(
        bash.references,
        ["https://security-tracker.debian.org/tracker/CVE-2019-18276".into()]
    );
    let libc = scan
        .findings
        .iter()
        .find(|f| f.vulnerability_id == "CVE-2020-1752")
        .expect("libc finding");
    assert_eq!(libc.cvss.len(), 1);
    assert_eq!(libc.cvss[0].version, "3.1");
    assert_eq!(libc.references.len(), 2);
    assert!(scan.findings.iter().all(|f| f.max_score().is_some()));
}
