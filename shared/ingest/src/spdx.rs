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
use serde::Deserialize;

use crate::json::{parse_timestamp, push_unique};
use crate::lenient::{Array, Items, List, Obj, Text, Texts};
use crate::purl::purl_type;
use crate::{IngestError, Parsed, SPDX_JSON, SPDX_JSON_2_2, SPDX_JSON_2_3, ScanParts, typed};

const DOCUMENT: &str = "SPDXRef-DOCUMENT";

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "spdxVersion", default, borrow)]
    spdx_version: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(rename = "creationInfo", default, borrow)]
    creation_info: Obj<CreationInfo<'a>>,
    #[serde(rename = "documentDescribes", default, borrow)]
    document_describes: Texts<'a>,
    #[serde(default, borrow)]
    packages: Items<Package<'a>>,
    #[serde(default, borrow)]
    relationships: Array<Obj<Relationship<'a>>>,
}

#[derive(Deserialize, Default)]
struct CreationInfo<'a> {
    #[serde(default, borrow)]
    created: Text<'a>,
    #[serde(default, borrow)]
    creators: Texts<'a>,
}

#[derive(Deserialize)]
struct Package<'a> {
    #[serde(rename = "SPDXID", default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(rename = "versionInfo", default, borrow)]
    version: Text<'a>,
    #[serde(rename = "externalRefs", default, borrow)]
    external_refs: List<Obj<ExternalRef<'a>>>,
    #[serde(rename = "licenseConcluded", default, borrow)]
    license_concluded: Text<'a>,
    #[serde(rename = "licenseDeclared", default, borrow)]
    license_declared: Text<'a>,
    #[serde(default, borrow)]
    checksums: List<Obj<Checksum<'a>>>,
    #[serde(rename = "primaryPackagePurpose", default, borrow)]
    purpose: Text<'a>,
}

#[derive(Deserialize, Default)]
struct ExternalRef<'a> {
    #[serde(rename = "referenceType", default, borrow)]
    kind: Text<'a>,
    #[serde(rename = "referenceLocator", default, borrow)]
    locator: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Checksum<'a> {
    #[serde(default, borrow)]
    algorithm: Text<'a>,
    #[serde(rename = "checksumValue", default, borrow)]
    value: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Relationship<'a> {
    #[serde(rename = "spdxElementId", default, borrow)]
    from: Text<'a>,
    #[serde(rename = "relationshipType", default, borrow)]
    kind: Text<'a>,
    #[serde(rename = "relatedSpdxElement", default, borrow)]
    to: Text<'a>,
}

pub fn parse(text: &[u8]) -> Result<Parsed, IngestError> {
    let doc: Document<'_> = typed(text, SPDX_JSON)?;
    let format = match doc.spdx_version.as_str() {
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
    let packages = &doc.packages.0;

    let mut components = Vec::with_capacity(packages.len());
    let mut purls: BTreeMap<&str, String> = BTreeMap::new();
    let mut by_id: BTreeMap<&str, &Package<'_>> = BTreeMap::new();
    for (i, p) in packages.iter().enumerate() {
        let name = p
            .name
            .as_str()
            .ok_or_else(|| IngestError::invalid(format, format!("packages[{i}]: missing name")))?;
        let purl = p
            .external_refs
            .iter()
            .find(|r| r.get().and_then(|r| r.kind.as_str()) == Some("purl"))
            .and_then(|r| r.get()?.locator.owned());
        if let Some(id) = p.id.as_str() {
            by_id.insert(id, p);
            if let Some(purl) = &purl {
                purls.insert(id, purl.clone());
            }
        }
        let mut licenses: Vec<String> = Vec::new();
        for l in [&p.license_concluded, &p.license_declared] {
            if let Some(l) = l.as_str().filter(|l| !matches!(*l, "NOASSERTION" | "NONE")) {
                push_unique(&mut licenses, l);
            }
        }
        components.push(Component {
            name: name.to_string(),
            version: p.version.as_str().unwrap_or_default().to_string(),
            package_type: purl.as_deref().and_then(purl_type),
            purl,
            location: None,
            licenses,
        });
    }

    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut described: Vec<&str> = doc.document_describes.iter().collect();
    for r in doc.relationships.0.iter().filter_map(Obj::get) {
        let (Some(a), Some(kind), Some(b)) = (r.from.as_str(), r.kind.as_str(), r.to.as_str())
        else {
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
    let main_name = main.and_then(|p| p.name.as_str());
    let digest = main
        .and_then(|p| {
            p.checksums
                .iter()
                .filter_map(Obj::get)
                .find(|c| c.algorithm.as_str() == Some("SHA256"))
        })
        .and_then(|c| c.value.as_str())
        .map(|v| format!("sha256:{}", v.to_ascii_lowercase()));
    let os = packages
        .iter()
        .find(|p| p.purpose.as_str() == Some("OPERATING-SYSTEM"))
        .and_then(|p| {
            let name = p.name.as_str()?;
            Some(match p.version.as_str() {
                Some(v) => format!("{name} {v}"),
                None => name.to_string(),
            })
        });
    let info = doc.creation_info.get();

    Ok(Parsed::scan(
        format,
        ScanParts {
            artifact: ScannedArtifact {
                name: doc
                    .name
                    .as_str()
                    .or(main_name)
                    .unwrap_or("unknown")
                    .to_string(),
                kind: main
                    .and_then(|p| p.purpose.as_str())
                    .map(|k| k.to_ascii_lowercase().replace('-', "_"))
                    .unwrap_or_else(|| "unknown".to_string()),
                digest,
                os,
            },
            scanner: scanner(info.map(|i| &i.creators)),
            scanned_at: info
                .and_then(|i| i.created.as_str())
                .and_then(parse_timestamp),
            components,
            dependencies,
            findings: Vec::new(),
            // SPDX 2.3 carries packages, not vulnerability findings.
            assessed: false,
        },
    ))
}

/// `Tool: trivy-0.50.1` gives `trivy` `0.50.1`: SPDX writes tools as `name-version`.
fn scanner(creators: Option<&Texts<'_>>) -> Scanner {
    creators
        .into_iter()
        .flat_map(|c| c.iter())
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
