//! What GitHub Code Scanning accepts in one upload, and how results are laid out in runs to
//! fit it: a scan's results split into parts of at most `results_per_run`, at most `runs`
//! runs, the least important results left out when there are more; and the category of
//! each scan's runs, by which GitHub tracks their alerts from one upload to the next.

use std::collections::BTreeMap;

use ec_domain::scan::Scan;

use crate::view::ReportView;

/// What GitHub Code Scanning accepts in one upload.
#[derive(Debug, Clone, Copy)]
pub(super) struct Limits {
    pub results_per_run: usize,
    pub runs: usize,
    pub gzip_bytes: usize,
}

pub(super) const GITHUB: Limits = Limits {
    results_per_run: 25_000,
    runs: 20,
    gzip_bytes: 10 * 1024 * 1024,
};

/// How many of the most important results fit in `limits.runs` runs; and whether any had
/// to be left out for it.
pub(super) fn fit_runs(view: &ReportView<'_>, priority: &[usize], limits: Limits) -> (usize, bool) {
    let per_run = limits.results_per_run.max(1);
    let mut kept: BTreeMap<&str, usize> = BTreeMap::new();
    let mut runs = 0;
    for (n, &i) in priority.iter().enumerate() {
        let count = kept.entry(&view.findings[i].scan.scan_id).or_default();
        if count.is_multiple_of(per_run) {
            if runs == limits.runs {
                return (n, true);
            }
            runs += 1;
        }
        *count += 1;
    }
    (priority.len(), false)
}

/// (scan index, part number from 1, of how many parts, finding indices in report order)
pub(super) type LayoutRun = (usize, usize, usize, Vec<usize>);

/// Which results go in which run.
pub(super) struct Layout {
    pub runs: Vec<LayoutRun>,
    /// Results left out, by scan index.
    pub omitted: BTreeMap<usize, usize>,
    /// Scans with results none of which were kept: they get no run.
    pub dropped_scans: Vec<usize>,
}

impl Layout {
    pub(super) fn new(
        view: &ReportView<'_>,
        scans: &[&Scan],
        kept: &[usize],
        limits: Limits,
    ) -> Layout {
        let scan_index: BTreeMap<&str, usize> = scans
            .iter()
            .enumerate()
            .map(|(i, s)| (s.scan_id.as_str(), i))
            .collect();
        let mut total: BTreeMap<usize, usize> = BTreeMap::new();
        for r in &view.findings {
            *total
                .entry(scan_index[r.scan.scan_id.as_str()])
                .or_default() += 1;
        }
        let mut chosen: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &i in kept {
            chosen
                .entry(scan_index[view.findings[i].scan.scan_id.as_str()])
                .or_default()
                .push(i);
        }
        let per_run = limits.results_per_run.max(1);
        let mut runs = Vec::new();
        let mut omitted = BTreeMap::new();
        let mut dropped_scans = Vec::new();
        for s in 0..scans.len() {
            let all = total.get(&s).copied().unwrap_or(0);
            let mut mine = chosen.remove(&s).unwrap_or_default();
            mine.sort_unstable();
            if mine.len() < all {
                omitted.insert(s, all - mine.len());
            }
            if mine.is_empty() {
                if all > 0 {
                    dropped_scans.push(s);
                } else {
                    // A clean scan still gets its (empty) run, so GitHub closes old alerts.
                    runs.push((s, 1, 1, Vec::new()));
                }
                continue;
            }
            let parts = mine.len().div_ceil(per_run);
            for (p, chunk) in mine.chunks(per_run).enumerate() {
                runs.push((s, p + 1, parts, chunk.to_vec()));
            }
        }
        // Empty runs of clean scans come last when there is no room for them all.
        if runs.len() > limits.runs {
            let mut extra = runs.len() - limits.runs;
            runs.retain(|r| {
                let drop = extra > 0 && r.3.is_empty();
                if drop {
                    extra -= 1;
                }
                !drop
            });
        }
        if runs.is_empty() && !scans.is_empty() {
            runs.push((0, 1, 1, Vec::new()));
        }
        Layout {
            runs,
            omitted,
            dropped_scans,
        }
    }
}

/// A stable category per scan for GitHub (`automationDetails.id` up to its last `/`): the
/// artifact's name, so the next export of the same artifact updates the same alerts; with
/// the scan id when the export holds several scans of one artifact.
pub(super) fn categories(scans: &[&Scan]) -> Vec<String> {
    let slug = |s: &Scan| -> String {
        s.artifact
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._-:@/".contains(c) {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for s in scans {
        *seen.entry(slug(s)).or_default() += 1;
    }
    scans
        .iter()
        .map(|s| {
            let base = slug(s);
            if seen[&base] > 1 {
                format!("exportcenter/{base}/{}", s.scan_id)
            } else {
                format!("exportcenter/{base}")
            }
        })
        .collect()
}
