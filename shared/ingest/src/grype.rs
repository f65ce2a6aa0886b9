//! Grype JSON (`grype -o json`): `matches`, `source`, `distro`, `descriptor`. Read from the
//! 0.6x descriptors (cvss without `source`, licenses as strings) to 0.9x (cvss `source`,
//! EPSS/risk fields, license objects).

use std::collections::BTreeSet;

use ec_domain::scan::{
    Component, Cvss, Epss, Finding, FindingDetails, ScannedArtifact, Scanner, Severity,
};
use ec_domain::shared_text::SharedText;
use serde::Deserialize;

use crate::json::{cvss_version_of_vector, parse_timestamp, push_unique, push_unique_shared};
use crate::lenient::{Count, Items, List, Num, Obj, Text, TextOr, Texts};
use crate::{GRYPE_JSON, IngestError, Parsed, ScanParts, typed};

const FORMAT: &str = GRYPE_JSON;

#[derive(Deserialize)]
struct Report<'a> {
    #[serde(default, borrow)]
    matches: Items<Match<'a>>,
    #[serde(default, borrow)]
    source: Obj<Source<'a>>,
    #[serde(default, borrow)]
    distro: Obj<Distro<'a>>,
    #[serde(default, borrow)]
    descriptor: Obj<Descriptor<'a>>,
}

#[derive(Deserialize, Default)]
struct Source<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Text<'a>,
    /// The scanned path as a string, or an object describing the image.
    #[serde(default, borrow)]
    target: TextOr<'a, ImageTarget<'a>>,
}

#[derive(Deserialize, Default)]
struct ImageTarget<'a> {
    #[serde(rename = "userInput", default, borrow)]
    user_input: Text<'a>,
    #[serde(default, borrow)]
    path: Text<'a>,
    #[serde(rename = "manifestDigest", default, borrow)]
    manifest_digest: Text<'a>,
    #[serde(rename = "imageID", default, borrow)]
    image_id: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Distro<'a> {
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Descriptor<'a> {
    #[serde(default, borrow)]
    version: Text<'a>,
    #[serde(default, borrow)]
    timestamp: Text<'a>,
}

#[derive(Deserialize)]
struct Match<'a> {
    #[serde(default, borrow)]
    vulnerability: Obj<Record<'a>>,
    #[serde(rename = "relatedVulnerabilities", default, borrow)]
    related: List<Obj<Record<'a>>>,
    #[serde(default, borrow)]
    artifact: Obj<Artifact<'a>>,
}

/// A vulnerability record: the match's own, or a related one (usually NVD's).
#[derive(Deserialize, Default)]
struct Record<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    namespace: Text<'a>,
    #[serde(default, borrow)]
    severity: Text<'a>,
    #[serde(default, borrow)]
    description: Text<'a>,
    #[serde(rename = "dataSource", default, borrow)]
    data_source: Text<'a>,
    #[serde(default, borrow)]
    urls: Texts<'a>,
    #[serde(default, borrow)]
    links: Texts<'a>,
    #[serde(default, borrow)]
    fix: Obj<Fix<'a>>,
    #[serde(rename = "fixedInVersion", default, borrow)]
    fixed_in_version: Text<'a>,
    #[serde(default, borrow)]
    cvss: List<Obj<Score<'a>>>,
    #[serde(rename = "cvssV2", default, borrow)]
    cvss_v2: Obj<Score<'a>>,
    #[serde(rename = "cvssV3", default, borrow)]
    cvss_v3: Obj<Score<'a>>,
    #[serde(default, borrow)]
    epss: List<Obj<EpssEntry<'a>>>,
    #[serde(rename = "knownExploited", default)]
    known_exploited: Count,
}

#[derive(Deserialize, Default)]
struct Fix<'a> {
    #[serde(default, borrow)]
    versions: Texts<'a>,
    #[serde(default, borrow)]
    state: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Score<'a> {
    #[serde(default, borrow)]
    source: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
    #[serde(default, borrow)]
    vector: Text<'a>,
    #[serde(default)]
    metrics: Obj<Metrics>,
    #[serde(rename = "baseScore", default)]
    base_score: Num,
}

#[derive(Deserialize, Default)]
struct Metrics {
    #[serde(rename = "baseScore", default)]
    base_score: Num,
}

#[derive(Deserialize, Default)]
struct EpssEntry<'a> {
    #[serde(default, borrow)]
    cve: Text<'a>,
    #[serde(default)]
    epss: Num,
    #[serde(default)]
    percentile: Num,
    #[serde(default, borrow)]
    date: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Artifact<'a> {
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
    #[serde(rename = "type", default, borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    purl: Text<'a>,
    #[serde(default, borrow)]
    locations: List<Obj<Location<'a>>>,
    /// Strings up to grype 0.7x, objects (`value`, `spdxExpression`) after.
    #[serde(default, borrow)]
    licenses: List<TextOr<'a, LicenseObject<'a>>>,
}

#[derive(Deserialize, Default)]
struct Location<'a> {
    #[serde(default, borrow)]
    path: Text<'a>,
}

#[derive(Deserialize, Default)]
struct LicenseObject<'a> {
    #[serde(rename = "spdxExpression", default, borrow)]
    spdx_expression: Text<'a>,
    #[serde(default, borrow)]
    value: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
}

pub fn parse(text: &[u8]) -> Result<Parsed, IngestError> {
    let doc: Report<'_> = typed(text, FORMAT)?;
    let matches = doc.matches.0;
    let mut findings = Vec::with_capacity(matches.len());
    let mut components = Vec::with_capacity(matches.len());
    for (i, m) in matches.into_iter().enumerate() {
        let (finding, component) = read_match(m, || format!("matches[{i}]"))?;
        findings.push(finding);
        components.push(component);
    }

    let descriptor = doc.descriptor.0.unwrap_or_default();
    Ok(Parsed::scan(
        FORMAT,
        ScanParts {
            artifact: artifact(
                doc.source.0.unwrap_or_default(),
                doc.distro.0.unwrap_or_default(),
            ),
            scanner: Scanner {
                name: "grype".to_string(),
                version: descriptor.version.owned(),
            },
            scanned_at: descriptor.timestamp.as_str().and_then(parse_timestamp),
            components,
            dependencies: Vec::new(),
            findings,
            assessed: true,
        },
    ))
}

fn artifact(source: Source<'_>, distro: Distro<'_>) -> ScannedArtifact {
    let (name, image) = match source.target {
        TextOr::Text(name) => (name.owned(), ImageTarget::default()),
        TextOr::Object(image) => (
            image.user_input.owned().or_else(|| image.path.owned()),
            image,
        ),
        TextOr::Neither => (None, ImageTarget::default()),
    };
    let os_parts: Vec<&str> = [distro.name.as_str(), distro.version.as_str()]
        .into_iter()
        .flatten()
        .collect();
    ScannedArtifact {
        name: name.unwrap_or_else(|| "unknown".to_string()),
        kind: source.kind.owned().unwrap_or_else(|| "unknown".to_string()),
        digest: image
            .manifest_digest
            .owned()
            .or_else(|| image.image_id.owned()),
        os: (!os_parts.is_empty()).then(|| os_parts.join(" ")),
    }
}

fn read_match(m: Match<'_>, at: impl Fn() -> String) -> Result<(Finding, Component), IngestError> {
    let missing = |field: &str| IngestError::invalid(FORMAT, format!("{}: missing {field}", at()));
    let vuln = m.vulnerability.0.ok_or_else(|| missing("vulnerability"))?;
    let art = m.artifact.0.ok_or_else(|| missing("artifact"))?;
    let id = vuln
        .id
        .as_str()
        .ok_or_else(|| missing("vulnerability.id"))?;
    let name = art.name.as_str().ok_or_else(|| missing("artifact.name"))?;
    let related: Vec<&Record<'_>> = m.related.iter().filter_map(Obj::get).collect();

    let aliases: BTreeSet<&str> = related
        .iter()
        .filter_map(|r| r.id.as_str())
        .filter(|a| *a != id)
        .collect();

    let mut cvss = cvss_of(&vuln);
    for r in &related {
        for c in cvss_of(r) {
            if !cvss.contains(&c) {
                cvss.push(c);
            }
        }
    }

    // `urls` since grype 0.2x; `links` (strings) in the oldest layout.
    let mut references: Vec<SharedText> = Vec::new();
    for u in vuln
        .data_source
        .as_str()
        .into_iter()
        .chain(vuln.urls.iter())
        .chain(vuln.links.iter())
    {
        push_unique_shared(&mut references, u);
    }

    // Fixed versions: `fix.versions` since grype 0.3x, `fixedInVersion` before.
    let fix = vuln.fix.get();
    let fixed: Vec<&str> = fix
        .map(|f| f.versions.iter().map(str::trim).collect())
        .unwrap_or_default();
    let fixed_version = if fixed.is_empty() {
        vuln.fixed_in_version.owned()
    } else {
        Some(fixed.join(", "))
    };

    // Distro matches often carry no description; the related NVD record does.
    let description = vuln
        .description
        .shared()
        .or_else(|| related.iter().find_map(|r| r.description.shared()));

    let location = art.locations.iter().find_map(|l| l.get()?.path.owned());
    let version = art.version.owned().unwrap_or_default();
    let package_type = art.kind.owned();
    let purl = art.purl.owned();
    let mut licenses: Vec<String> = Vec::new();
    for l in art.licenses.iter() {
        let name = match l {
            TextOr::Text(t) => t.as_str(),
            TextOr::Object(o) => o
                .spdx_expression
                .as_str()
                .or_else(|| o.value.as_str())
                .or_else(|| o.name.as_str()),
            TextOr::Neither => None,
        };
        if let Some(name) = name {
            push_unique(&mut licenses, name);
        }
    }

    let finding = Finding {
        vulnerability_id: id.to_string(),
        aliases: aliases.into_iter().map(str::to_string).collect(),
        package: name.to_string(),
        package_type: package_type.clone(),
        purl: purl.clone(),
        installed_version: version.clone(),
        fixed_version,
        severity: vuln
            .severity
            .as_str()
            .map(Severity::parse_lenient)
            .unwrap_or(Severity::Unknown),
        cvss,
        title: None,
        description,
        references,
        status: fix.and_then(|f| f.state.owned()),
        target: location.clone(),
        cwes: Vec::new(),
        details: FindingDetails {
            epss: epss(&vuln, id),
            known_exploited: vuln.known_exploited.0 > 0,
            ..FindingDetails::default()
        },
    };
    let component = Component {
        name: name.to_string(),
        version,
        package_type,
        purl,
        location,
        licenses,
    };
    Ok((finding, component))
}

/// The scores of a vulnerability record: `cvss[]`, and in the oldest layout the objects
/// `cvssV2` and `cvssV3` directly under the record (recognised by those fields, whatever the
/// descriptor's version says). Entries without `source` (grype before ~0.7x) are credited to
/// the record's namespace provider (`nvd:cpe` gives `nvd`).
fn cvss_of(record: &Record<'_>) -> Vec<Cvss> {
    let fallback_source = record
        .namespace
        .as_str()
        .and_then(|ns| ns.split(':').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("unknown");
    let old_layout = [(&record.cvss_v2, "2.0"), (&record.cvss_v3, "3.0")]
        .into_iter()
        .filter_map(|(c, version)| Some((c.get()?, version)));
    let listed = record.cvss.iter().filter_map(Obj::get).map(|c| (c, "2.0"));
    listed
        .chain(old_layout)
        .map(|(c, default_version)| {
            let vector = c.vector.owned();
            let version = c
                .version
                .owned()
                .or_else(|| vector.as_deref().and_then(cvss_version_of_vector))
                .or_else(|| vector.as_ref().map(|_| default_version.to_string()))
                .unwrap_or_else(|| "unknown".to_string());
            Cvss {
                source: c.source.as_str().unwrap_or(fallback_source).to_string(),
                version,
                vector,
                score: c
                    .metrics
                    .get()
                    .and_then(|m| m.base_score.0)
                    .or(c.base_score.0),
            }
        })
        .filter(|c| c.vector.is_some() || c.score.is_some())
        .collect()
}

/// The EPSS estimate of `id` (grype 0.8x `epss[]`, one entry per CVE).
fn epss(vuln: &Record<'_>, id: &str) -> Option<Epss> {
    let entries = &vuln.epss.0;
    let e = entries
        .iter()
        .find(|e| e.get().and_then(|e| e.cve.as_str()) == Some(id))
        .or_else(|| entries.first())?
        .get()?;
    Some(Epss {
        score: e.epss.0?,
        percentile: e.percentile.0,
        date: e.date.owned(),
    })
}
