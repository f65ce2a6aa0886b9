//! SPDX JSON 2.2 and 2.3: packages as components, dependency relationships as the graph.
//!
//! * Every package is a component: `versionInfo` its version, the first `externalRefs` entry
//!   of `referenceType` `purl` its purl (whose type is the package type), `licenseConcluded`
//!   and `licenseDeclared` its licenses unless `NOASSERTION` or `NONE`.
//! * `A DEPENDS_ON B` and `B *DEPENDENCY_OF A` (`DEPENDENCY_OF`, `DEV_DEPENDENCY_OF`,
//!   `BUILD_DEPENDENCY_OF`, ...) say that A depends on B; both ends must have a purl.
//! * The artifact is named by the document's `name`; the package the document describes
//!   (`documentDescribes`, `DESCRIBES`, `DESCRIBED_BY`) gives its kind (primary purpose) and
//!   digest (SHA256 checksum); a package of purpose `OPERATING-SYSTEM` gives the OS.
//! * The scanner is the first `Tool: name-version` creator; the scan time `created`.
//!
//! SPDX 2.x carries no vulnerabilities: the scan has no findings.

use std::collections::{BTreeMap, BTreeSet};

use ec_domain::scan::{Component, Dependency, ScannedArtifact, Scanner};
use serde_json::Value;

use crate::json::{array_at, parse_timestamp, push_unique, str_at, str_path, strict_array_at};
use crate::purl::purl_type;
use crate::{IngestError, Parsed, SPDX_JSON, SPDX_JSON_2_2, SPDX_JSON_2_3, ScanParts};

const DOCUMENT: &str = "SPDXRef-DOCUMENT";

pub fn parse(doc: &Value) -> Result<Parsed, IngestError> {
    let format = match str_at(doc, "spdxVersion") {
        Some("SPDX-2.2") => SPDX_JSON_2_2,
        Some("SPDX-2.3") => SPDX_JSON_2_3,
        other => {
            return Err(IngestError::invalid(
                SPDX_JSON,
                format!(
                    "spdxVersion {} is not read (SPDX-2.2 and SPDX-2.3 are)",
                    other.unwrap_or("(missing)")
                ),
            ));
        }
    };
    let packages = strict_array_at(doc, "packages", format, "")?;
    let relationships = strict_array_at(doc, "relationships", format, "")?;

    let mut components = Vec::with_capacity(packages.len());
    let mut purls: BTreeMap<&str, String> = BTreeMap::new();
    let mut by_id: BTreeMap<&str, &Value> = BTreeMap::new();
    for (i, p) in packages.iter().enumerate() {
        let name = str_at(p, "name")
            .ok_or_else(|| IngestError::invalid(format, format!("packages[{i}]: missing name")))?;
        let purl = array_at(p, "externalRefs")
            .iter()
            .find(|r| str_at(r, "referenceType") == Some("purl"))
            .and_then(|r| str_at(r, "referenceLocator"))
            .map(str::to_string);
        if let Some(id) = str_at(p, "SPDXID") {
            by_id.insert(id, p);
            if let Some(purl) = &purl {
                purls.insert(id, purl.clone());
            }
        }
        let mut licenses = Vec::new();
        for key in ["licenseConcluded", "licenseDeclared"] {
            if let Some(l) = str_at(p, key).filter(|l| !matches!(*l, "NOASSERTION" | "NONE")) {
                push_unique(&mut licenses, l);
            }
        }
        components.push(Component {
            name: name.to_string(),
            version: str_at(p, "versionInfo").unwrap_or_default().to_string(),
            package_type: purl.as_deref().and_then(purl_type),
            purl,
            location: None,
            licenses,
        });
    }

    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut described: Vec<&str> = array_at(doc, "documentDescribes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for r in relationships {
        let (Some(a), Some(kind), Some(b)) = (
            str_at(r, "spdxElementId"),
            str_at(r, "relationshipType"),
            str_at(r, "relatedSpdxElement"),
        ) else {
            continue;
        };
        let (from, to) = match kind {
            "DEPENDS_ON" => (a, b),
            k if k.ends_with("DEPENDENCY_OF") => (b, a),
            "DESCRIBES" if a == DOCUMENT => {
                described.push(b);
                continue;
            }
            "DESCRIBED_BY" if b == DOCUMENT => {
                described.push(a);
                continue;
            }
            _ => continue,
        };
        if let (Some(from), Some(to)) = (purls.get(from), purls.get(to)) {
            graph.entry(from.clone()).or_default().insert(to.clone());
        }
    }
    let dependencies = graph
        .into_iter()
        .map(|(purl, on)| Dependency {
            purl,
            depends_on: on.into_iter().collect(),
        })
        .collect();

    let main = described.iter().find_map(|id| by_id.get(id).copied());
    let main_name = main.and_then(|p| str_at(p, "name"));
    let digest = main
        .map(|p| array_at(p, "checksums"))
        .unwrap_or(&[])
        .iter()
        .find(|c| str_at(c, "algorithm") == Some("SHA256"))
        .and_then(|c| str_at(c, "checksumValue"))
        .map(|v| format!("sha256:{}", v.to_ascii_lowercase()));
    let os = packages
        .iter()
        .find(|p| str_at(p, "primaryPackagePurpose") == Some("OPERATING-SYSTEM"))
        .and_then(|p| {
            let name = str_at(p, "name")?;
            Some(match str_at(p, "versionInfo") {
                Some(v) => format!("{name} {v}"),
                None => name.to_string(),
            })
        });

    Ok(Parsed::scan(
        format,
        ScanParts {
            artifact: ScannedArtifact {
                name: str_at(doc, "name")
                    .or(main_name)
                    .unwrap_or("unknown")
                    .to_string(),
                kind: main
                    .and_then(|p| str_at(p, "primaryPackagePurpose"))
                    .map(|k| k.to_ascii_lowercase().replace('-', "_"))
                    .unwrap_or_else(|| "unknown".to_string()),
                digest,
                os,
            },
            scanner: scanner(doc),
            scanned_at: str_path(doc, &["creationInfo", "created"]).and_then(parse_timestamp),
            components,
            dependencies,
            findings: Vec::new(),
            // SPDX 2.3 carries packages, not vulnerability findings.
            assessed: false,
        },
    ))
}

/// `Tool: trivy-0.50.1` gives `trivy` `0.50.1`: SPDX writes tools as `name-version`.
fn scanner(doc: &Value) -> Scanner {
    let creators = doc
        .get("creationInfo")
        .map(|c| array_at(c, "creators"))
        .unwrap_or(&[]);
    creators
        .iter()
        .filter_map(Value::as_str)
        .find_map(|c| c.strip_prefix("Tool:").map(str::trim))
        .filter(|t| !t.is_empty())
        .map(|tool| match tool.rsplit_once('-') {
            Some((name, version)) if !name.is_empty() && !version.is_empty() => Scanner {
                name: name.to_string(),
                version: Some(version.to_string()),
            },
            _ => Scanner {
                name: tool.to_string(),
                version: None,
            },
        })
        .unwrap_or_else(|| Scanner {
            name: "unknown".to_string(),
            version: None,
        })
}

#[cfg(test)]
mod tests {
    use crate::SPDX_JSON_2_2;
    use crate::test_support::read;
    use ec_domain::scan::Dependency;
    use time::macros::datetime;

    #[test]
    fn dependency_relationships_by_purl() {
        let doc = r#"{
          "spdxVersion": "SPDX-2.2", "SPDXID": "SPDXRef-DOCUMENT", "name": "app-sbom",
          "creationInfo": {"created": "2024-01-02T03:04:05Z", "creators": ["Tool: syft-1.4.1", "Organization: Acme"]},
          "packages": [
            {"SPDXID": "SPDXRef-app", "name": "app", "versionInfo": "1.0", "primaryPackagePurpose": "CONTAINER",
             "checksums": [{"algorithm": "SHA1", "checksumValue": "aa"}, {"algorithm": "SHA256", "checksumValue": "ABCD"}],
             "licenseConcluded": "NOASSERTION", "licenseDeclared": "NONE"},
            {"SPDXID": "SPDXRef-os", "name": "alpine", "versionInfo": "3.19.1", "primaryPackagePurpose": "OPERATING-SYSTEM"},
            {"SPDXID": "SPDXRef-a", "name": "a", "versionInfo": "1",
             "externalRefs": [{"referenceCategory": "SECURITY", "referenceType": "cpe23Type", "referenceLocator": "cpe:2.3:a:x:a:1"},
                              {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": "pkg:npm/a@1"}],
             "licenseConcluded": "MIT", "licenseDeclared": "MIT"},
            {"SPDXID": "SPDXRef-b", "name": "b", "versionInfo": "2",
             "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:npm/b@2"}],
             "licenseConcluded": "(MIT OR Apache-2.0)", "licenseDeclared": "Apache-2.0"},
            {"SPDXID": "SPDXRef-c", "name": "c", "versionInfo": "3",
             "externalRefs": [{"referenceType": "purl", "referenceLocator": "pkg:npm/c@3"}]}
          ],
          "relationships": [
            {"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES", "relatedSpdxElement": "SPDXRef-app"},
            {"spdxElementId": "SPDXRef-app", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-a"},
            {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "SPDXRef-b"},
            {"spdxElementId": "SPDXRef-c", "relationshipType": "DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-a"},
            {"spdxElementId": "SPDXRef-c", "relationshipType": "DEV_DEPENDENCY_OF", "relatedSpdxElement": "SPDXRef-b"},
            {"spdxElementId": "SPDXRef-a", "relationshipType": "CONTAINS", "relatedSpdxElement": "SPDXRef-c"},
            {"spdxElementId": "SPDXRef-a", "relationshipType": "DEPENDS_ON", "relatedSpdxElement": "NOASSERTION"}
          ]
        }"#;
        let i = read(doc);
        assert_eq!(i.source_format, SPDX_JSON_2_2);
        assert!(i.vex.is_empty());
        let Some(scan) = i.scan else {
            panic!("no scan")
        };
        assert_eq!(scan.artifact.name, "app-sbom");
        assert_eq!(scan.artifact.kind, "container");
        assert_eq!(scan.artifact.digest.as_deref(), Some("sha256:abcd"));
        assert_eq!(scan.artifact.os.as_deref(), Some("alpine 3.19.1"));
        assert_eq!(scan.scanner.name, "syft");
        assert_eq!(scan.scanner.version.as_deref(), Some("1.4.1"));
        assert_eq!(scan.scanned_at, datetime!(2024-01-02 03:04:05 UTC));
        assert_eq!(scan.components.len(), 5);
        assert!(scan.findings.is_empty());
        let by_name = |n: &str| {
            scan.components
                .iter()
                .find(|c| c.name == n)
                .unwrap_or_else(|| panic!("no {n}"))
        };
        assert!(by_name("app").licenses.is_empty());
        assert_eq!(by_name("a").licenses, vec!["MIT".to_string()]);
        assert_eq!(
            by_name("b").licenses,
            vec!["(MIT OR Apache-2.0)".to_string(), "Apache-2.0".to_string()]
        );
        assert_eq!(by_name("a").package_type.as_deref(), Some("npm"));
        assert_eq!(by_name("app").purl, None);
        // app has no purl, CONTAINS is not a dependency, NOASSERTION is no package.
        assert_eq!(
            scan.dependencies,
            vec![
                Dependency {
                    purl: "pkg:npm/a@1".into(),
                    depends_on: vec!["pkg:npm/b@2".into(), "pkg:npm/c@3".into()],
                },
                Dependency {
                    purl: "pkg:npm/b@2".into(),
                    depends_on: vec!["pkg:npm/c@3".into()],
                },
            ]
        );
    }
}
