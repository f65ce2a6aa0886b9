//! Trivy JSON: `SchemaVersion` 2 (an object with `Results`) and the legacy top-level array
//! of results that Trivy wrote before v0.20.

use std::collections::{BTreeMap, BTreeSet};

use ec_domain::scan::{
    Component, Cvss, Finding, FindingDetails, ScannedArtifact, Scanner, Severity,
};
use serde_json::Value;

use crate::json::{
    array_at, cvss_version_of_vector, cwe_numbers, number_at, parse_timestamp, push_unique, str_at,
    str_path, strict_array_at, string_at, strings_at,
};
use crate::{IngestError, Parsed, ScanParts, TRIVY_JSON_LEGACY, TRIVY_JSON_V2};

pub fn parse_v2(doc: &Value) -> Result<Parsed, IngestError> {
    let format = TRIVY_JSON_V2;
    let schema = doc.get("SchemaVersion").and_then(|v| match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    if schema != Some(2) {
        return Err(IngestError::invalid(
            format,
            format!(
                "unsupported SchemaVersion {} (only 2 is read)",
                doc.get("SchemaVersion").unwrap_or(&Value::Null)
            ),
        ));
    }
    let results = strict_array_at(doc, "Results", format, "")?;
    let (findings, components) = read_results(results, format, "Results")?;

    let metadata = doc.get("Metadata").unwrap_or(&Value::Null);
    let digest = array_at(metadata, "RepoDigests")
        .iter()
        .filter_map(Value::as_str)
        .find_map(|d| d.split_once('@').map(|(_, digest)| digest.trim()))
        .filter(|d| !d.is_empty())
        .map(str::to_string)
        .or_else(|| string_at(metadata, "ImageID"));
    let os = metadata.get("OS").and_then(|os| {
        let parts: Vec<&str> = [str_at(os, "Family"), str_at(os, "Name")]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let name = string_at(doc, "ArtifactName")
        .or_else(|| {
            results
                .first()
                .and_then(|r| str_at(r, "Target"))
                .map(|t| split_target(t).0)
        })
        .unwrap_or_else(|| "unknown".to_string());

    Ok(Parsed::scan(
        format,
        ScanParts {
            artifact: ScannedArtifact {
                name,
                kind: string_at(doc, "ArtifactType").unwrap_or_else(|| "unknown".to_string()),
                digest,
                os,
            },
            scanner: Scanner {
                name: "trivy".to_string(),
                version: str_path(doc, &["Trivy", "Version"]).map(str::to_string),
            },
            scanned_at: str_at(doc, "CreatedAt").and_then(parse_timestamp),
            components,
            dependencies: Vec::new(),
            findings,
            assessed: true,
        },
    ))
}

/// The legacy report carries no artifact block: the first target names the artifact, and
/// an OS target's `(family version)` suffix names the OS.
pub fn parse_legacy(results: &[Value]) -> Result<Parsed, IngestError> {
    let format = TRIVY_JSON_LEGACY;
    let (findings, components) = read_results(results, format, "")?;
    let (name, os) = results
        .first()
        .and_then(|r| str_at(r, "Target"))
        .map(split_target)
        .unwrap_or_else(|| ("unknown".to_string(), None));
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
    results: &[Value],
    format: &'static str,
    path: &str,
) -> Result<(Vec<Finding>, Vec<Component>), IngestError> {
    let mut findings = Vec::new();
    let mut components = Vec::new();
    for (i, result) in results.iter().enumerate() {
        let at = format!("{path}[{i}]");
        if !result.is_object() {
            return Err(IngestError::invalid(
                format,
                format!("{at} is not an object"),
            ));
        }
        let target = string_at(result, "Target");
        let package_type = string_at(result, "Type");
        let vulns = strict_array_at(result, "Vulnerabilities", format, &format!("{at}."))?;
        let first = findings.len();
        for (j, v) in vulns.iter().enumerate() {
            let at = format!("{at}.Vulnerabilities[{j}]");
            findings.push(finding(v, &target, &package_type, format, &at)?);
        }
        let packages = strict_array_at(result, "Packages", format, &format!("{at}."))?;
        if packages.is_empty() {
            components.extend(findings[first..].iter().map(Finding::component));
        } else {
            for (j, p) in packages.iter().enumerate() {
                let name = str_at(p, "Name").ok_or_else(|| {
                    IngestError::invalid(format, format!("{at}.Packages[{j}]: missing Name"))
                })?;
                components.push(Component {
                    name: name.to_string(),
                    version: string_at(p, "Version").unwrap_or_default(),
                    package_type: package_type.clone(),
                    purl: str_path(p, &["Identifier", "PURL"]).map(str::to_string),
                    location: string_at(p, "FilePath").or_else(|| target.clone()),
                    licenses: strings_at(p, "Licenses"),
                });
            }
        }
    }
    Ok((findings, components))
}

fn finding(
    v: &Value,
    target: &Option<String>,
    package_type: &Option<String>,
    format: &'static str,
    at: &str,
) -> Result<Finding, IngestError> {
    if !v.is_object() {
        return Err(IngestError::invalid(
            format,
            format!("{at} is not an object"),
        ));
    }
    let missing = |field: &str| IngestError::invalid(format, format!("{at}: missing {field}"));
    let id = str_at(v, "VulnerabilityID").ok_or_else(|| missing("VulnerabilityID"))?;
    let package = str_at(v, "PkgName").ok_or_else(|| missing("PkgName"))?;

    let aliases: BTreeSet<String> = strings_at(v, "VendorIDs")
        .into_iter()
        .filter(|a| a != id)
        .collect();

    let mut references = Vec::new();
    if let Some(primary) = str_at(v, "PrimaryURL") {
        push_unique(&mut references, primary);
    }
    for r in strings_at(v, "References") {
        push_unique(&mut references, &r);
    }

    Ok(Finding {
        vulnerability_id: id.to_string(),
        aliases: aliases.into_iter().collect(),
        package: package.to_string(),
        package_type: package_type.clone(),
        purl: str_path(v, &["PkgIdentifier", "PURL"]).map(str::to_string),
        installed_version: string_at(v, "InstalledVersion").unwrap_or_default(),
        fixed_version: string_at(v, "FixedVersion"),
        severity: str_at(v, "Severity")
            .map(Severity::parse_lenient)
            .unwrap_or(Severity::Unknown),
        cvss: cvss(v),
        title: string_at(v, "Title"),
        description: string_at(v, "Description"),
        references,
        status: string_at(v, "Status"),
        target: target.clone(),
        cwes: cwe_numbers(array_at(v, "CweIDs").iter().filter_map(Value::as_str)),
        details: FindingDetails {
            published: str_at(v, "PublishedDate").and_then(parse_timestamp),
            modified: str_at(v, "LastModifiedDate").and_then(parse_timestamp),
            severity_source: string_at(v, "SeveritySource"),
            vendor_severity: vendor_severity(v),
            layer: str_path(v, &["Layer", "Digest"])
                .or_else(|| str_path(v, &["Layer", "DiffID"]))
                .map(str::to_string),
            ..FindingDetails::default()
        },
    })
}

/// `CVSS: {source: {V2Vector, V2Score, V3Vector, V3Score, V40Vector, V40Score}}`: one entry
/// per source and version present, sources in name order.
fn cvss(v: &Value) -> Vec<Cvss> {
    let Some(map) = v.get("CVSS").and_then(Value::as_object) else {
        return Vec::new();
    };
    let mut sources: Vec<(&String, &Value)> = map.iter().collect();
    sources.sort_by(|a, b| a.0.cmp(b.0));
    let mut out = Vec::new();
    for (source, entry) in sources {
        for (prefix, default_version) in [("V2", "2.0"), ("V3", "3.1"), ("V40", "4.0")] {
            let vector = string_at(entry, &format!("{prefix}Vector"));
            let score = number_at(entry, &format!("{prefix}Score"));
            if vector.is_none() && score.is_none() {
                continue;
            }
            let version = vector
                .as_deref()
                .and_then(cvss_version_of_vector)
                .unwrap_or_else(|| default_version.to_string());
            out.push(Cvss {
                source: source.clone(),
                version,
                vector,
                score,
            });
        }
    }
    out
}

/// Trivy's `VendorSeverity`: vendor → 0 (unknown) to 4 (critical).
fn vendor_severity(v: &Value) -> BTreeMap<String, Severity> {
    let Some(map) = v.get("VendorSeverity").and_then(Value::as_object) else {
        return BTreeMap::new();
    };
    map.iter()
        .filter_map(|(vendor, level)| {
            let s = match level.as_u64()? {
                4 => Severity::Critical,
                3 => Severity::High,
                2 => Severity::Medium,
                1 => Severity::Low,
                _ => Severity::Unknown,
            };
            Some((vendor.clone(), s))
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
}
