//! CycloneDX 1.5 JSON, written with `cyclonedx-bom`: the components of every scan in scope
//! with their dependency graph and, except for SBOM exports, the vulnerabilities found with
//! the VEX analysis in force (suppressed findings stay listed). VEX exports list only the
//! vulnerabilities a statement speaks about.
//!
//! The inventory (which components a document lists and their stable references), the
//! advisory source of a vulnerability id and the document identity are shared with the SPDX
//! and SARIF writers.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use cyclonedx_bom::external_models::uri::validate_purl;
use cyclonedx_bom::models::advisory::{Advisories, Advisory};
use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component as CdxComponent, Components};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::Tools;
use cyclonedx_bom::models::vulnerability::{Vulnerabilities, Vulnerability};
use cyclonedx_bom::models::vulnerability_analysis::{
    ImpactAnalysisJustification, ImpactAnalysisState, VulnerabilityAnalysis,
};
use cyclonedx_bom::models::vulnerability_rating::{
    Score, ScoreMethod, Severity as CdxSeverity, VulnerabilityRating, VulnerabilityRatings,
};
use cyclonedx_bom::models::vulnerability_reference::{
    VulnerabilityReference, VulnerabilityReferences,
};
use cyclonedx_bom::models::vulnerability_source::VulnerabilitySource;
use cyclonedx_bom::models::vulnerability_target::{
    Status, Version, VersionRange, Versions, VulnerabilityTarget, VulnerabilityTargets,
};
use cyclonedx_bom::prelude::{
    DateTime, NormalizedString, Purl, SpdxExpression, SpdxIdentifier, Uri, Validate,
};

use ec_domain::scan::{Component, Cvss, Finding, Scan, Severity, VexStatement, VexStatus};
use ec_domain::{ExportType, Format};

use crate::RenderError;
use crate::view::{FindingRow, ReportView};

pub(crate) const TOOL_NAME: &str = "ExportCenter";
pub(crate) const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");
pub(crate) const TOOL_URI: &str = "https://exportcenter.dev";

// ---------------------------------------------------------------------------------------
// Shared with the SPDX and SARIF writers.

/// sha256 over what makes a document what it is: the export, its type and format, and the
/// digest of every input. Serial numbers and namespaces derive from it, so the same
/// snapshot names the same document and a different input a different one.
pub(crate) fn document_digest(view: &ReportView<'_>) -> String {
    let snap = view.snapshot;
    let mut material = format!(
        "{}\n{}\n{}\n",
        snap.export_id, snap.request.export_type, snap.request.format
    );
    for input in &snap.inputs {
        material.push_str(&format!("{} {} {}\n", input.kind, input.id, input.sha256));
    }
    ec_domain::ids::sha256_hex(material.as_bytes())
}

/// Who publishes a vulnerability id, and the page about it.
pub(crate) struct AdvisorySource {
    pub name: String,
    pub url: String,
}

/// The canonical page of a vulnerability id: NVD for `CVE-`, GitHub for `GHSA-`, else OSV
/// (which indexes most other advisory databases).
pub(crate) fn advisory_url(id: &str) -> String {
    let encoded = percent_encoding::utf8_percent_encode(id, URL_COMPONENT);
    let upper = id.to_ascii_uppercase();
    if upper.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{encoded}")
    } else if upper.starts_with("GHSA-") {
        format!("https://github.com/advisories/{encoded}")
    } else {
        format!("https://osv.dev/vulnerability/{encoded}")
    }
}

/// NVD for `CVE-`, GitHub for `GHSA-`; otherwise the first reference that names the id
/// (its host is the source), else OSV.
pub(crate) fn advisory_source(id: &str, references: &[impl AsRef<str>]) -> AdvisorySource {
    let upper = id.to_ascii_uppercase();
    let name = if upper.starts_with("CVE-") {
        "NVD"
    } else if upper.starts_with("GHSA-") {
        "GitHub"
    } else {
        let lower = id.to_ascii_lowercase();
        let named = references
            .iter()
            .map(AsRef::as_ref)
            .filter(|r| is_web_url(r))
            .find(|r| r.to_ascii_lowercase().contains(&lower));
        if let Some(url) = named
            && let Some(host) = url_host(url)
        {
            return AdvisorySource {
                name: host.to_string(),
                url: url.to_string(),
            };
        }
        "OSV"
    };
    AdvisorySource {
        name: name.into(),
        url: advisory_url(id),
    }
}

/// Kept as they are in a URL path segment: the RFC 3986 unreserved characters.
pub(crate) const URL_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// An absolute http(s) URL with a host and nothing a URI may not contain: the references
/// scanners copy from advisories are sometimes prose or half-escaped. Every such string is
/// a valid RFC 3986 URI (no `[`, at most one `#`, a numeric port).
pub(crate) fn is_web_url(s: &str) -> bool {
    if url_host(s).is_none() {
        return false;
    }
    // One pass: reports check every reference of every finding.
    let bytes = s.as_bytes();
    let mut fragment = false;
    for (i, &b) in bytes.iter().enumerate() {
        let ok = match b {
            b'%' => bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            b'#' => !std::mem::replace(&mut fragment, true),
            b'"' | b'<' | b'>' | b'[' | b']' | b'\\' | b'^' | b'`' | b'{' | b'|' | b'}' => false,
            b => b.is_ascii_graphic(),
        };
        if !ok {
            return false;
        }
    }
    true
}

fn url_host(s: &str) -> Option<&str> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let host = rest.split(['/', '?', '#']).next()?;
    let (name, port) = host.split_once(':').unwrap_or((host, ""));
    let valid = !name.is_empty()
        && name.contains('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
        && port.bytes().all(|b| b.is_ascii_digit());
    valid.then_some(host)
}

/// One component as a document lists it, with a reference unique in the document.
pub(crate) struct Entry<'a> {
    pub scan: &'a Scan,
    pub component: Cow<'a, Component>,
    /// The purl when it names this component alone in the document; otherwise the purl
    /// (or `name@version`) and a hash of what tells the occurrences apart.
    pub bom_ref: String,
}

/// The components a document lists: the view's (the SBOM's), plus the package of every
/// listed finding the SBOM does not have, so that each vulnerability names what it affects.
pub(crate) struct Inventory<'a> {
    pub entries: Vec<Entry<'a>>,
    /// `view.findings[i]` affects `entries[finding_entries[i]]` (`None`: not listed).
    finding_entries: Vec<Option<usize>>,
}

impl<'a> Inventory<'a> {
    pub fn new(view: &ReportView<'a>, listed: impl Fn(&FindingRow<'_>) -> bool) -> Inventory<'a> {
        let mut entries: Vec<Entry<'a>> = view
            .components
            .iter()
            .map(|(scan, c)| Entry {
                scan,
                component: Cow::Borrowed(*c),
                bom_ref: String::new(),
            })
            .collect();
        let mut index = Index::default();
        for (i, (scan, c)) in view.components.iter().enumerate() {
            index.add(i, &scan.scan_id, c.purl.as_deref(), &c.name, &c.version);
        }
        let mut finding_entries = Vec::with_capacity(view.findings.len());
        for row in &view.findings {
            if !listed(row) {
                finding_entries.push(None);
                continue;
            }
            let (scan, f) = (&row.scan.scan_id, row.finding);
            let i = index.find(&entries, scan, f).unwrap_or_else(|| {
                let i = entries.len();
                entries.push(Entry {
                    scan: row.scan,
                    component: Cow::Owned(component_of(f)),
                    bom_ref: String::new(),
                });
                index.add(i, scan, f.purl.as_deref(), &f.package, &f.installed_version);
                i
            });
            finding_entries.push(Some(i));
        }
        assign_refs(&mut entries);
        Inventory {
            entries,
            finding_entries,
        }
    }

    /// The entry a listed finding affects.
    pub fn entry_of(&self, finding_index: usize) -> Option<&Entry<'a>> {
        self.finding_entries
            .get(finding_index)
            .copied()
            .flatten()
            .map(|i| &self.entries[i])
    }

    /// Indices of the entries of one scan, in document order.
    pub fn of_scan(&self, scan_id: &str) -> Vec<usize> {
        (0..self.entries.len())
            .filter(|&i| self.entries[i].scan.scan_id == scan_id)
            .collect()
    }

    /// The scan's dependency graph over its entries, from `Scan.dependencies` (by purl).
    pub fn graph(&self, scan: &Scan) -> ScanGraph {
        let members = self.of_scan(&scan.scan_id);
        let mut by_purl: HashMap<&str, usize> = HashMap::new();
        for &i in &members {
            if let Some(p) = self.entries[i].component.purl.as_deref() {
                by_purl.entry(p).or_insert(i);
            }
        }
        if scan.dependencies.is_empty() {
            return ScanGraph {
                depends_on: None,
                top_level: members,
            };
        }
        let mut depends_on: BTreeMap<usize, BTreeSet<usize>> =
            members.iter().map(|&i| (i, BTreeSet::new())).collect();
        let mut depended: HashSet<usize> = HashSet::new();
        for d in &scan.dependencies {
            let Some(&from) = by_purl.get(d.purl.as_str()) else {
                continue;
            };
            for to in d.depends_on.iter().filter_map(|p| by_purl.get(p.as_str())) {
                if *to != from {
                    depends_on.entry(from).or_default().insert(*to);
                    depended.insert(*to);
                }
            }
        }
        let top_level = members
            .into_iter()
            .filter(|i| !depended.contains(i))
            .collect();
        ScanGraph {
            depends_on: Some(depends_on),
            top_level,
        }
    }
}

/// Which entry depends on which within one scan.
pub(crate) struct ScanGraph {
    /// Every entry's direct dependencies; `None` when the scan's document said nothing
    /// about dependencies (scanner reports), which is not the same as "none".
    pub depends_on: Option<BTreeMap<usize, BTreeSet<usize>>>,
    /// Entries no other entry of the scan depends on: what the artifact itself pulls in.
    pub top_level: Vec<usize>,
}

/// Lookups of a scan's entries by purl and by name and version.
#[derive(Default)]
struct Index<'a> {
    by_purl: HashMap<(&'a str, &'a str), Vec<usize>>,
    by_name: HashMap<(&'a str, &'a str, &'a str), Vec<usize>>,
}

impl<'a> Index<'a> {
    fn add(
        &mut self,
        i: usize,
        scan: &'a str,
        purl: Option<&'a str>,
        name: &'a str,
        version: &'a str,
    ) {
        if let Some(p) = purl {
            self.by_purl.entry((scan, p)).or_default().push(i);
        }
        self.by_name
            .entry((scan, name, version))
            .or_default()
            .push(i);
    }

    /// The entry of the finding's package: same purl (else same name and version) in the
    /// same scan, preferring the one found where the finding was.
    fn find(&self, entries: &[Entry<'_>], scan: &str, f: &Finding) -> Option<usize> {
        let by_purl = f.purl.as_deref().and_then(|p| self.by_purl.get(&(scan, p)));
        let candidates = by_purl.or_else(|| {
            self.by_name
                .get(&(scan, f.package.as_str(), f.installed_version.as_str()))
        })?;
        candidates
            .iter()
            .copied()
            .find(|&i| entries[i].component.location == f.target)
            .or_else(|| candidates.first().copied())
    }
}

fn component_of(f: &Finding) -> Component {
    Component {
        name: f.package.clone(),
        version: f.installed_version.clone(),
        package_type: f.package_type.clone(),
        purl: f.purl.clone(),
        location: f.target.clone(),
        licenses: Vec::new(),
    }
}

/// A purl the Package URL parser accepts (what CycloneDX validation and SPDX's purl
/// reference type require).
pub(crate) fn valid_purl(purl: &str) -> bool {
    purl.parse::<Purl>()
        .is_ok_and(|p| validate_purl(&p).is_ok())
}

/// Gives every entry a reference unique in the document and stable across renders.
fn assign_refs(entries: &mut [Entry<'_>]) {
    let base = |e: &Entry<'_>| {
        let c = &e.component;
        match (&c.purl, c.version.as_str()) {
            (Some(p), _) => p.clone(),
            (None, "") => c.name.clone(),
            (None, v) => format!("{}@{v}", c.name),
        }
    };
    let mut counts: HashMap<String, usize> = HashMap::new();
    for e in entries.iter() {
        *counts.entry(base(e)).or_default() += 1;
    }
    let mut taken: HashSet<String> = HashSet::new();
    for e in entries.iter_mut() {
        let b = base(e);
        let mut r = if counts.get(&b).copied().unwrap_or(0) > 1 {
            let c = &e.component;
            let key = format!(
                "{}\0{}\0{}\0{}\0{}\0{}",
                e.scan.scan_id,
                c.name,
                c.version,
                c.package_type.as_deref().unwrap_or(""),
                c.location.as_deref().unwrap_or(""),
                c.licenses.join("\0")
            );
            format!("{b}#{}", &ec_domain::ids::sha256_hex(key.as_bytes())[..12])
        } else {
            b
        };
        // Identical occurrences (same scan, same everything) still need distinct refs.
        let stem = r.clone();
        let mut n = 1;
        while taken.contains(&r) {
            n += 1;
            r = format!("{stem}-{n}");
        }
        taken.insert(r.clone());
        e.bom_ref = r;
    }
}

/// The document's licenses as an SPDX expression, when every license string is a valid
/// SPDX identifier or expression (several are joined with AND: scanners list all that
/// apply). `None` when there are none or any is not valid SPDX.
pub(crate) fn spdx_expression(licenses: &[String]) -> Option<String> {
    let mut parts: Vec<String> = Vec::new();
    for l in licenses {
        let l = l.trim();
        SpdxExpression::try_from(l.to_string()).ok()?;
        let compound = l.contains(' ');
        parts.push(if compound && licenses.len() > 1 {
            format!("({l})")
        } else {
            l.to_string()
        });
    }
    parts.dedup();
    (!parts.is_empty()).then(|| parts.join(" AND "))
}

// ---------------------------------------------------------------------------------------
// The CycloneDX document.

fn encode_err(reason: impl std::fmt::Display) -> RenderError {
    RenderError::Encode {
        format: Format::Cyclonedx,
        reason: reason.to_string(),
    }
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let export_type = view.snapshot.request.export_type;
    // SBOM exports carry no findings; VEX exports only the findings a statement covers.
    let listed = |row: &FindingRow<'_>| match export_type {
        ExportType::Sbom => false,
        ExportType::Vex => row.vex.is_some(),
        _ => true,
    };
    let inventory = Inventory::new(view, listed);
    let digest = document_digest(view);
    let scans: Vec<&Scan> = view.snapshot.scans.iter().map(|s| &s.scan).collect();

    let artifacts: Vec<CdxComponent> = scans.iter().map(|s| artifact_component(s)).collect();
    let root = match <[CdxComponent; 1]>::try_from(artifacts) {
        Ok([single]) => single,
        Err(artifacts) => {
            let mut root = CdxComponent::new(
                Classification::Application,
                &format!("{TOOL_NAME} export {}", view.snapshot.export_id),
                "",
                Some(export_ref(&view.snapshot.export_id)),
            );
            root.version = None;
            root.components = Some(Components(artifacts));
            root
        }
    };
    let root_ref = root.bom_ref.clone().unwrap_or_default();

    let mut dependencies = Vec::new();
    if scans.len() != 1 {
        dependencies.push(Dependency {
            dependency_ref: root_ref.clone(),
            dependencies: scans.iter().map(|s| scan_ref(&s.scan_id)).collect(),
        });
    }
    for scan in &scans {
        let graph = inventory.graph(scan);
        dependencies.push(Dependency {
            dependency_ref: scan_ref(&scan.scan_id),
            dependencies: graph
                .top_level
                .iter()
                .map(|&i| inventory.entries[i].bom_ref.clone())
                .collect(),
        });
        for (from, to) in graph.depends_on.into_iter().flatten() {
            dependencies.push(Dependency {
                dependency_ref: inventory.entries[from].bom_ref.clone(),
                dependencies: to
                    .into_iter()
                    .map(|i| inventory.entries[i].bom_ref.clone())
                    .collect(),
            });
        }
    }

    let timestamp = DateTime::try_from(ec_domain::time::rfc3339(view.snapshot.generated_at))
        .map_err(encode_err)?;
    let bom = Bom {
        version: 1,
        serial_number: Some(
            UrnUuid::new(urn_uuid(&digest)).map_err(|e| encode_err(format!("{e:?}")))?,
        ),
        metadata: Some(Metadata {
            timestamp: Some(timestamp),
            tools: Some(Tools::Object {
                services: None,
                components: Some(Components(tools(&scans))),
            }),
            authors: None,
            component: Some(root),
            manufacture: None,
            supplier: None,
            licenses: None,
            properties: Some(Properties(vec![
                Property::new("exportcenter:export_id", &view.snapshot.export_id),
                Property::new("exportcenter:export_type", export_type.as_str()),
                Property::new("exportcenter:tenant", &view.snapshot.tenant_id),
            ])),
            lifecycles: None,
        }),
        components: Some(Components(
            inventory.entries.iter().map(library_component).collect(),
        )),
        dependencies: Some(Dependencies(dependencies)),
        spec_version: SpecVersion::V1_5,
        ..Bom::default()
    };
    // The vulnerabilities are validated as they are made; nothing in the rest of the BOM
    // refers to them.
    valid(&bom)?;
    let mut out = match export_type {
        ExportType::Sbom => write_one(bom, JSON_RESERVE)?,
        _ => write_with_vulnerabilities(bom, &vulnerability_groups(view, &inventory), |rows| {
            let v = vulnerability(view, &inventory, rows);
            valid(&v).map(|()| v)
        })?,
    };
    out.push(b'\n');
    Ok(out)
}

/// Bytes reserved for the JSON of a BOM's parts, and per vulnerability more than one
/// usually takes (2.3 KB for the bench's Trivy findings): reserved pages cost no memory
/// until written, and a buffer that never grows is never copied.
const JSON_RESERVE: usize = 1 << 16;
const JSON_PER_ITEM: usize = 4 << 10;
/// Vulnerabilities made, validated and written at a time on one worker.
const BATCH: usize = 512;
/// How cyclonedx-bom's pretty JSON opens the vulnerabilities and closes a BOM that ends
/// with them, and how it separates array items.
const VULNERABILITIES_START: &[u8] = b"\n  \"vulnerabilities\": [\n";
const VULNERABILITIES_END: &[u8] = b"\n  ]\n}";
const BOM_END: &[u8] = b"\n}";
const ITEM_SEPARATOR: &[u8] = b",\n";

/// cyclonedx-bom writes a BOM on one thread, converting the whole model to its private
/// spec types first. The vulnerabilities, most of a BOM with findings, are instead made
/// (`make` from the findings of each group), validated and written a batch at a time on
/// every core, each batch as a BOM of its own whose array items are cut out and appended
/// to the rest of the BOM. The bytes are those of one write (tested), memory never holds
/// every vulnerability's model, and a layout other than the expected one is an error,
/// never a malformed file.
fn write_with_vulnerabilities(
    mut bom: Bom,
    groups: &[Vec<usize>],
    make: impl Fn(&[usize]) -> Result<Vulnerability, RenderError> + Sync,
) -> Result<Vec<u8>, RenderError> {
    if groups.is_empty() {
        bom.vulnerabilities = Some(Vulnerabilities(Vec::new()));
        return write_one(bom, JSON_RESERVE);
    }
    // The rest of the BOM, in a buffer with room for the vulnerabilities after it.
    let mut out = write_one(bom, JSON_RESERVE + JSON_PER_ITEM * groups.len())?;
    if !out.ends_with(BOM_END) {
        return Err(unexpected_layout());
    }
    out.truncate(out.len() - BOM_END.len());
    out.extend_from_slice(b",");
    out.extend_from_slice(VULNERABILITIES_START);
    let batches = groups.len().div_ceil(BATCH);
    crate::write_batches(&mut out, batches, |b| {
        let batch = &groups[b * BATCH..groups.len().min((b + 1) * BATCH)];
        let vulnerabilities = batch
            .iter()
            .map(|rows| make(rows))
            .collect::<Result<Vec<_>, _>>()
            .map_err(std::io::Error::other)?;
        let part = Bom {
            serial_number: None,
            vulnerabilities: Some(Vulnerabilities(vulnerabilities)),
            spec_version: SpecVersion::V1_5,
            ..Bom::default()
        };
        let json = write_one(part, JSON_PER_ITEM * batch.len()).map_err(std::io::Error::other)?;
        let items = array_items(&json).map_err(std::io::Error::other)?;
        let mut bytes = Vec::with_capacity(ITEM_SEPARATOR.len() + items.len());
        if b > 0 {
            bytes.extend_from_slice(ITEM_SEPARATOR);
        }
        bytes.extend_from_slice(items);
        Ok(bytes)
    })
    .map_err(|e| match e.downcast::<RenderError>() {
        Ok(e) => e,
        Err(e) => encode_err(e),
    })?;
    out.extend_from_slice(VULNERABILITIES_END);
    Ok(out)
}

fn write_one(bom: Bom, capacity: usize) -> Result<Vec<u8>, RenderError> {
    let mut out = Vec::with_capacity(capacity);
    bom.output_as_json_v1_5(&mut out).map_err(encode_err)?;
    Ok(out)
}

/// The vulnerabilities' array items of a BOM written with nothing after them.
fn array_items(json: &[u8]) -> Result<&[u8], RenderError> {
    json.windows(VULNERABILITIES_START.len())
        .position(|w| w == VULNERABILITIES_START)
        .map(|at| at + VULNERABILITIES_START.len())
        .and_then(|from| json.get(from..json.len().checked_sub(VULNERABILITIES_END.len())?))
        .filter(|_| json.ends_with(VULNERABILITIES_END))
        .ok_or_else(unexpected_layout)
}

fn unexpected_layout() -> RenderError {
    encode_err("cyclonedx-bom wrote the vulnerabilities in an unexpected layout")
}

/// cyclonedx-bom's own check of what we made against the CycloneDX 1.5 rules.
fn valid(part: &impl Validate) -> Result<(), RenderError> {
    let validation = part.validate_version(SpecVersion::V1_5);
    if validation.passed() {
        return Ok(());
    }
    let errors: Vec<String> = validation
        .errors()
        .map(|(field, e)| format!("{field}: {e:?}"))
        .collect();
    Err(encode_err(format!(
        "the BOM fails CycloneDX 1.5 validation: {}",
        errors.join("; ")
    )))
}

/// A name-based UUID in version-5 layout (the schema accepts versions 1 to 5) from the
/// document digest, as a URN.
fn urn_uuid(digest: &str) -> String {
    let h = |range: std::ops::Range<usize>| digest.get(range).unwrap_or("0");
    let variant = u8::from_str_radix(h(16..17), 16).unwrap_or(0) & 0x3 | 0x8;
    format!(
        "urn:uuid:{}-{}-5{}-{:x}{}-{}",
        h(0..8),
        h(8..12),
        h(13..16),
        variant,
        h(17..20),
        h(20..32)
    )
}

fn export_ref(export_id: &str) -> String {
    format!("exportcenter:export/{export_id}")
}

fn scan_ref(scan_id: &str) -> String {
    format!("exportcenter:scan/{scan_id}")
}

fn tools(scans: &[&Scan]) -> Vec<CdxComponent> {
    let mut tools = vec![CdxComponent::new(
        Classification::Application,
        TOOL_NAME,
        TOOL_VERSION,
        None,
    )];
    let scanners: BTreeSet<(&str, &str)> = scans
        .iter()
        .map(|s| {
            (
                s.scanner.name.as_str(),
                s.scanner.version.as_deref().unwrap_or(""),
            )
        })
        .collect();
    for (name, version) in scanners {
        let mut c = CdxComponent::new(Classification::Application, name, version, None);
        if version.is_empty() {
            c.version = None;
        }
        tools.push(c);
    }
    tools
}

/// The scanned artifact: a container for images, an application otherwise.
fn artifact_component(scan: &Scan) -> CdxComponent {
    let a = &scan.artifact;
    let kind = if a.kind.contains("image") || a.kind.contains("container") {
        Classification::Container
    } else {
        Classification::Application
    };
    let mut c = CdxComponent::new(kind, &a.name, "", Some(scan_ref(&scan.scan_id)));
    c.version = None;
    c.hashes = a
        .digest
        .as_deref()
        .and_then(|d| d.strip_prefix("sha256:"))
        .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(|h| {
            Hashes(vec![Hash {
                alg: HashAlgorithm::SHA_256,
                content: HashValue(h.to_ascii_lowercase()),
            }])
        });
    let mut props = vec![
        Property::new("exportcenter:scan_id", &scan.scan_id),
        Property::new("exportcenter:artifact_kind", &a.kind),
        Property::new("exportcenter:source_format", &scan.source_format),
        Property::new(
            "exportcenter:scanned_at",
            &ec_domain::time::rfc3339(scan.scanned_at),
        ),
    ];
    if let Some(d) = &a.digest {
        props.push(Property::new("exportcenter:digest", d));
    }
    if let Some(os) = &a.os {
        props.push(Property::new("exportcenter:os", os));
    }
    c.properties = Some(Properties(props));
    c
}

fn library_component(e: &Entry<'_>) -> CdxComponent {
    let comp = &e.component;
    let mut c = CdxComponent::new(
        Classification::Library,
        &comp.name,
        &comp.version,
        Some(e.bom_ref.clone()),
    );
    if comp.version.is_empty() {
        c.version = None;
    }
    c.purl = comp
        .purl
        .as_deref()
        .filter(|p| valid_purl(p))
        .and_then(|p| p.parse::<Purl>().ok());
    c.licenses = cdx_licenses(&comp.licenses);
    let mut props = Vec::new();
    if let Some(t) = &comp.package_type {
        props.push(Property::new("exportcenter:package_type", t));
    }
    if let Some(l) = &comp.location {
        props.push(Property::new("exportcenter:location", l));
    }
    if c.purl.is_none()
        && let Some(p) = &comp.purl
    {
        // Kept for the reader, though the purl library rejects it.
        props.push(Property::new("exportcenter:purl", p));
    }
    c.properties = (!props.is_empty()).then_some(Properties(props));
    c
}

/// CycloneDX takes either license entries (SPDX id or free name) or one SPDX expression.
fn cdx_licenses(licenses: &[String]) -> Option<Licenses> {
    if licenses.is_empty() {
        return None;
    }
    let all_ids = licenses
        .iter()
        .all(|l| SpdxIdentifier::try_from(l.clone()).is_ok());
    if !all_ids && let Some(expr) = spdx_expression(licenses) {
        return Some(Licenses(vec![LicenseChoice::expression(&expr)]));
    }
    Some(Licenses(
        licenses
            .iter()
            .map(|l| {
                LicenseChoice::License(if SpdxIdentifier::try_from(l.clone()).is_ok() {
                    License::license_id(l)
                } else {
                    License::named_license(l)
                })
            })
            .collect(),
    ))
}

/// Findings grouped into CycloneDX vulnerabilities (as indices into the view's findings):
/// one per vulnerability id and VEX statement in force, affecting each component it was
/// found in.
fn vulnerability_groups(view: &ReportView<'_>, inventory: &Inventory<'_>) -> Vec<Vec<usize>> {
    let mut groups: BTreeMap<(&str, Option<Vec<u8>>), Vec<usize>> = BTreeMap::new();
    for (i, row) in view.findings.iter().enumerate() {
        if inventory.entry_of(i).is_none() {
            continue;
        }
        let key = (
            row.finding.vulnerability_id.as_str(),
            row.vex.map(ec_domain::ids::canonical_json),
        );
        groups.entry(key).or_default().push(i);
    }
    groups.into_values().collect()
}

fn vulnerability(
    view: &ReportView<'_>,
    inventory: &Inventory<'_>,
    rows: &[usize],
) -> Vulnerability {
    let first = view.findings[rows[0]].finding;
    let findings: Vec<&Finding> = rows.iter().map(|&i| view.findings[i].finding).collect();
    let vex = view.findings[rows[0]].vex;
    let id = first.vulnerability_id.as_str();
    let references: Vec<&str> = unique(
        findings
            .iter()
            .flat_map(|f| f.references.iter().map(String::as_str)),
    );
    let source = advisory_source(id, &references);

    let mut targets: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for &i in rows {
        if let Some(e) = inventory.entry_of(i) {
            targets
                .entry(e.bom_ref.as_str())
                .or_default()
                .insert(view.findings[i].finding.installed_version.as_str());
        }
    }
    let status = if view.findings[rows[0]].suppressed() {
        "unaffected"
    } else {
        "affected"
    };
    let affects = targets
        .into_iter()
        .map(|(r, versions)| VulnerabilityTarget {
            bom_ref: r.to_string(),
            versions: Some(Versions(
                versions
                    .into_iter()
                    .filter(|v| !v.is_empty())
                    .map(|v| Version {
                        version_range: VersionRange::Version(NormalizedString::new(v)),
                        status: Status::new_unchecked(status),
                    })
                    .collect(),
            ))
            .filter(|v| !v.0.is_empty()),
        })
        .collect();

    let aliases: Vec<&str> = unique(
        findings
            .iter()
            .flat_map(|f| f.aliases.iter().map(String::as_str))
            .filter(|a| !a.eq_ignore_ascii_case(id)),
    );
    let advisories: Vec<Advisory> = references
        .iter()
        .filter(|r| is_web_url(r))
        // Valid by construction (and validated with the vulnerability): parsed once, not twice.
        .map(|r| Advisory::new(Uri::new(r)))
        .collect();
    let fixes: Vec<String> = unique(findings.iter().filter_map(|f| {
        f.fixed_version
            .as_ref()
            .map(|v| format!("Upgrade {} to {v}", f.package))
    }));

    let mut v = Vulnerability::new(None);
    v.id = Some(NormalizedString::new(id));
    v.vulnerability_source = Some(cdx_source(&source));
    v.vulnerability_references = (!aliases.is_empty()).then(|| {
        VulnerabilityReferences(
            aliases
                .iter()
                .map(|a| VulnerabilityReference {
                    id: NormalizedString::new(a),
                    vulnerability_source: cdx_source(&advisory_source(a, &references)),
                })
                .collect(),
        )
    });
    let scanners: BTreeSet<&str> = rows
        .iter()
        .map(|&i| view.findings[i].scan.scanner.name.as_str())
        .collect();
    v.vulnerability_ratings = Some(VulnerabilityRatings(ratings(&findings, &scanners)));
    v.description = findings
        .iter()
        .find_map(|f| f.description.clone().or_else(|| f.title.clone()));
    v.recommendation = (!fixes.is_empty()).then(|| format!("{}.", fixes.join("; ")));
    v.advisories = (!advisories.is_empty()).then_some(Advisories(advisories));
    v.vulnerability_analysis = vex.map(analysis);
    v.vulnerability_targets = Some(VulnerabilityTargets(affects));
    v
}

fn cdx_source(s: &AdvisorySource) -> VulnerabilitySource {
    VulnerabilitySource::new(Some(s.name.clone()), Uri::try_from(s.url.clone()).ok())
}

/// Distinct values in first-seen order. A vulnerability has a handful of references,
/// aliases and fixes: a linear search beats hashing them.
fn unique<T: PartialEq>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

/// Every distinct CVSS score of the findings, then the scanners' own severity.
fn ratings(findings: &[&Finding], scanners: &BTreeSet<&str>) -> Vec<VulnerabilityRating> {
    let mut cvss: Vec<&Cvss> = Vec::new();
    for c in findings.iter().flat_map(|f| f.cvss.iter()) {
        if (c.score.is_some() || c.vector.is_some()) && !cvss.contains(&c) {
            cvss.push(c);
        }
    }
    let mut out = Vec::with_capacity(cvss.len() + 1);
    out.extend(cvss.into_iter().map(|c| VulnerabilityRating {
        vulnerability_source: Some(VulnerabilitySource::new(Some(c.source.clone()), None)),
        score: c.score.map(|s| Score::from(s as f32)),
        severity: c.score.map(|s| cvss_severity(&c.version, s)),
        score_method: score_method(&c.version),
        vector: c.vector.as_deref().map(NormalizedString::new),
        justification: None,
    }));
    let worst = findings
        .iter()
        .map(|f| f.severity)
        .min()
        .unwrap_or(Severity::Unknown);
    // No method: cyclonedx-bom 0.8 refuses the schema's "other" in 1.5, and the field is
    // optional.
    out.push(VulnerabilityRating {
        vulnerability_source: Some(VulnerabilitySource::new(
            Some(scanners.iter().copied().collect::<Vec<_>>().join(", ")),
            None,
        )),
        score: None,
        severity: Some(cdx_severity(worst)),
        score_method: None,
        vector: None,
        justification: None,
    });
    out
}

fn score_method(version: &str) -> Option<ScoreMethod> {
    Some(match version {
        "2.0" | "2" => ScoreMethod::CVSSv2,
        "3.0" | "3" => ScoreMethod::CVSSv3,
        "3.1" => ScoreMethod::CVSSv31,
        "4.0" | "4" => ScoreMethod::CVSSv4,
        _ => return None,
    })
}

/// The qualitative rating of a CVSS base score (v2 has no critical band).
fn cvss_severity(version: &str, score: f64) -> CdxSeverity {
    let v2 = version.starts_with('2');
    match score {
        s if s <= 0.0 => CdxSeverity::None,
        s if s < 4.0 => CdxSeverity::Low,
        s if s < 7.0 => CdxSeverity::Medium,
        s if s < 9.0 || v2 => CdxSeverity::High,
        _ => CdxSeverity::Critical,
    }
}

fn cdx_severity(s: Severity) -> CdxSeverity {
    match s {
        Severity::Critical => CdxSeverity::Critical,
        Severity::High => CdxSeverity::High,
        Severity::Medium => CdxSeverity::Medium,
        Severity::Low => CdxSeverity::Low,
        Severity::Negligible => CdxSeverity::Info,
        Severity::Unknown => CdxSeverity::Unknown,
    }
}

/// The VEX statement in force as a CycloneDX impact analysis.
fn analysis(s: &VexStatement) -> VulnerabilityAnalysis {
    let state = match s.status {
        VexStatus::NotAffected => ImpactAnalysisState::NotAffected,
        VexStatus::Affected => ImpactAnalysisState::Exploitable,
        VexStatus::Fixed => ImpactAnalysisState::Resolved,
        VexStatus::UnderInvestigation => ImpactAnalysisState::InTriage,
    };
    let justification = s.justification.as_deref().and_then(justification);
    let mut detail: Vec<String> = Vec::new();
    if let Some(j) = &s.justification
        && justification.is_none()
    {
        detail.push(format!("Justification: {j}"));
    }
    if let Some(i) = &s.impact_statement {
        detail.push(i.clone());
    }
    if let Some(a) = &s.action_statement {
        detail.push(format!("Action: {a}"));
    }
    if let Some(src) = &s.source {
        detail.push(format!("Source: {src}"));
    }
    let mut a = VulnerabilityAnalysis::new(Some(state), justification, None);
    a.detail = (!detail.is_empty()).then(|| detail.join("\n"));
    a.last_updated = s
        .timestamp
        .and_then(|t| DateTime::try_from(ec_domain::time::rfc3339(t)).ok());
    a
}

/// OpenVEX / CSAF justifications (and CycloneDX's own, when the statement came from a
/// CycloneDX VEX) mapped to CycloneDX's enumeration.
fn justification(j: &str) -> Option<ImpactAnalysisJustification> {
    use ImpactAnalysisJustification::*;
    Some(match j {
        "component_not_present" | "vulnerable_code_not_present" | "code_not_present" => {
            CodeNotPresent
        }
        "vulnerable_code_not_in_execute_path" | "code_not_reachable" => CodeNotReachable,
        "vulnerable_code_cannot_be_controlled_by_adversary" | "requires_environment" => {
            RequiresEnvironment
        }
        "inline_mitigations_already_exist" | "protected_by_mitigating_control" => {
            ProtectedByMitigatingControl
        }
        "requires_configuration" => RequiresConfiguration,
        "requires_dependency" => RequiresDependency,
        "protected_by_compiler" => ProtectedByCompiler,
        "protected_at_runtime" => ProtectedAtRuntime,
        "protected_at_perimeter" => ProtectedAtPerimeter,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_uuid_has_the_schema_layout() {
        let u = urn_uuid(&ec_domain::ids::sha256_hex(b"x"));
        assert!(UrnUuid::new(u.clone()).is_ok(), "{u}");
        assert_eq!(&u[23..24], "5");
    }

    #[test]
    fn sources_by_id_prefix_and_references() {
        assert_eq!(advisory_source("CVE-2021-1", &[] as &[&str]).name, "NVD");
        assert_eq!(
            advisory_source("GHSA-abcd-efgh-ijkl", &[] as &[&str]).url,
            "https://github.com/advisories/GHSA-abcd-efgh-ijkl"
        );
        assert!(!is_web_url("https://example.com/a%zz"));
        assert!(!is_web_url("https://example.com/a b"));
        assert!(is_web_url("https://example.com/a%20b?x=1#y"));
        let refs = vec![
            "see the notes".to_string(),
            "https://alas.aws.amazon.com/AL2/ALAS-2019-1234.html".to_string(),
        ];
        let s = advisory_source("ALAS-2019-1234", &refs);
        assert_eq!(s.name, "alas.aws.amazon.com");
        assert_eq!(s.url, refs[1]);
        assert_eq!(
            advisory_source("GO-2022-0001", &[] as &[&str]).url,
            "https://osv.dev/vulnerability/GO-2022-0001"
        );
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
        let batched =
            write_with_vulnerabilities(bom.clone(), &groups, make).expect("batched write");
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

    #[test]
    fn license_expressions() {
        assert_eq!(spdx_expression(&["MIT".into()]).as_deref(), Some("MIT"));
        assert_eq!(
            spdx_expression(&["MIT".into(), "Apache-2.0 OR BSD-3-Clause".into()]).as_deref(),
            Some("MIT AND (Apache-2.0 OR BSD-3-Clause)")
        );
        assert_eq!(spdx_expression(&["MPLv2.0".into()]), None);
        assert_eq!(spdx_expression(&[]), None);
    }
}
