//! SARIF 2.1.0 (`serde-sarif`) for GitHub Code Scanning: one run per scan, one rule per
//! vulnerability id, one result per finding located at the package's manifest, lock file
//! or image. VEX-suppressed findings carry an accepted external suppression.
//!
//! GitHub takes at most 20 runs of 25,000 results and 10 MB gzipped per upload. A scan with
//! more results is split into several runs (each its own category); when the file would
//! still be over a limit, the lowest-severity results are left out and every run says so in
//! its properties (`exportcenter.truncated`) and its invocation's notifications.
//!
//! The parts: [`limits`] (what GitHub takes and how results are laid out in runs to fit),
//! [`writer`] (the file written run by run, its gzipped size counted as it grows),
//! [`rules`] (one per vulnerability id) and [`results`] (one per finding).

mod limits;
mod results;
mod rules;
mod writer;

use ec_domain::Format;
use ec_domain::scan::Scan;

use crate::RenderError;
use crate::view::ReportView;
use limits::{GITHUB, Layout, Limits, categories, fit_runs};
use writer::{Doc, write_sized};

fn encode_err(reason: impl std::fmt::Display) -> RenderError {
    RenderError::encode(Format::Sarif, reason)
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    render_within(view, GITHUB)
}

/// Renders, leaving out the lowest-severity results until the file fits `limits`.
fn render_within(view: &ReportView<'_>, limits: Limits) -> Result<Vec<u8>, RenderError> {
    let scans: Vec<&Scan> = view.snapshot.scans.iter().map(|s| &s.scan).collect();
    let categories = categories(&scans);
    // Most important first: worst severity, unsuppressed before suppressed, report order.
    let mut priority: Vec<usize> = (0..view.findings.len()).collect();
    priority.sort_by_key(|&i| {
        let r = &view.findings[i];
        (r.finding.severity, r.suppressed(), i)
    });

    let (mut keep, by_run_limit) = fit_runs(view, &priority, limits);
    let mut by_size = false;
    loop {
        let layout = Layout::new(view, &scans, &priority[..keep], limits);
        let mut causes = Vec::new();
        if by_run_limit {
            causes.push(format!(
                "more than {} runs of {} results",
                limits.runs, limits.results_per_run
            ));
        }
        if by_size {
            causes.push(format!("over {} bytes gzipped", limits.gzip_bytes));
        }
        let reason = (!causes.is_empty()).then(|| {
            format!(
                "{}: the lowest-severity results were left out",
                causes.join(" and ")
            )
        });
        let doc = Doc {
            view,
            scans: &scans,
            categories: &categories,
            layout: &layout,
            reason: reason.as_deref(),
        };
        let (out, size) = write_sized(&doc)?;
        if size <= limits.gzip_bytes || keep == 0 {
            return Ok(out);
        }
        // Shrink in proportion, with a margin for the notices, and at least by one.
        let target = (keep as f64 * limits.gzip_bytes as f64 * 0.9 / size as f64) as usize;
        keep = target.min(keep - 1);
        by_size = true;
    }
}

#[cfg(test)]
mod tests;
