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
use ec_domain::shared_text::SharedText;
use serde::Deserialize;

use crate::json::{cvss_version_of_vector, parse_timestamp, push_unique, push_unique_shared};
use crate::lenient::{Array, List, ListOr, Num, Obj, Present, Text, Texts, Whole};
use crate::purl::{is_purl, purl_type, purl_version};
use crate::{
    CYCLONEDX_JSON, CYCLONEDX_JSON_1_4, CYCLONEDX_JSON_1_5, CYCLONEDX_JSON_1_6, IngestError,
    Parsed, ScanParts, typed,
};

#[derive(Deserialize)]
struct Document<'a> {
    #[serde(rename = "specVersion", default, borrow)]
    spec_version: Text<'a>,
    #[serde(rename = "serialNumber", default, borrow)]
    serial_number: Text<'a>,
    #[serde(default, borrow)]
    metadata: Obj<Metadata<'a>>,
    #[serde(default, borrow)]
    components: Array<Obj<RawComponent<'a>>>,
    #[serde(default, borrow)]
    dependencies: Array<Obj<RawDependency<'a>>>,
    #[serde(default, borrow)]
    vulnerabilities: Present<Array<Obj<Vulnerability<'a>>>>,
}

#[derive(Deserialize, Default)]
struct Metadata<'a> {
    #[serde(default, borrow)]
    timestamp: Text<'a>,
    /// A list of tools up to 1.4, `{components, services}` since 1.5.
    #[serde(default, borrow)]
    tools: ListOr<Obj<Tool<'a>>, Tools<'a>>,
    #[serde(default, borrow)]
    component: Obj<Main<'a>>,
}

#[derive(Deserialize, Default)]
struct Tools<'a> {
    #[serde(default, borrow)]
    components: List<Obj<Tool<'a>>>,
}

#[derive(Deserialize, Default)]
struct Tool<'a> {
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
}

/// `metadata.component`, the artifact the BOM describes (its own components are not read).
#[derive(Deserialize, Default)]
struct Main<'a> {
    #[serde(rename = "bom-ref", default, borrow)]
    bom_ref: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
    #[serde(default, borrow)]
    purl: Text<'a>,
    #[serde(rename = "type", default, borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    hashes: List<Obj<Hash<'a>>>,
}

#[derive(Deserialize, Default)]
struct RawComponent<'a> {
    #[serde(rename = "bom-ref", default, borrow)]
    bom_ref: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
    #[serde(default, borrow)]
    purl: Text<'a>,
    #[serde(rename = "type", default, borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    licenses: List<Obj<LicenseChoice<'a>>>,
    #[serde(default, borrow)]
    components: Array<Obj<RawComponent<'a>>>,
}

#[derive(Deserialize, Default)]
struct LicenseChoice<'a> {
    #[serde(default, borrow)]
    expression: Text<'a>,
    #[serde(default, borrow)]
    license: Obj<License<'a>>,
}

#[derive(Deserialize, Default)]
struct License<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    name: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Hash<'a> {
    #[serde(default, borrow)]
    alg: Text<'a>,
    #[serde(default, borrow)]
    content: Text<'a>,
}

#[derive(Deserialize, Default)]
struct RawDependency<'a> {
    #[serde(rename = "ref", default, borrow)]
    reference: Text<'a>,
    /// Every item counts (a list of no strings is not "depends on nothing").
    #[serde(rename = "dependsOn", default, borrow)]
    depends_on: List<Text<'a>>,
}

#[derive(Deserialize, Default)]
struct Vulnerability<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    source: Obj<Source<'a>>,
    #[serde(default, borrow)]
    ratings: List<Obj<Rating<'a>>>,
    #[serde(default, borrow)]
    references: List<Obj<Reference<'a>>>,
    #[serde(default, borrow)]
    advisories: List<Obj<Advisory<'a>>>,
    #[serde(default)]
    cwes: List<Whole>,
    #[serde(default, borrow)]
    description: Text<'a>,
    #[serde(default, borrow)]
    detail: Text<'a>,
    #[serde(default, borrow)]
    recommendation: Text<'a>,
    #[serde(default, borrow)]
    workaround: Text<'a>,
    #[serde(default, borrow)]
    published: Text<'a>,
    #[serde(default, borrow)]
    updated: Text<'a>,
    #[serde(default, borrow)]
    affects: List<Obj<Affect<'a>>>,
    #[serde(default, borrow)]
    analysis: Obj<Analysis<'a>>,
}

#[derive(Deserialize, Default)]
struct Source<'a> {
    #[serde(default, borrow)]
    name: Text<'a>,
    #[serde(default, borrow)]
    url: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Rating<'a> {
    #[serde(default, borrow)]
    source: Obj<Source<'a>>,
    #[serde(default)]
    score: Num,
    #[serde(default, borrow)]
    severity: Text<'a>,
    #[serde(default, borrow)]
    method: Text<'a>,
    #[serde(default, borrow)]
    vector: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Reference<'a> {
    #[serde(default, borrow)]
    id: Text<'a>,
    #[serde(default, borrow)]
    source: Obj<Source<'a>>,
}

#[derive(Deserialize, Default)]
struct Advisory<'a> {
    #[serde(default, borrow)]
    url: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Affect<'a> {
    #[serde(rename = "ref", default, borrow)]
    reference: Text<'a>,
    #[serde(default, borrow)]
    versions: List<Obj<AffectedVersion<'a>>>,
}

#[derive(Deserialize, Default)]
struct AffectedVersion<'a> {
    #[serde(default, borrow)]
    status: Text<'a>,
    #[serde(default, borrow)]
    version: Text<'a>,
}

#[derive(Deserialize, Default)]
struct Analysis<'a> {
    #[serde(default, borrow)]
    state: Text<'a>,
    #[serde(default, borrow)]
    justification: Text<'a>,
    #[serde(default, borrow)]
    detail: Text<'a>,
    #[serde(default, borrow)]
    response: Texts<'a>,
    #[serde(rename = "lastUpdated", default, borrow)]
    last_updated: Text<'a>,
    #[serde(rename = "firstIssued", default, borrow)]
    first_issued: Text<'a>,
}

impl Source<'_> {
    fn name_of<'s>(source: &'s Obj<Source<'_>>) -> Option<&'s str> {
        source.get().and_then(|s| s.name.as_str())
    }

    fn url_of<'s>(source: &'s Obj<Source<'_>>) -> Option<&'s str> {
        source.get().and_then(|s| s.url.as_str())
    }
}

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

impl<'d> Bom<'d> {
    /// Names `bom_ref` by the first component that gives it.
    fn name(&mut self, bom_ref: &'d Text<'_>, name: &str, version: &Text<'_>, purl: &Text<'_>) {
        if let Some(r) = bom_ref.as_str() {
            self.refs.entry(r).or_insert_with(|| Named {
                name: name.to_string(),
                version: version.owned().unwrap_or_default(),
                purl: purl.owned(),
            });
        }
    }

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

pub fn parse(text: &[u8], fallback_source: &str) -> Result<Parsed, IngestError> {
    let doc: Document<'_> = typed(text, CYCLONEDX_JSON)?;
    let format = match doc.spec_version.as_str() {
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
    let metadata = doc.metadata.get();
    let main = metadata.and_then(|m| m.component.get());

    let mut raw_components = Vec::new();
    collect(&doc.components.0, "components", format, &mut raw_components)?;
    let mut bom = Bom {
        format,
        refs: BTreeMap::new(),
    };
    if let Some((m, name)) = main.and_then(|m| Some((m, m.name.as_str()?))) {
        bom.name(&m.bom_ref, name, &m.version, &m.purl);
    }
    for (c, name) in &raw_components {
        bom.name(&c.bom_ref, name, &c.version, &c.purl);
    }
    let components: Vec<Component> = raw_components
        .iter()
        .map(|(c, name)| component(c, name))
        .collect();

    let doc_time = metadata
        .and_then(|m| m.timestamp.as_str())
        .and_then(parse_timestamp);
    let source = doc
        .serial_number
        .owned()
        .unwrap_or_else(|| fallback_source.to_string());
    let vulnerabilities = &doc.vulnerabilities.value.0;
    let mut findings = Vec::new();
    let mut vex = Vec::new();
    for (i, v) in vulnerabilities.iter().enumerate() {
        let at = format!("vulnerabilities[{i}]");
        let (mut f, statement) = read_vulnerability(&bom, v.get(), &at, &source, doc_time)?;
        findings.append(&mut f);
        vex.extend(statement);
    }

    let vex_only = components.is_empty()
        && !vulnerabilities.is_empty()
        && vulnerabilities.iter().all(|v| {
            v.get()
                .and_then(|v| v.analysis.get())
                .is_some_and(|a| a.state.as_str().is_some())
        });
    if vex_only {
        return Ok(Parsed {
            source_format: format,
            scan: None,
            vex,
        });
    }

    let dependencies = dependencies(&bom, &doc.dependencies.0);
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
            assessed: doc.vulnerabilities.present,
        }),
        vex,
    })
}

/// Every component, depth first, with its name (which the schema requires).
fn collect<'d>(
    list: &'d [Obj<RawComponent<'_>>],
    at: &str,
    format: &'static str,
    out: &mut Vec<(&'d RawComponent<'d>, &'d str)>,
) -> Result<(), IngestError> {
    for (i, c) in list.iter().enumerate() {
        let here = format!("{at}[{i}]");
        let Some((c, name)) = c.get().and_then(|c| Some((c, c.name.as_str()?))) else {
            return Err(IngestError::invalid(
                format,
                format!("{here}: missing name"),
            ));
        };
        out.push((c, name));
        collect(&c.components.0, &format!("{here}.components"), format, out)?;
    }
    Ok(())
}

fn component(c: &RawComponent<'_>, name: &str) -> Component {
    let purl = c.purl.owned();
    Component {
        name: name.to_string(),
        version: c.version.owned().unwrap_or_default(),
        package_type: purl.as_deref().and_then(purl_type),
        purl,
        location: None,
        licenses: licenses(c),
    }
}

fn licenses(c: &RawComponent<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for l in c.licenses.iter().filter_map(Obj::get) {
        let license = l.license.get();
        let name = l
            .expression
            .as_str()
            .or_else(|| license.and_then(|l| l.id.as_str()))
            .or_else(|| license.and_then(|l| l.name.as_str()));
        if let Some(n) = name {
            push_unique(&mut out, n);
        }
    }
    out
}

/// The graph by purl; refs without a purl are left out, and so is an entry all of whose
/// dependencies were.
fn dependencies(bom: &Bom<'_>, list: &[Obj<RawDependency<'_>>]) -> Vec<Dependency> {
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for d in list.iter().filter_map(Obj::get) {
        let Some(from) = d
            .reference
            .as_str()
            .and_then(|r| bom.resolve(r).purl().map(str::to_string))
        else {
            continue;
        };
        let refs = &d.depends_on.0;
        let to: Vec<String> = refs
            .iter()
            .filter_map(Text::as_str)
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
fn artifact(main: Option<&Main<'_>>, components: &[(&RawComponent<'_>, &str)]) -> ScannedArtifact {
    let purl_digest = main
        .and_then(|m| m.purl.as_str())
        .and_then(purl_version)
        .filter(|v| v.starts_with("sha256:"));
    let hash_digest = main
        .into_iter()
        .flat_map(|m| m.hashes.iter().filter_map(Obj::get))
        .find(|h| {
            h.alg
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case("SHA-256"))
        })
        .and_then(|h| h.content.as_str())
        .map(|c| format!("sha256:{}", c.to_ascii_lowercase()));
    let os = components
        .iter()
        .find(|(c, _)| c.kind.as_str() == Some("operating-system"))
        .map(|(c, name)| match c.version.as_str() {
            Some(v) => format!("{name} {v}"),
            None => name.to_string(),
        });
    ScannedArtifact {
        name: main
            .and_then(|m| m.name.owned())
            .unwrap_or_else(|| "unknown".to_string()),
        kind: main
            .and_then(|m| m.kind.owned())
            .unwrap_or_else(|| "unknown".to_string()),
        digest: hash_digest.or(purl_digest),
        os,
    }
}

/// The first tool with a name, from either shape of `metadata.tools`.
fn scanner(metadata: Option<&Metadata<'_>>) -> Scanner {
    let tools: &[Obj<Tool<'_>>] = match metadata.map(|m| &m.tools) {
        Some(ListOr::List(list)) => list,
        Some(ListOr::Object(t)) => &t.components.0,
        _ => &[],
    };
    tools
        .iter()
        .filter_map(Obj::get)
        .find_map(|t| {
            t.name.as_str().map(|name| Scanner {
                name: name.to_string(),
                version: t.version.owned(),
            })
        })
        .unwrap_or_else(|| Scanner {
            name: "unknown".to_string(),
            version: None,
        })
}

fn read_vulnerability(
    bom: &Bom<'_>,
    v: Option<&Vulnerability<'_>>,
    at: &str,
    source: &str,
    doc_time: Option<time::OffsetDateTime>,
) -> Result<(Vec<Finding>, Option<VexStatement>), IngestError> {
    let format = bom.format;
    let Some((v, id)) = v.and_then(|v| Some((v, v.id.as_str()?))) else {
        return Err(IngestError::invalid(format, format!("{at}: missing id")));
    };
    let ratings: Vec<&Rating<'_>> = v.ratings.iter().filter_map(Obj::get).collect();
    let vuln_source = Source::name_of(&v.source);
    let cvss = cvss_of(&ratings, vuln_source);

    let refs: Vec<&Reference<'_>> = v.references.iter().filter_map(Obj::get).collect();
    let mut aliases = Vec::new();
    for r in &refs {
        if let Some(alias) = r.id.as_str().filter(|a| *a != id) {
            push_unique(&mut aliases, alias);
        }
    }
    let mut references = Vec::new();
    if let Some(u) = Source::url_of(&v.source) {
        push_unique_shared(&mut references, u);
    }
    for a in v.advisories.iter().filter_map(Obj::get) {
        if let Some(u) = a.url.as_str() {
            push_unique_shared(&mut references, u);
        }
    }
    for r in &refs {
        if let Some(u) = Source::url_of(&r.source) {
            push_unique_shared(&mut references, u);
        }
    }
    let mut cwes: Vec<u32> = v
        .cwes
        .iter()
        .filter_map(|c| c.0)
        .filter_map(|c| u32::try_from(c).ok())
        .collect();
    cwes.sort_unstable();
    cwes.dedup();
    let description: Vec<String> = [
        v.description.owned(),
        v.detail.owned(),
        v.recommendation
            .as_str()
            .map(|r| format!("Recommendation: {r}")),
        v.workaround.as_str().map(|w| format!("Workaround: {w}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    let description: Option<SharedText> =
        (!description.is_empty()).then(|| description.join("\n\n").into());
    let (severity, severity_source) = severity_of(&ratings, vuln_source);
    let published = v.published.as_str().and_then(parse_timestamp);
    let modified = v.updated.as_str().and_then(parse_timestamp);

    let mut findings = Vec::new();
    let mut products = Vec::new();
    for (j, affect) in v.affects.iter().enumerate() {
        let Some((affect, reference)) = affect.get().and_then(|a| Some((a, a.reference.as_str()?)))
        else {
            return Err(IngestError::invalid(
                format,
                format!("{at}.affects[{j}]: missing ref"),
            ));
        };
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
        let fixed: Vec<&str> = affect
            .versions
            .iter()
            .filter_map(Obj::get)
            .filter(|r| r.status.as_str() == Some("unaffected"))
            .filter_map(|r| r.version.as_str())
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
                published,
                modified,
                ..Default::default()
            },
        });
    }

    let statement = match v.analysis.get().and_then(|a| Some((a, a.state.as_str()?))) {
        None => None,
        Some((analysis, state)) => {
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
            let responses: Vec<&str> = analysis.response.iter().collect();
            Some(VexStatement {
                vulnerability_id: id.to_string(),
                products,
                status,
                justification: analysis.justification.owned(),
                impact_statement: analysis.detail.owned(),
                action_statement: (!responses.is_empty()).then(|| responses.join(", ")),
                timestamp: analysis
                    .last_updated
                    .as_str()
                    .or_else(|| analysis.first_issued.as_str())
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
fn cvss_of(ratings: &[&Rating<'_>], vuln_source: Option<&str>) -> Vec<Cvss> {
    let mut out: Vec<Cvss> = Vec::new();
    for r in ratings {
        let vector = r.vector.owned();
        let version = match r.method.as_str() {
            Some("CVSSv2") => Some("2.0".to_string()),
            Some("CVSSv3") => Some("3.0".to_string()),
            Some("CVSSv31") => Some("3.1".to_string()),
            Some("CVSSv4") => Some("4.0".to_string()),
            _ => vector.as_deref().and_then(cvss_version_of_vector),
        };
        let score = r.score.0;
        let Some(version) = version else { continue };
        if vector.is_none() && score.is_none() {
            continue;
        }
        let c = Cvss {
            source: Source::name_of(&r.source)
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
fn severity_of(ratings: &[&Rating<'_>], vuln_source: Option<&str>) -> (Severity, Option<String>) {
    let of_source = vuln_source.and_then(|src| {
        ratings.iter().find(|r| {
            Source::name_of(&r.source).is_some_and(|n| n.eq_ignore_ascii_case(src))
                && rating_severity(r).is_some()
        })
    });
    let chosen = of_source.or_else(|| ratings.iter().find(|r| rating_severity(r).is_some()));
    match chosen.and_then(|r| Some((rating_severity(r)?, r))) {
        Some((s, r)) => (s, Source::name_of(&r.source).map(str::to_string)),
        None => (Severity::Unknown, None),
    }
}

/// What one rating says: its severity word, else its score's band.
fn rating_severity(r: &Rating<'_>) -> Option<Severity> {
    r.severity
        .as_str()
        .map(Severity::parse_lenient)
        .filter(|s| *s != Severity::Unknown)
        .or_else(|| r.score.0.map(Severity::from_score))
        .filter(|s| *s != Severity::Unknown)
}

#[cfg(test)]
mod tests;
