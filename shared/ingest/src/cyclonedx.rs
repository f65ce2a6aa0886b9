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

mod document;
mod vulnerabilities;

use std::collections::BTreeMap;

use ec_domain::scan::{Component, Dependency, ScannedArtifact, Scanner};

use document::{Document, Main, Metadata, RawComponent, RawDependency, Tool};
use vulnerabilities::read_vulnerability;

use crate::json::{parse_timestamp, push_unique};
use crate::lenient::{ListOr, Obj, Text};
use crate::purl::{is_purl, purl_type, purl_version};
use crate::{
    CYCLONEDX_JSON, CYCLONEDX_JSON_1_4, CYCLONEDX_JSON_1_5, CYCLONEDX_JSON_1_6, IngestError,
    Parsed, ScanParts, typed,
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

#[cfg(test)]
mod tests;
