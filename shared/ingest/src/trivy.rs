//! Trivy JSON: `SchemaVersion` 2 (an object with `Results`) and the legacy top-level array
//! of results that Trivy wrote before v0.20, read through typed, borrowing serde types
//! ([`crate::lenient`]): a field of another type than expected reads as absent, as in every
//! Trivy version seen, and only `Results`, `Vulnerabilities` and `Packages` must be lists.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use ec_domain::scan::{
    Component, Cvss, Finding, FindingDetails, ScannedArtifact, Scanner, Severity,
};
use ec_domain::shared_text::SharedText;
use serde::{Deserialize, Deserializer};

use crate::json::{cvss_version_of_vector, cwe_numbers, parse_timestamp, push_unique_shared};
use crate::lenient::{Array, Entries, Items, Num, Obj, Object, Text, Texts, Whole};
use crate::{IngestError, Parsed, ScanParts, TRIVY_JSON_LEGACY, TRIVY_JSON_V2, typed};

#[derive(Deserialize)]
struct ReportV2<'a> {
    #[serde(rename = "SchemaVersion", default)]
    schema_version: SchemaVersion,
    #[serde(rename = "ArtifactName", default, borrow)]
    artifact_name: Text<'a>,
    #[serde(rename = "ArtifactType", default, borrow)]
    artifact_type: Text<'a>,
    #[serde(rename = "CreatedAt", default, borrow)]
    created_at: Text<'a>,
    #[serde(rename = "Metadata", default, borrow)]
    metadata: Obj<Metadata<'a>>,
    #[serde(rename = "Trivy", default, borrow)]
    trivy: Obj<Version<'a>>,
    #[serde(rename = "Results", default, borrow)]
    results: Items<TrivyResult<'a>>,
}

/// `SchemaVersion`: a number, or a string holding one.
#[derive(Default)]
struct SchemaVersion(Option<u64>, String);

impl<'de> Deserialize<'de> for SchemaVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let n = match &v {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        Ok(SchemaVersion(n, v.to_string()))
    }
}

#[derive(Deserialize, Default)]
struct Metadata<'a> {
    #[serde(rename = "RepoDigests", default, borrow)]
    repo_digests: Texts<'a>,
    #[serde(rename = "ImageID", default, borrow)]
    image_id: Text<'a>,
    #[serde(rename = "OS", default, borrow)]
    os: Obj<Os<'a>>,
}

#[derive(Deserialize, Default)]
struct Os<'a> {
    #[serde(rename = "Family", default, borrow)]
    family: Text<'a>,
    #[serde(rename = "Name", default, borrow)]
    name: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Version<'a> {
    #[serde(rename = "Version", default, borrow)]
    version: Text<'a>,
}

#[derive(Deserialize)]
struct TrivyResult<'a> {
    #[serde(rename = "Target", default, borrow)]
    target: Text<'a>,
    #[serde(rename = "Type", default, borrow)]
    kind: Text<'a>,
    #[serde(rename = "Vulnerabilities", default)]
    vulnerabilities: Array<Converted>,
    #[serde(rename = "Packages", default, borrow)]
    packages: Items<Package<'a>>,
}

#[derive(Deserialize)]
struct Package<'a> {
    #[serde(rename = "Name", default, borrow)]
    name: Text<'a>,
    #[serde(rename = "Version", default, borrow)]
    version: Text<'a>,
    #[serde(rename = "Identifier", default, borrow)]
    identifier: Obj<Identifier<'a>>,
    #[serde(rename = "FilePath", default, borrow)]
    file_path: Text<'a>,
    #[serde(rename = "Licenses", default, borrow)]
    licenses: Texts<'a>,
}

#[derive(Deserialize, Default)]
struct Identifier<'a> {
    #[serde(rename = "PURL", default, borrow)]
    purl: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Layer<'a> {
    #[serde(rename = "Digest", default, borrow)]
    digest: Text<'a>,
    #[serde(rename = "DiffID", default, borrow)]
    diff_id: Text<'a>,
}

#[derive(Deserialize)]
struct Vulnerability<'a> {
    #[serde(rename = "VulnerabilityID", default, borrow)]
    id: Text<'a>,
    #[serde(rename = "PkgName", default, borrow)]
    package: Text<'a>,
    #[serde(rename = "PkgIdentifier", default, borrow)]
    identifier: Obj<Identifier<'a>>,
    #[serde(rename = "InstalledVersion", default, borrow)]
    installed_version: Text<'a>,
    #[serde(rename = "FixedVersion", default, borrow)]
    fixed_version: Text<'a>,
    #[serde(rename = "Status", default, borrow)]
    status: Text<'a>,
    #[serde(rename = "Severity", default, borrow)]
    severity: Text<'a>,
    #[serde(rename = "SeveritySource", default, borrow)]
    severity_source: Text<'a>,
    #[serde(rename = "VendorSeverity", default, borrow)]
    vendor_severity: Entries<'a, Whole>,
    #[serde(rename = "Title", default, borrow)]
    title: Text<'a>,
    #[serde(rename = "Description", default, borrow)]
    description: Text<'a>,
    #[serde(rename = "PrimaryURL", default, borrow)]
    primary_url: Text<'a>,
    #[serde(rename = "References", default, borrow)]
    references: Texts<'a>,
    #[serde(rename = "VendorIDs", default, borrow)]
    vendor_ids: Texts<'a>,
    #[serde(rename = "CweIDs", default, borrow)]
    cwe_ids: Texts<'a>,
    #[serde(rename = "CVSS", default, borrow)]
    cvss: Entries<'a, Obj<CvssScores<'a>>>,
    #[serde(rename = "PublishedDate", default, borrow)]
    published: Text<'a>,
    #[serde(rename = "LastModifiedDate", default, borrow)]
    modified: Text<'a>,
    #[serde(rename = "Layer", default, borrow)]
    layer: Obj<Layer<'a>>,
}

#[derive(Deserialize, Default)]
struct CvssScores<'a> {
    #[serde(rename = "V2Vector", default, borrow)]
    v2_vector: Text<'a>,
    #[serde(rename = "V2Score", default)]
    v2_score: Num,
    #[serde(rename = "V3Vector", default, borrow)]
    v3_vector: Text<'a>,
    #[serde(rename = "V3Score", default)]
    v3_score: Num,
    #[serde(rename = "V40Vector", default, borrow)]
    v40_vector: Text<'a>,
    #[serde(rename = "V40Score", default)]
    v40_score: Num,
}

pub fn parse_v2(text: &[u8]) -> Result<Parsed, IngestError> {
    let format = TRIVY_JSON_V2;
    let doc: ReportV2<'_> = typed(text, format)?;
    if doc.schema_version.0 != Some(2) {
        return Err(IngestError::invalid(
            format,
            format!(
                "unsupported SchemaVersion {} (only 2 is read)",
                doc.schema_version.1
            ),
        ));
    }
    let results = doc.results.0;
    let name = doc
        .artifact_name
        .owned()
        .or_else(|| {
            results
                .first()
                .and_then(|r| r.target.as_str())
                .map(|t| split_target(t).0)
        })
        .unwrap_or_else(|| "unknown".to_string());
    let (findings, components) = read_results(results, format, "Results")?;

    let metadata = doc.metadata.0.unwrap_or_default();
    let digest = metadata
        .repo_digests
        .iter()
        .find_map(|d| d.split_once('@').map(|(_, digest)| digest.trim()))
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| metadata.image_id.owned());
    let os = metadata.os.get().and_then(|os| {
        let parts: Vec<&str> = [os.family.as_str(), os.name.as_str()]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });

    Ok(Parsed::scan(
        format,
        ScanParts {
            artifact: ScannedArtifact {
                name,
                kind: doc
                    .artifact_type
                    .owned()
                    .unwrap_or_else(|| "unknown".to_string()),
                digest,
                os,
            },
            scanner: Scanner {
                name: "trivy".to_string(),
                version: doc.trivy.get().and_then(|t| t.version.owned()),
            },
            scanned_at: doc.created_at.as_str().and_then(parse_timestamp),
            components,
            dependencies: Vec::new(),
            findings,
            assessed: true,
        },
    ))
}

/// The legacy report carries no artifact block: the first target names the artifact, and
/// an OS target's `(family version)` suffix names the OS.
pub fn parse_legacy(text: &[u8]) -> Result<Parsed, IngestError> {
    let format = TRIVY_JSON_LEGACY;
    let results: Items<TrivyResult<'_>> = typed(text, format)?;
    let results = results.0;
    let (name, os) = results
        .first()
        .and_then(|r| r.target.as_str())
        .map(split_target)
        .unwrap_or_else(|| ("unknown".to_string(), None));
    let (findings, components) = read_results(results, format, "")?;
    Ok(Parsed::scan(
        format,
        ScanParts {
            artifact: ScannedArtifact {
                name,
                kind: "unknown".to_string(),
                digest: None,
                os,
            },
            scanner: Scanner {
                name: "trivy".to_string(),
                version: None,
            },
            scanned_at: None,
            components,
            dependencies: Vec::new(),
            findings,
            assessed: true,
        },
    ))
}

/// `image.tar (alpine 3.10.2)` into `image.tar` and `alpine 3.10.2`; the suffix may itself
/// hold parentheses (`amazon 2 (Karoo)`).
fn split_target(target: &str) -> (String, Option<String>) {
    let Some(inner) = target.strip_suffix(')') else {
        return (target.to_string(), None);
    };
    let mut depth = 0usize;
    for (i, c) in inner.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' if depth > 0 => depth -= 1,
            '(' => {
                let name = inner[..i].trim();
                let os = inner[i + 1..].trim();
                if !name.is_empty() && !os.is_empty() {
                    return (name.to_string(), Some(os.to_string()));
                }
                break;
            }
            _ => {}
        }
    }
    (target.to_string(), None)
}

fn read_results(
    results: Vec<TrivyResult<'_>>,
    format: &'static str,
    path: &str,
) -> Result<(Vec<Finding>, Vec<Component>), IngestError> {
    let mut findings = Vec::new();
    let mut components = Vec::new();
    for (i, result) in results.into_iter().enumerate() {
        let at = format!("{path}[{i}]");
        let target = result.target.owned();
        let package_type = result.kind.owned();
        let first = findings.len();
        // Collected where they were read (the standard library reuses the allocation of a
        // vector mapped into one of no larger elements), so 100,000 findings are not held
        // twice; later results are appended.
        let mut read: Vec<Finding> = result
            .vulnerabilities
            .0
            .into_iter()
            .enumerate()
            .map(|(j, Converted(f))| {
                let mut f = f.map_err(|field| {
                    IngestError::invalid(
                        format,
                        format!("{at}.Vulnerabilities[{j}]: missing {field}"),
                    )
                })?;
                f.target = target.clone();
                f.package_type = package_type.clone();
                Ok(f)
            })
            .collect::<Result<_, IngestError>>()?;
        if findings.is_empty() {
            findings = read;
        } else {
            findings.append(&mut read);
        }
        if result.packages.0.is_empty() {
            components.extend(findings[first..].iter().map(Finding::component));
        } else {
            for (j, p) in result.packages.0.into_iter().enumerate() {
                let name = p.name.owned().ok_or_else(|| {
                    IngestError::invalid(format, format!("{at}.Packages[{j}]: missing Name"))
                })?;
                components.push(Component {
                    name,
                    version: p.version.owned().unwrap_or_default(),
                    package_type: package_type.clone(),
                    purl: p.identifier.get().and_then(|i| i.purl.owned()),
                    location: p.file_path.owned().or_else(|| target.clone()),
                    licenses: p.licenses.iter().map(str::to_string).collect(),
                });
            }
        }
    }
    Ok((findings, components))
}

/// A vulnerability made into a finding as soon as it is read, so the typed vulnerabilities
/// are never all held at once (at 100,000 findings they were ~120 MiB of the peak). The
/// finding lacks its result's target and package type until [`read_results`] gives them;
/// or it is the name of the required field the vulnerability lacks.
struct Converted(Result<Finding, &'static str>);

impl<'de> Deserialize<'de> for Converted {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let Object(v) = Object::<Vulnerability<'de>>::deserialize(d)?;
        Ok(Converted(finding(v)))
    }
}

/// The finding a vulnerability makes, without its result's target and package type; or
/// the required field it lacks.
fn finding(v: Vulnerability<'_>) -> Result<Finding, &'static str> {
    let id = v.id.as_str().ok_or("VulnerabilityID")?;
    let package = v.package.as_str().ok_or("PkgName")?;

    let aliases: BTreeSet<&str> = v.vendor_ids.iter().filter(|a| *a != id).collect();

    let mut references: Vec<SharedText> = Vec::with_capacity(v.references.0.len() + 1);
    for r in v
        .primary_url
        .as_str()
        .into_iter()
        .chain(v.references.iter())
    {
        push_unique_shared(&mut references, r);
    }

    Ok(Finding {
        vulnerability_id: id.to_string(),
        aliases: aliases.into_iter().map(str::to_string).collect(),
        package: package.to_string(),
        package_type: None,
        purl: v.identifier.get().and_then(|i| i.purl.owned()),
        installed_version: v.installed_version.owned().unwrap_or_default(),
        fixed_version: v.fixed_version.owned(),
        severity: v
            .severity
            .as_str()
            .map(Severity::parse_lenient)
            .unwrap_or(Severity::Unknown),
        cvss: cvss(&v.cvss),
        title: v.title.shared(),
        description: v.description.shared(),
        references,
        status: v.status.owned(),
        target: None,
        cwes: cwe_numbers(v.cwe_ids.iter()),
        details: FindingDetails {
            published: v.published.as_str().and_then(parse_timestamp),
            modified: v.modified.as_str().and_then(parse_timestamp),
            severity_source: v.severity_source.owned(),
            vendor_severity: vendor_severity(&v.vendor_severity),
            layer: v
                .layer
                .get()
                .and_then(|l| l.digest.owned().or_else(|| l.diff_id.owned())),
            ..FindingDetails::default()
        },
    })
}

/// `CVSS: {source: {V2Vector, V2Score, V3Vector, V3Score, V40Vector, V40Score}}`: one entry
/// per source and version present, sources in name order.
fn cvss(map: &Entries<'_, Obj<CvssScores<'_>>>) -> Vec<Cvss> {
    let mut sources: Vec<(&Cow<'_, str>, &CvssScores<'_>)> = map
        .0
        .iter()
        .filter_map(|(k, v)| Some((k, v.get()?)))
        .collect();
    sources.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (source, entry) in sources {
        for (vector, score, default_version) in [
            (&entry.v2_vector, entry.v2_score, "2.0"),
            (&entry.v3_vector, entry.v3_score, "3.1"),
            (&entry.v40_vector, entry.v40_score, "4.0"),
        ] {
            if vector.0.is_none() && score.0.is_none() {
                continue;
            }
            let version = vector
                .as_str()
                .and_then(cvss_version_of_vector)
                .unwrap_or_else(|| default_version.to_string());
            out.push(Cvss {
                source: source.to_string(),
                version,
                vector: vector.owned(),
                score: score.0,
            });
        }
    }
    out
}

/// Trivy's `VendorSeverity`: vendor → 0 (unknown) to 4 (critical).
fn vendor_severity(map: &Entries<'_, Whole>) -> BTreeMap<String, Severity> {
    map.0
        .iter()
        .filter_map(|(vendor, level)| {
            let s = match level.0? {
                4 => Severity::Critical,
                3 => Severity::High,
                2 => Severity::Medium,
                1 => Severity::Low,
                _ => Severity::Unknown,
            };
            Some((vendor.to_string(), s))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            split_target("img.tar.gz (alpine 3.10.2)"),
            ("img.tar.gz".to_string(), Some("alpine 3.10.2".to_string()))
        );
        assert_eq!(
            split_target("img (amazon 2 (Karoo))"),
            ("img".to_string(), Some("amazon 2 (Karoo)".to_string()))
        );
        assert_eq!(split_target("(x)"), ("(x)".to_string(), None));
        assert_eq!(split_target("go.mod"), ("go.mod".to_string(), None));
    }

    fn error_of(doc: &str) -> String {
        match parse_v2(doc.as_bytes()) {
            Ok(_) => "read".into(),
            Err(e) => e.to_string(),
        }
    }

    /// Vulnerabilities become findings as they are read; one lacking a required field is
    /// still named by its path once the document is read, and a malformed value anywhere
    /// in the document (found while reading) is the error given before it.
    #[test]
    fn a_missing_field_is_named_by_its_path() {
        let doc = r#"{"SchemaVersion": 2, "Results": [
            {"Target": "a", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p"}]},
            {"Target": "b", "Vulnerabilities": [
                {"VulnerabilityID": "CVE-2", "PkgName": "q"},
                {"VulnerabilityID": "CVE-3"},
                {"PkgName": "r"}]}]}"#;
        assert_eq!(
            error_of(doc),
            "invalid trivy-json-v2 document: Results[1].Vulnerabilities[1]: missing PkgName"
        );
        let malformed_later = doc.replace(r#"{"PkgName": "r"}"#, "7");
        assert!(
            error_of(&malformed_later).contains("Results[1].Vulnerabilities[2]"),
            "{}",
            error_of(&malformed_later)
        );
    }

    /// Each finding carries its own result's target and package type.
    #[test]
    fn findings_take_their_results_target_and_type() {
        let doc = r#"{"SchemaVersion": 2, "Results": [
            {"Target": "a", "Type": "npm", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PkgName": "p"}]},
            {"Target": "b", "Vulnerabilities": [{"VulnerabilityID": "CVE-2", "PkgName": "q"}]}]}"#;
        let parsed = parse_v2(doc.as_bytes()).unwrap();
        let findings = parsed.scan.map(|s| s.findings).unwrap_or_default();
        let got: Vec<(Option<&str>, Option<&str>)> = findings
            .iter()
            .map(|f| (f.target.as_deref(), f.package_type.as_deref()))
            .collect();
        assert_eq!(got, [(Some("a"), Some("npm")), (Some("b"), None)]);
    }
}
