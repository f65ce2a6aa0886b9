//! Grype JSON (`grype -o json`): `matches`, `source`, `distro`, `descriptor`. Read from the
//! 0.6x descriptors (cvss without `source`, licenses as strings) to 0.9x (cvss `source`,
//! EPSS/risk fields, license objects).

use std::collections::BTreeSet;

use ec_domain::scan::{
    Component, Cvss, Epss, Finding, FindingDetails, ScannedArtifact, Scanner, Severity,
};
use serde_json::Value;

use crate::json::{
    array_at, cvss_version_of_vector, number_at, parse_timestamp, push_unique, str_at, str_path,
    strict_array_at, string_at,
};
use crate::{GRYPE_JSON, IngestError, Parsed, ScanParts};

const FORMAT: &str = GRYPE_JSON;

pub fn parse(doc: &Value) -> Result<Parsed, IngestError> {
    let matches = strict_array_at(doc, "matches", FORMAT, "")?;
    let mut findings = Vec::with_capacity(matches.len());
    let mut components = Vec::with_capacity(matches.len());
    for (i, m) in matches.iter().enumerate() {
        let (finding, component) = read_match(m, &format!("matches[{i}]"))?;
        findings.push(finding);
        components.push(component);
    }

    let descriptor = doc.get("descriptor").unwrap_or(&Value::Null);
    let source = doc.get("source").unwrap_or(&Value::Null);
    Ok(Parsed::scan(
        FORMAT,
        ScanParts {
            artifact: artifact(source, doc.get("distro").unwrap_or(&Value::Null)),
            scanner: Scanner {
                name: "grype".to_string(),
                version: string_at(descriptor, "version"),
            },
            scanned_at: str_at(descriptor, "timestamp").and_then(parse_timestamp),
            components,
            dependencies: Vec::new(),
            findings,
            assessed: true,
        },
    ))
}

fn artifact(source: &Value, distro: &Value) -> ScannedArtifact {
    let target = source.get("target").unwrap_or(&Value::Null);
    let name = match target {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        _ => string_at(target, "userInput").or_else(|| string_at(target, "path")),
    };
    let os_parts: Vec<&str> = [str_at(distro, "name"), str_at(distro, "version")]
        .into_iter()
        .flatten()
        .collect();
    ScannedArtifact {
        name: name.unwrap_or_else(|| "unknown".to_string()),
        kind: string_at(source, "type").unwrap_or_else(|| "unknown".to_string()),
        digest: string_at(target, "manifestDigest").or_else(|| string_at(target, "imageID")),
        os: (!os_parts.is_empty()).then(|| os_parts.join(" ")),
    }
}

fn read_match(m: &Value, at: &str) -> Result<(Finding, Component), IngestError> {
    let missing = |field: &str| IngestError::invalid(FORMAT, format!("{at}: missing {field}"));
    let vuln = m
        .get("vulnerability")
        .filter(|v| v.is_object())
        .ok_or_else(|| missing("vulnerability"))?;
    let art = m
        .get("artifact")
        .filter(|v| v.is_object())
        .ok_or_else(|| missing("artifact"))?;
    let id = str_at(vuln, "id").ok_or_else(|| missing("vulnerability.id"))?;
    let name = str_at(art, "name").ok_or_else(|| missing("artifact.name"))?;
    let related = array_at(m, "relatedVulnerabilities");

    let aliases: BTreeSet<String> = related
        .iter()
        .filter_map(|r| str_at(r, "id"))
        .filter(|a| *a != id)
        .map(str::to_string)
        .collect();

    let mut cvss = cvss_of(vuln);
    for r in related {
        for c in cvss_of(r) {
            if !cvss.contains(&c) {
                cvss.push(c);
            }
        }
    }

    let mut references = Vec::new();
    if let Some(ds) = str_at(vuln, "dataSource") {
        push_unique(&mut references, ds);
    }
    // `urls` since grype 0.2x; `links` (strings) in the oldest layout.
    for key in ["urls", "links"] {
        for u in array_at(vuln, key).iter().filter_map(Value::as_str) {
            push_unique(&mut references, u);
        }
    }

    // Fixed versions: `fix.versions` since grype 0.3x, `fixedInVersion` before.
    let fix = vuln.get("fix").unwrap_or(&Value::Null);
    let fixed: Vec<&str> = array_at(fix, "versions")
        .iter()
        .filter_map(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let fixed_version = if fixed.is_empty() {
        string_at(vuln, "fixedInVersion")
    } else {
        Some(fixed.join(", "))
    };

    // Distro matches often carry no description; the related NVD record does.
    let description = string_at(vuln, "description")
        .or_else(|| related.iter().find_map(|r| string_at(r, "description")));

    let location = array_at(art, "locations")
        .iter()
        .find_map(|l| string_at(l, "path"));
    let version = string_at(art, "version").unwrap_or_default();
    let package_type = string_at(art, "type");
    let purl = string_at(art, "purl");

    let finding = Finding {
        vulnerability_id: id.to_string(),
        aliases: aliases.into_iter().collect(),
        package: name.to_string(),
        package_type: package_type.clone(),
        purl: purl.clone(),
        installed_version: version.clone(),
        fixed_version,
        severity: str_at(vuln, "severity")
            .map(Severity::parse_lenient)
            .unwrap_or(Severity::Unknown),
        cvss,
        title: None,
        description,
        references,
        status: string_at(fix, "state"),
        target: location.clone(),
        cwes: Vec::new(),
        details: FindingDetails {
            epss: epss(vuln, id),
            known_exploited: !array_at(vuln, "knownExploited").is_empty(),
            ..FindingDetails::default()
        },
    };
    let component = Component {
        name: name.to_string(),
        version,
        package_type,
        purl,
        location,
        licenses: licenses(art),
    };
    Ok((finding, component))
}

/// The scores of a vulnerability record: `cvss[]`, and in the oldest layout the objects
/// `cvssV2` and `cvssV3` directly under the record (recognised by those fields, whatever the
/// descriptor's version says). Entries without `source` (grype before ~0.7x) are credited to
/// the record's namespace provider (`nvd:cpe` gives `nvd`).
fn cvss_of(record: &Value) -> Vec<Cvss> {
    let fallback_source = str_at(record, "namespace")
        .and_then(|ns| ns.split(':').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown");
    let old_layout = [("cvssV2", "2.0"), ("cvssV3", "3.0")]
        .into_iter()
        .filter_map(|(key, version)| Some((record.get(key).filter(|c| c.is_object())?, version)));
    let listed = array_at(record, "cvss")
        .iter()
        .filter(|c| c.is_object())
        .map(|c| (c, "2.0"));
    listed
        .chain(old_layout)
        .map(|(c, default_version)| {
            let vector = string_at(c, "vector");
            let version = string_at(c, "version")
                .or_else(|| vector.as_deref().and_then(cvss_version_of_vector))
                .or_else(|| vector.as_ref().map(|_| default_version.to_string()))
                .unwrap_or_else(|| "unknown".to_string());
            Cvss {
                source: str_at(c, "source").unwrap_or(fallback_source).to_string(),
                version,
                vector,
                score: c
                    .get("metrics")
                    .and_then(|m| number_at(m, "baseScore"))
                    .or_else(|| number_at(c, "baseScore")),
            }
        })
        .filter(|c| c.vector.is_some() || c.score.is_some())
        .collect()
}

/// The EPSS estimate of `id` (grype 0.8x `epss[]`, one entry per CVE).
fn epss(vuln: &Value, id: &str) -> Option<Epss> {
    let entries = array_at(vuln, "epss");
    let e = entries
        .iter()
        .find(|e| str_at(e, "cve") == Some(id))
        .or_else(|| entries.first())?;
    Some(Epss {
        score: number_at(e, "epss")?,
        percentile: number_at(e, "percentile"),
        date: string_at(e, "date"),
    })
}

/// Licenses are strings up to grype 0.7x and objects (`value`, `spdxExpression`) after.
fn licenses(art: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for l in array_at(art, "licenses") {
        let name = match l {
            Value::String(s) => Some(s.as_str()),
            _ => str_at(l, "spdxExpression")
                .or_else(|| str_at(l, "value"))
                .or_else(|| str_path(l, &["name"])),
        };
        if let Some(n) = name {
            push_unique(&mut out, n);
        }
    }
    out
}
