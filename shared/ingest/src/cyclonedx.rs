//! CycloneDX JSON, `specVersion` 1.4 to 1.6: components (nested ones too), the `dependencies`
//! graph, and `vulnerabilities` with their ratings, affected components and analysis.
//!
//! * A component's `package_type` is its purl's type; its licenses are `license.id`,
//!   `license.name` or `expression`.
//! * Dependencies are keyed by purl: a `bom-ref` is resolved to its component's purl, and a
//!   ref that does not resolve is kept only when it is itself a purl.
//! * Every vulnerability gives one finding per affected ref. A ref resolves through
//!   `bom-ref` to a component (or to `metadata.component`); one that does not (a standalone
//!   VEX BOM points into another BOM, `urn:cdx:serial/version#bom-ref`) still gives a finding,
//!   named by the ref (the BOM-Link's fragment), with the ref as purl when it is one.
//! * Severity is the rating of the vulnerability's own source (else the first rating): its
//!   stated severity or its score's band; the other ratings are kept as CVSS entries;
//!   every rating with a CVSS method is a CVSS entry; `references[].id` are aliases;
//!   description, detail, recommendation and workaround make the description; the source,
//!   advisories, reference sources and CWEs make the references; `affects[].versions` marked
//!   `unaffected` with a `version` make the fixed version.
//! * An `analysis` with a `state` is a VEX statement about the affected refs (their purls, or
//!   the refs themselves; with no `affects`, about every package): justification, `detail` as
//!   impact statement, `response` as action statement, `lastUpdated`, `firstIssued` or the
//!   BOM's timestamp as timestamp, the BOM's `serialNumber` as source.

use std::collections::BTreeMap;

use ec_domain::scan::{
    Component, Cvss, Dependency, Finding, ScannedArtifact, Scanner, Severity, VexStatement,
    VexStatus,
};
use serde_json::Value;

use crate::json::{
    array_at, cvss_version_of_vector, number_at, parse_timestamp, push_unique, str_at, str_path,
    strict_array_at, string_at,
};
use crate::purl::{is_purl, purl_type, purl_version};
use crate::{
    CYCLONEDX_JSON, CYCLONEDX_JSON_1_4, CYCLONEDX_JSON_1_5, CYCLONEDX_JSON_1_6, IngestError,
    Parsed, ScanParts,
};

/// What a `bom-ref` names.
struct Named {
    name: String,
    version: String,
    purl: Option<String>,
}

/// What an `affects[].ref` points at.
enum Target<'a> {
    Component(&'a Named),
    /// Not in this BOM: the ref (a BOM-Link's fragment) and its purl, when it is one.
    Elsewhere {
        reference: String,
        purl: Option<String>,
    },
}

impl Target<'_> {
    /// The identifier a VEX statement names the target by.
    fn product(&self, reference: &str) -> String {
        match self {
            Target::Component(c) => c.purl.clone().unwrap_or_else(|| reference.to_string()),
            Target::Elsewhere { reference, purl } => {
                purl.clone().unwrap_or_else(|| reference.clone())
            }
        }
    }

    fn purl(&self) -> Option<&str> {
        match self {
            Target::Component(c) => c.purl.as_deref(),
            Target::Elsewhere { purl, .. } => purl.as_deref(),
        }
    }
}

struct Bom<'a> {
    format: &'static str,
    refs: BTreeMap<&'a str, Named>,
}

impl Bom<'_> {
    fn resolve(&self, reference: &str) -> Target<'_> {
        if let Some(named) = self.refs.get(reference) {
            return Target::Component(named);
        }
        // BOM-Link: `urn:cdx:<serial>/<version>#<bom-ref in that BOM>`.
        let local = match reference.strip_prefix("urn:cdx:") {
            Some(rest) => rest.split_once('#').map_or(reference, |(_, frag)| frag),
            None => reference,
        };
        Target::Elsewhere {
            reference: local.to_string(),
            purl: is_purl(local).then(|| local.to_string()),
        }
    }
}

pub fn parse(doc: &Value, fallback_source: &str) -> Result<Parsed, IngestError> {
    let format = match str_at(doc, "specVersion") {
        Some("1.4") => CYCLONEDX_JSON_1_4,
        Some("1.5") => CYCLONEDX_JSON_1_5,
        Some("1.6") => CYCLONEDX_JSON_1_6,
        other => {
            return Err(IngestError::invalid(
                CYCLONEDX_JSON,
                format!(
                    "specVersion {} is not read (1.4, 1.5 and 1.6 are)",
                    other.unwrap_or("(missing)")
                ),
            ));
        }
    };
    let metadata = doc.get("metadata").unwrap_or(&Value::Null);
    let main = metadata.get("component").filter(|c| c.is_object());

    let mut raw_components = Vec::new();
    collect(
        strict_array_at(doc, "components", format, "")?,
        "components",
        format,
        &mut raw_components,
    )?;
    let mut bom = Bom {
        format,
        refs: BTreeMap::new(),
    };
    for c in main
        .into_iter()
        .chain(raw_components.iter().map(|(c, _)| *c))
    {
        if let (Some(r), Some(name)) = (str_at(c, "bom-ref"), str_at(c, "name")) {
            bom.refs.entry(r).or_insert_with(|| Named {
                name: name.to_string(),
                version: string_at(c, "version").unwrap_or_default(),
                purl: string_at(c, "purl"),
            });
        }
    }
    let components: Vec<Component> = raw_components
        .iter()
        .map(|(c, name)| component(c, name))
        .collect();

    let doc_time = str_at(metadata, "timestamp").and_then(parse_timestamp);
    let source = string_at(doc, "serialNumber").unwrap_or_else(|| fallback_source.to_string());
    let vulnerabilities = strict_array_at(doc, "vulnerabilities", format, "")?;
    let mut findings = Vec::new();
    let mut vex = Vec::new();
    for (i, v) in vulnerabilities.iter().enumerate() {
        let at = format!("vulnerabilities[{i}]");
        let (mut f, statement) = read_vulnerability(&bom, v, &at, &source, doc_time)?;
        findings.append(&mut f);
        vex.extend(statement);
    }

    let vex_only = components.is_empty()
        && !vulnerabilities.is_empty()
        && vulnerabilities
            .iter()
            .all(|v| v.get("analysis").and_then(|a| str_at(a, "state")).is_some());
    if vex_only {
        return Ok(Parsed {
            source_format: format,
            scan: None,
            vex,
        });
    }

    let dependencies = dependencies(&bom, strict_array_at(doc, "dependencies", format, "")?);
    Ok(Parsed {
        source_format: format,
        scan: Some(ScanParts {
            artifact: artifact(main, &raw_components),
            scanner: scanner(metadata),
            scanned_at: doc_time,
            components,
            dependencies,
            findings,
            // A BOM without `vulnerabilities` lists packages only; an empty list is a scan
            // that found nothing.
            assessed: doc.get("vulnerabilities").is_some(),
        }),
        vex,
    })
}

/// Every component, depth first, with its name (which the schema requires).
fn collect<'a>(
    list: &'a [Value],
    at: &str,
    format: &'static str,
    out: &mut Vec<(&'a Value, String)>,
) -> Result<(), IngestError> {
    for (i, c) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let name = str_at(c, "name")
            .ok_or_else(|| IngestError::invalid(format, format!("{here}: missing name")))?;
        out.push((c, name.to_string()));
        collect(
            strict_array_at(c, "components", format, &format!("{here}."))?,
            &format!("{here}.components"),
            format,
            out,
        )?;
    }
    Ok(())
}

fn component(c: &Value, name: &str) -> Component {
    let purl = string_at(c, "purl");
    Component {
        name: name.to_string(),
        version: string_at(c, "version").unwrap_or_default(),
        package_type: purl.as_deref().and_then(purl_type),
        purl,
        location: None,
        licenses: licenses(c),
    }
}

fn licenses(c: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for l in array_at(c, "licenses") {
        let name = str_at(l, "expression")
            .or_else(|| str_path(l, &["license", "id"]))
            .or_else(|| str_path(l, &["license", "name"]));
        if let Some(n) = name {
            push_unique(&mut out, n);
        }
    }
    out
}

/// The graph by purl; refs without a purl are left out, and so is an entry all of whose
/// dependencies were.
fn dependencies(bom: &Bom<'_>, list: &[Value]) -> Vec<Dependency> {
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in list {
        let Some(from) = str_at(d, "ref").and_then(|r| bom.resolve(r).purl().map(str::to_string))
        else {
            continue;
        };
        let refs = array_at(d, "dependsOn");
        let to: Vec<String> = refs
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|r| bom.resolve(r).purl().map(str::to_string))
            .collect();
        // "Depends on nothing" only when the document says so, not when no ref had a purl.
        if to.is_empty() && !refs.is_empty() {
            continue;
        }
        graph.entry(from).or_default().extend(to);
    }
    graph
        .into_iter()
        .map(|(purl, depends_on)| Dependency { purl, depends_on })
        .collect()
}

/// The artifact is `metadata.component`; its digest a SHA-256 hash or an OCI purl's
/// digest; the OS the first component of type `operating-system`.
fn artifact(main: Option<&Value>, components: &[(&Value, String)]) -> ScannedArtifact {
    let main = main.unwrap_or(&Value::Null);
    let purl_digest = str_at(main, "purl")
        .and_then(purl_version)
        .filter(|v| v.starts_with("sha256:"));
    let hash_digest = array_at(main, "hashes")
        .iter()
        .find(|h| str_at(h, "alg").is_some_and(|a| a.eq_ignore_ascii_case("SHA-256")))
        .and_then(|h| str_at(h, "content"))
        .map(|c| format!("sha256:{}", c.to_ascii_lowercase()));
    let os = components
        .iter()
        .find(|(c, _)| str_at(c, "type") == Some("operating-system"))
        .map(|(c, name)| match str_at(c, "version") {
            Some(v) => format!("{name} {v}"),
            None => name.clone(),
        });
    ScannedArtifact {
        name: string_at(main, "name").unwrap_or_else(|| "unknown".to_string()),
        kind: string_at(main, "type").unwrap_or_else(|| "unknown".to_string()),
        digest: hash_digest.or(purl_digest),
        os,
    }
}

/// `metadata.tools`: an array of tools up to 1.4, `{components, services}` since 1.5.
fn scanner(metadata: &Value) -> Scanner {
    let tools = metadata.get("tools").unwrap_or(&Value::Null);
    let list = match tools {
        Value::Array(a) => a.as_slice(),
        _ => array_at(tools, "components"),
    };
    list.iter()
        .find_map(|t| {
            str_at(t, "name").map(|name| Scanner {
                name: name.to_string(),
                version: string_at(t, "version"),
            })
        })
        .unwrap_or_else(|| Scanner {
            name: "unknown".to_string(),
            version: None,
        })
}

fn read_vulnerability(
    bom: &Bom<'_>,
    v: &Value,
    at: &str,
    source: &str,
    doc_time: Option<time::OffsetDateTime>,
) -> Result<(Vec<Finding>, Option<VexStatement>), IngestError> {
    let format = bom.format;
    let id =
        str_at(v, "id").ok_or_else(|| IngestError::invalid(format, format!("{at}: missing id")))?;
    let ratings = array_at(v, "ratings");
    let vuln_source = str_path(v, &["source", "name"]);
    let cvss = cvss_of(ratings, vuln_source);

    let mut aliases = Vec::new();
    for r in array_at(v, "references") {
        if let Some(alias) = str_at(r, "id").filter(|a| *a != id) {
            push_unique(&mut aliases, alias);
        }
    }
    let mut references = Vec::new();
    if let Some(u) = str_path(v, &["source", "url"]) {
        push_unique(&mut references, u);
    }
    for a in array_at(v, "advisories") {
        if let Some(u) = str_at(a, "url") {
            push_unique(&mut references, u);
        }
    }
    for r in array_at(v, "references") {
        if let Some(u) = str_path(r, &["source", "url"]) {
            push_unique(&mut references, u);
        }
    }
    let mut cwes: Vec<u32> = array_at(v, "cwes")
        .iter()
        .filter_map(Value::as_u64)
        .filter_map(|c| u32::try_from(c).ok())
        .collect();
    cwes.sort_unstable();
    cwes.dedup();
    let description: Vec<String> = [
        string_at(v, "description"),
        string_at(v, "detail"),
        string_at(v, "recommendation").map(|r| format!("Recommendation: {r}")),
        string_at(v, "workaround").map(|w| format!("Workaround: {w}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let description = (!description.is_empty()).then(|| description.join("\n\n"));
    let (severity, severity_source) = severity_of(ratings, vuln_source);

    let mut findings = Vec::new();
    let mut products = Vec::new();
    for (j, affect) in array_at(v, "affects").iter().enumerate() {
        let reference = str_at(affect, "ref").ok_or_else(|| {
            IngestError::invalid(format, format!("{at}.affects[{j}]: missing ref"))
        })?;
        let target = bom.resolve(reference);
        push_unique(&mut products, &target.product(reference));
        let (package, installed_version, purl) = match &target {
            Target::Component(c) => (c.name.clone(), c.version.clone(), c.purl.clone()),
            Target::Elsewhere { reference, purl } => (
                reference.clone(),
                purl.as_deref().and_then(purl_version).unwrap_or_default(),
                purl.clone(),
            ),
        };
        let fixed: Vec<&str> = array_at(affect, "versions")
            .iter()
            .filter(|r| str_at(r, "status") == Some("unaffected"))
            .filter_map(|r| str_at(r, "version"))
            .collect();
        findings.push(Finding {
            vulnerability_id: id.to_string(),
            aliases: aliases.clone(),
            package,
            package_type: purl.as_deref().and_then(purl_type),
            purl,
            installed_version,
            fixed_version: (!fixed.is_empty()).then(|| fixed.join(", ")),
            severity,
            cvss: cvss.clone(),
            title: None,
            description: description.clone(),
            references: references.clone(),
            status: None,
            target: None,
            cwes: cwes.clone(),
            details: ec_domain::scan::FindingDetails {
                severity_source: severity_source.clone(),
                published: str_at(v, "published").and_then(parse_timestamp),
                modified: str_at(v, "updated").and_then(parse_timestamp),
                ..Default::default()
            },
        });
    }

    let analysis = v.get("analysis").unwrap_or(&Value::Null);
    let statement = match str_at(analysis, "state") {
        None => None,
        Some(state) => {
            let status = match state {
                "not_affected" | "false_positive" => VexStatus::NotAffected,
                "resolved" | "resolved_with_pedigree" => VexStatus::Fixed,
                "exploitable" => VexStatus::Affected,
                "in_triage" => VexStatus::UnderInvestigation,
                other => {
                    return Err(IngestError::invalid(
                        format,
                        format!("{at}.analysis.state {other:?} is not an impact analysis state"),
                    ));
                }
            };
            let responses: Vec<&str> = array_at(analysis, "response")
                .iter()
                .filter_map(Value::as_str)
                .collect();
            Some(VexStatement {
                vulnerability_id: id.to_string(),
                products,
                status,
                justification: string_at(analysis, "justification"),
                impact_statement: string_at(analysis, "detail"),
                action_statement: (!responses.is_empty()).then(|| responses.join(", ")),
                timestamp: str_at(analysis, "lastUpdated")
                    .or_else(|| str_at(analysis, "firstIssued"))
                    .and_then(parse_timestamp)
                    .or(doc_time),
                source: Some(source.to_string()),
            })
        }
    };
    Ok((findings, statement))
}

/// Ratings whose method is a CVSS version (`CVSSv2`, `CVSSv3`, `CVSSv31`, `CVSSv4`) or whose
/// vector declares one, with a score or a vector.
fn cvss_of(ratings: &[Value], vuln_source: Option<&str>) -> Vec<Cvss> {
    let mut out: Vec<Cvss> = Vec::new();
    for r in ratings {
        let vector = string_at(r, "vector");
        let version = match str_at(r, "method") {
            Some("CVSSv2") => Some("2.0".to_string()),
            Some("CVSSv3") => Some("3.0".to_string()),
            Some("CVSSv31") => Some("3.1".to_string()),
            Some("CVSSv4") => Some("4.0".to_string()),
            _ => vector.as_deref().and_then(cvss_version_of_vector),
        };
        let score = number_at(r, "score");
        let Some(version) = version else { continue };
        if vector.is_none() && score.is_none() {
            continue;
        }
        let c = Cvss {
            source: str_path(r, &["source", "name"])
                .or(vuln_source)
                .unwrap_or("unknown")
                .to_string(),
            version,
            vector,
            score,
        };
        if !out.contains(&c) {
            out.push(c);
        }
    }
    out
}

/// The scanner's severity: the rating whose `source.name` is the vulnerability's own source
/// (a Trivy-made BOM names the finding's `SeveritySource` there), else the first rating;
/// the rating's stated severity, or the band of its score. Other ratings stay in `cvss`.
fn severity_of(ratings: &[Value], vuln_source: Option<&str>) -> (Severity, Option<String>) {
    let of_source = vuln_source.and_then(|src| {
        ratings.iter().find(|r| {
            str_path(r, &["source", "name"]).is_some_and(|n| n.eq_ignore_ascii_case(src))
                && rating_severity(r).is_some()
        })
    });
    let chosen = of_source.or_else(|| ratings.iter().find(|r| rating_severity(r).is_some()));
    match chosen.and_then(|r| Some((rating_severity(r)?, r))) {
        Some((s, r)) => (s, str_path(r, &["source", "name"]).map(str::to_string)),
        None => (Severity::Unknown, None),
    }
}

/// What one rating says: its severity word, else its score's band.
fn rating_severity(r: &Value) -> Option<Severity> {
    str_at(r, "severity")
        .map(Severity::parse_lenient)
        .filter(|s| *s != Severity::Unknown)
        .or_else(|| number_at(r, "score").map(Severity::from_score))
        .filter(|s| *s != Severity::Unknown)
}

#[cfg(test)]
mod tests;
