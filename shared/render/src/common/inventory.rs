//! The packages an SBOM document lists: the view's components plus the package of every
//! listed finding the SBOM lacks, each with a reference unique in the document, and the
//! dependency graph over them. CycloneDX and SPDX list the same inventory.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use ec_domain::scan::{Component, Finding, Scan};

use crate::view::{FindingRow, ReportView};

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
                    component: Cow::Owned(Finding::component(f)),
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
