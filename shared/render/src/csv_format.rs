//! CSV (RFC 4180): one row per finding (per component for SBOM exports, per statement for
//! VEX exports) under a fixed header. Cells that a spreadsheet would run as a formula are
//! neutralised (OWASP CSV injection).

use ec_domain::{ExportType, Format};

use crate::RenderError;
use crate::view::ReportView;

pub const FINDINGS_HEADER: [&str; 21] = [
    "scan_id",
    "artifact",
    "artifact_digest",
    "target",
    "vulnerability_id",
    "aliases",
    "severity",
    "cvss_score",
    "cvss_vector",
    "package",
    "package_type",
    "purl",
    "installed_version",
    "fixed_version",
    "status",
    "verdict",
    "vex_status",
    "vex_justification",
    "suppressed",
    "title",
    "references",
];

pub const COMPONENTS_HEADER: [&str; 8] = [
    "scan_id",
    "artifact",
    "name",
    "version",
    "package_type",
    "purl",
    "location",
    "licenses",
];

pub const VEX_HEADER: [&str; 8] = [
    "scan_id",
    "vulnerability_id",
    "products",
    "status",
    "justification",
    "impact_statement",
    "action_statement",
    "timestamp",
];

/// Prefixes a quote to cells a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR).
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

fn encode_err(e: impl std::fmt::Display) -> RenderError {
    RenderError::Encode {
        format: Format::Csv,
        reason: e.to_string(),
    }
}

struct Writer(csv::Writer<Vec<u8>>);

impl Writer {
    fn row<'c>(&mut self, cells: impl IntoIterator<Item = &'c str>) -> Result<(), RenderError> {
        self.0
            .write_record(cells.into_iter().map(|c| neutralise(c).into_owned()))
            .map_err(encode_err)
    }
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    let inner = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::with_capacity(256 * (view.findings.len() + 1)));
    let mut w = Writer(inner);
    match view.snapshot.request.export_type {
        ExportType::Sbom => {
            w.row(COMPONENTS_HEADER)?;
            for (scan, c) in &view.components {
                w.row([
                    scan.scan_id.as_str(),
                    &scan.artifact.name,
                    &c.name,
                    &c.version,
                    c.package_type.as_deref().unwrap_or(""),
                    c.purl.as_deref().unwrap_or(""),
                    c.location.as_deref().unwrap_or(""),
                    &c.licenses.join("; "),
                ])?;
            }
        }
        ExportType::Vex => {
            w.row(VEX_HEADER)?;
            for (scan, s) in &view.vex {
                let ts = s
                    .timestamp
                    .map(ec_domain::time::rfc3339)
                    .unwrap_or_default();
                w.row([
                    scan.scan_id.as_str(),
                    &s.vulnerability_id,
                    &s.products.join(" "),
                    s.status.as_str(),
                    s.justification.as_deref().unwrap_or(""),
                    s.impact_statement.as_deref().unwrap_or(""),
                    s.action_statement.as_deref().unwrap_or(""),
                    &ts,
                ])?;
            }
        }
        ExportType::ScanReport | ExportType::AuditBundle => {
            w.row(FINDINGS_HEADER)?;
            for r in &view.findings {
                let f = r.finding;
                let best = f.cvss.iter().filter(|c| c.score.is_some()).max_by(|a, b| {
                    a.score
                        .partial_cmp(&b.score)
                        .unwrap_or(std::cmp::Ordering::Equal)
                });
                let score = best
                    .and_then(|c| c.score)
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_default();
                let vector = best.and_then(|c| c.vector.clone()).unwrap_or_default();
                w.row([
                    r.scan.scan_id.as_str(),
                    &r.scan.artifact.name,
                    r.scan.artifact.digest.as_deref().unwrap_or(""),
                    f.target.as_deref().unwrap_or(""),
                    &f.vulnerability_id,
                    &f.aliases.join(" "),
                    f.severity.as_str(),
                    &score,
                    &vector,
                    &f.package,
                    f.package_type.as_deref().unwrap_or(""),
                    f.purl.as_deref().unwrap_or(""),
                    &f.installed_version,
                    f.fixed_version.as_deref().unwrap_or(""),
                    f.status.as_deref().unwrap_or(""),
                    r.verdict.map(|v| decision(v.decision)).unwrap_or(""),
                    r.vex.map(|v| v.status.as_str()).unwrap_or(""),
                    r.vex.and_then(|v| v.justification.as_deref()).unwrap_or(""),
                    if r.suppressed() { "true" } else { "false" },
                    f.title.as_deref().unwrap_or(""),
                    &f.references.join(" "),
                ])?;
            }
        }
    }
    w.0.into_inner().map_err(encode_err)
}

pub(crate) fn decision(d: ec_domain::scan::Decision) -> &'static str {
    match d {
        ec_domain::scan::Decision::Pass => "pass",
        ec_domain::scan::Decision::Warn => "warn",
        ec_domain::scan::Decision::Fail => "fail",
    }
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn formula_cells_are_neutralised() {
        for bad in ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(neutralise(bad), format!("'{bad}"));
        }
        assert_eq!(neutralise("CVE-2024-1"), "CVE-2024-1");
        assert_eq!(neutralise(""), "");
    }
}
