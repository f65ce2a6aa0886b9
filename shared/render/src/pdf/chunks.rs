//! The body of a report: entries (groups, findings, rules, verdicts) weighed by what their
//! layout costs, and cut into chunks of equal weight at group boundaries, so `ec-pdf` lays
//! them out in parallel with bounded memory; and the table of contents over the groups.

use serde::Serialize;

use ec_domain::scan::Scan;

use super::entries::{ComponentRow, FindingData, RuleData, VerdictRow};
use super::human_time;
use crate::common::identity::scanner_label;
use crate::view::{FindingRow, ReportView};

/// Weight (about the characters set, see [`Item::weight`]) of a body chunk, at most:
/// typst's memory for a chunk grows with it, its fixed cost per chunk shrinks.
const MAX_CHUNK: usize = 120_000;

/// A body entry. Groups open a section (level 1: artifact or target, level 2: package or
/// rule) and carry the key the table of contents finds them by.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum Item<'a> {
    Group {
        level: u8,
        key: String,
        label: String,
        detail: Option<String>,
    },
    Finding(FindingData<'a>),
    Rule(RuleData<'a>),
    Verdict(VerdictRow<'a>),
    Component(ComponentRow<'a>),
}

impl Item<'_> {
    /// About the characters the entry sets, which is what its layout costs: how chunks
    /// are balanced. Headings weigh nothing, so cuts can fall before them.
    pub(super) fn weight(&self) -> usize {
        // The fixed words, spacing and style changes of one entry.
        const ENTRY: usize = 60;
        let len = |s: Option<&str>| s.map_or(0, str::len);
        match self {
            Item::Group { .. } => 0,
            Item::Finding(f) => {
                ENTRY
                    + f.head.len()
                    + f.line.len()
                    + len(f.title)
                    + len(f.description)
                    + len(f.vex.as_deref())
                    + len(f.more.as_deref())
                    + len(f.references.as_deref())
            }
            Item::Rule(r) => {
                ENTRY + len(r.title) + r.packages.iter().map(String::len).sum::<usize>()
            }
            Item::Verdict(v) => ENTRY + v.package.len() + v.note.len(),
            Item::Component(c) => {
                ENTRY / 2 + c.name.len() + c.version.len() + len(c.purl) + c.licenses.len()
            }
        }
    }
}

#[derive(Serialize)]
pub(super) struct Chunk<'a, 'b> {
    pub items: &'b [Item<'a>],
}

#[derive(Serialize)]
pub(super) struct TocEntry {
    level: u8,
    key: String,
    label: String,
}

/// The groups down to `depth`, in body order.
pub(super) fn toc(items: &[Item<'_>], depth: u8) -> Vec<TocEntry> {
    items
        .iter()
        .filter_map(|it| match it {
            Item::Group {
                level, key, label, ..
            } if *level <= depth => Some(TocEntry {
                level: *level,
                key: key.clone(),
                label: label.clone(),
            }),
            _ => None,
        })
        .collect()
}

/// Weight per chunk: the fewest rounds of full chunks on the workers `ec-pdf` uses,
/// chunks no larger than [`MAX_CHUNK`], balanced so the last round is not left half idle.
pub(super) fn chunk_size(total: usize) -> usize {
    let workers = ec_pdf::workers();
    let rounds = total.div_ceil(workers * MAX_CHUNK).max(1);
    total.div_ceil(rounds * workers).max(1)
}

/// Cuts the body into chunks of about [`chunk_size`] weight each: the k-th cut falls
/// near k × size, at a group start when one is within a tenth of a chunk of it, else
/// inside the group (`ec-pdf` joins the chunks on the same page, so the reader sees no
/// cut). Equal chunks keep the workers of a round busy equally long.
pub(super) fn split(items: Vec<Item<'_>>) -> Vec<Vec<Item<'_>>> {
    let total: usize = items.iter().map(Item::weight).sum();
    let size = chunk_size(total);
    let slack = size / 10;
    let mut chunks = Vec::new();
    let mut current: Vec<Item> = Vec::new();
    let mut done = 0;
    let mut next = size;
    for item in items {
        // The last chunk takes the rest, however the cuts before it fell.
        let cut = next < total
            && match &item {
                Item::Group { .. } => done + slack >= next,
                _ => item.weight() > 0 && done >= next + slack,
            };
        if cut && !current.is_empty() {
            chunks.push(std::mem::take(&mut current));
            next += size;
        }
        done += item.weight();
        current.push(item);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

pub(super) fn artifact_group(index: usize, scan: &Scan) -> Item<'static> {
    let when = if scan.scanned_at_known {
        format!("scanned {}", human_time(scan.scanned_at))
    } else {
        super::UNKNOWN_SCAN_TIME.to_string()
    };
    let mut detail = format!(
        "{} · {when} · {} findings",
        scanner_label(scan),
        scan.findings.len()
    );
    if let Some(d) = &scan.artifact.digest {
        detail.push_str(" · ");
        detail.push_str(d);
    }
    Item::Group {
        level: 1,
        key: format!("a{index}"),
        label: scan.artifact.name.clone(),
        detail: Some(detail),
    }
}

/// Calls `each` with the index of every scan's first row, then for every row, keeping
/// the rows of one scan together (the view orders rows by scan).
pub(super) fn by_scan<'v, 'a>(
    view: &'v ReportView<'a>,
    mut each: impl FnMut(usize, bool, &'v FindingRow<'a>),
) {
    let mut scan_index = 0;
    let mut last: Option<&str> = None;
    for row in &view.findings {
        let first = last != Some(row.scan.scan_id.as_str());
        if first && last.is_some() {
            scan_index += 1;
        }
        last = Some(&row.scan.scan_id);
        each(scan_index, first, row);
    }
}

#[cfg(test)]
mod tests;

/// The inventory after the findings: per scan with components, a level-1 group and one
/// entry per component, so an SBOM export lists every package.
pub(super) fn component_items<'a>(view: &ReportView<'a>, items: &mut Vec<Item<'a>>) {
    let mut last: Option<&str> = None;
    let mut group = 0;
    for (scan, c) in &view.components {
        if last != Some(scan.scan_id.as_str()) {
            last = Some(&scan.scan_id);
            group += 1;
            let n = view
                .components
                .iter()
                .filter(|(s, _)| s.scan_id == scan.scan_id)
                .count();
            let verdict = if scan.assessed {
                ""
            } else {
                " · not assessed: no vulnerability data"
            };
            items.push(Item::Group {
                level: 1,
                key: format!("c{group}"),
                label: format!("Components of {}", scan.artifact.name),
                detail: Some(format!("{n} components{verdict}")),
            });
        }
        items.push(Item::Component(ComponentRow {
            name: &c.name,
            version: &c.version,
            package_type: c.package_type.as_deref(),
            purl: c.purl.as_deref(),
            licenses: c.licenses.join("; "),
        }));
    }
}
