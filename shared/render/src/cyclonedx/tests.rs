//! Tests of the CycloneDX writer: serial numbers, the batched vulnerabilities and the URLs
//! given to cyclonedx-bom unparsed.

use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component as CdxComponent, Components};
use cyclonedx_bom::models::vulnerability::{Vulnerabilities, Vulnerability};
use cyclonedx_bom::prelude::{NormalizedString, Uri};

use super::writer::{BATCH, array_items, write_one, write_with_vulnerabilities};
use crate::common::advisory::is_web_url;
use crate::common::identity::urn_uuid;

#[test]
fn urn_uuid_has_the_schema_layout() {
    let u = urn_uuid(&ec_domain::ids::sha256_hex(b"x"));
    assert!(UrnUuid::new(u.clone()).is_ok(), "{u}");
    assert_eq!(&u[23..24], "5");
}

/// Written in batches on every core, a BOM is byte for byte what one write gives.
#[test]
fn batched_write_equals_one_write() {
    let vulnerabilities: Vec<Vulnerability> = (0..2 * BATCH + 1)
        .map(|i| {
            let mut v = Vulnerability::new(None);
            v.id = Some(NormalizedString::new(&format!("CVE-2024-{i}")));
            v.description = Some(format!("line one\n\"{i}\" ]\n}}"));
            v
        })
        .collect();
    let bom = Bom {
        serial_number: None,
        components: Some(Components(vec![CdxComponent::new(
            Classification::Library,
            "lib",
            "1.0",
            Some("lib@1.0".into()),
        )])),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    let groups: Vec<Vec<usize>> = (0..vulnerabilities.len()).map(|i| vec![i]).collect();
    let make = |rows: &[usize]| Ok(vulnerabilities[rows[0]].clone());
    let batched = write_with_vulnerabilities(bom.clone(), &groups, make).expect("batched write");
    let mut whole = bom.clone();
    whole.vulnerabilities = Some(Vulnerabilities(vulnerabilities.clone()));
    let one = write_one(whole, 0).expect("one write");
    assert!(batched == one, "the batched BOM differs from one write");

    // No vulnerabilities: an empty array, as one write gives it.
    let empty = write_with_vulnerabilities(bom.clone(), &[], make).expect("empty");
    let mut whole = bom;
    whole.vulnerabilities = Some(Vulnerabilities(Vec::new()));
    assert_eq!(empty, write_one(whole, 0).expect("one write"));

    assert!(array_items(b"{}").is_err());
}

/// Advisories skip cyclonedx-bom's URI parse (it validates them later, failing the
/// export): whatever `is_web_url` accepts must be a URI it accepts.
#[test]
fn web_urls_are_uris() {
    let candidates = [
        "https://example.com/a%20b?x=1#y",
        "https://example.com/a#b#c",
        "https://example.com:8443/x",
        "https://example.com:84a/x",
        "https://example.com:/x",
        "http://a.b/p@q:r;s=t&u!v$w'x(y)z*+,~_-.?/?#/?",
        "https://example.com/a%zz",
        "https://[::1]/",
        "https://user@example.com/",
        "https://example.com/a{b}",
        "http://exa_mple.com/",
        "https://.../",
    ];
    for c in candidates {
        if is_web_url(c) {
            assert!(Uri::try_from(c.to_string()).is_ok(), "{c}");
        }
    }
    assert!(!is_web_url("https://example.com/a#b#c"));
    assert!(!is_web_url("https://example.com:84a/x"));
    assert!(is_web_url("https://example.com:8443/x"));
}

/// Issue 13, defect 5: a license string becomes an `id` only when it is exactly on the SPDX
/// list the CycloneDX schema enumerates; an "or later" form becomes an expression.
#[test]
fn license_ids_are_only_listed_ids() {
    use cyclonedx_bom::models::license::{LicenseChoice, LicenseIdentifier};
    let shapes = |licenses: &[&str]| -> Vec<String> {
        let owned: Vec<String> = licenses.iter().map(|l| l.to_string()).collect();
        super::components::cdx_licenses(&owned)
            .map(|l| l.0)
            .unwrap_or_default()
            .into_iter()
            .map(|c| match c {
                LicenseChoice::License(l) => match l.license_identifier {
                    LicenseIdentifier::SpdxId(id) => format!("id:{id}"),
                    LicenseIdentifier::Name(n) => format!("name:{n}"),
                },
                LicenseChoice::Expression(e) => format!("expression:{e}"),
            })
            .collect()
    };
    assert_eq!(shapes(&["MIT"]), ["id:MIT"]);
    assert_eq!(shapes(&["MIT", "Apache-2.0"]), ["id:MIT", "id:Apache-2.0"]);
    assert_eq!(shapes(&["GFDL-1.2+"]), ["expression:GFDL-1.2-or-later"]);
    assert_eq!(
        shapes(&["MIT", "GFDL-1.2+"]),
        ["expression:MIT AND GFDL-1.2-or-later"]
    );
    assert_eq!(shapes(&["Custom License 1.0"]), ["name:Custom License 1.0"]);
    assert_eq!(
        shapes(&["MIT", "Custom License 1.0"]),
        ["id:MIT", "name:Custom License 1.0"]
    );
}
