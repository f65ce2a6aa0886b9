//! The data tables CSV and XLSX both write: per table its columns (the header, and the
//! width of the column in an XLSX sheet) and the fields of one row. Fields are typed, so
//! each format writes them its way: CSV as text, XLSX as numbers, booleans, times and
//! coloured severities.

use std::borrow::Cow;

use time::OffsetDateTime;

use ec_domain::scan::{Component, Scan, Severity, VexStatement};
use ec_domain::vex::{Unmatched, VexDocument};

use crate::common::decision::decision_name;
use crate::view::{FindingRow, ReportView};

/// A column: its header and its width in an XLSX sheet (in characters).
pub(crate) struct Column {
    pub name: &'static str,
    pub width: f64,
}

pub(crate) const fn column(name: &'static str, width: f64) -> Column {
    Column { name, width }
}

/// One row's value in one column.
pub(crate) enum Field<'a> {
    /// Text; empty text is a blank cell.
    Text(Cow<'a, str>),
    Severity(Severity),
    /// A CVSS score, shown with one decimal; none is blank.
    Score(Option<f64>),
    /// A number as it is (a probability, a percentile); none is blank.
    Number(Option<f64>),
    Bool(bool),
    /// A UTC date and time; none is blank.
    Time(Option<OffsetDateTime>),
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(s: &'a str) -> Self {
        Field::Text(s.into())
    }
}

impl From<String> for Field<'_> {
    fn from(s: String) -> Self {
        Field::Text(s.into())
    }
}

impl<'a> From<Option<&'a str>> for Field<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Field::Text(s.unwrap_or("").into())
    }
}

/// The findings table, one row per finding. Its references follow these columns: CSV lists
/// them in one more column ([`REFERENCES`]), XLSX links the first and lists the rest.
pub(crate) const FINDINGS: [Column; 20] = [
    column("scan_id", 28.0),
    column("artifact", 36.0),
    column("artifact_digest", 24.0),
    column("target", 30.0),
    column("vulnerability_id", 20.0),
    column("aliases", 24.0),
    column("severity", 11.0),
    column("cvss_score", 11.0),
    column("cvss_vector", 44.0),
    column("package", 24.0),
    column("package_type", 13.0),
    column("purl", 40.0),
    column("installed_version", 18.0),
    column("fixed_version", 18.0),
    column("status", 12.0),
    column("verdict", 9.0),
    column("vex_status", 18.0),
    column("vex_justification", 30.0),
    column("suppressed", 11.0),
    column("title", 60.0),
];

/// The CSV column after [`FINDINGS`]: every reference, space-separated.
pub(crate) const REFERENCES: &str = "references";

/// Columns added since the documented header, after the references (so existing readers of
/// the header by position keep working): the scanner's description, the CWE ids, the
/// dates, whose severity it is (and every vendor's), the image layer, EPSS and KEV, and the
/// delta against the baseline.
pub(crate) const FINDINGS_MORE: [Column; 12] = [
    column("description", 80.0),
    column("cwes", 16.0),
    column("published", 21.0),
    column("modified", 21.0),
    column("severity_source", 16.0),
    column("vendor_severity", 40.0),
    column("layer", 30.0),
    column("epss", 9.0),
    column("epss_percentile", 14.0),
    column("epss_date", 12.0),
    column("known_exploited", 15.0),
    column("delta", 11.0),
];

/// A finding's row under [`FINDINGS_MORE`].
pub(crate) fn finding_more_fields<'a>(r: &FindingRow<'a>) -> [Field<'a>; 12] {
    let f = r.finding;
    let d = &f.details;
    let vendors: Vec<String> = d
        .vendor_severity
        .iter()
        .map(|(v, s)| format!("{v}:{}", s.as_str()))
        .collect();
    [
        f.description.as_deref().into(),
        cwe_names(&f.cwes).join(" ").into(),
        Field::Time(d.published),
        Field::Time(d.modified),
        d.severity_source.as_deref().into(),
        vendors.join(" ").into(),
        d.layer.as_deref().into(),
        Field::Number(d.epss.as_ref().map(|e| e.score)),
        Field::Number(d.epss.as_ref().and_then(|e| e.percentile)),
        d.epss.as_ref().and_then(|e| e.date.as_deref()).into(),
        if d.known_exploited { "true" } else { "" }.into(),
        r.delta.map(|d| d.as_str()).into(),
    ]
}

/// `CWE-79`-style names of CWE numbers.
pub(crate) fn cwe_names(cwes: &[u32]) -> Vec<String> {
    cwes.iter().map(|c| format!("CWE-{c}")).collect()
}

/// The components table (SBOM exports), one row per component.
pub(crate) const COMPONENTS: [Column; 8] = [
    column("scan_id", 28.0),
    column("artifact", 36.0),
    column("name", 30.0),
    column("version", 18.0),
    column("package_type", 13.0),
    column("purl", 50.0),
    column("location", 40.0),
    column("licenses", 30.0),
];

/// The VEX table, one row per statement: those applied to each scan, then those of the
/// input documents that matched no finding (no scan id; the last columns say which
/// document and why).
pub(crate) const VEX: [Column; 10] = [
    column("scan_id", 28.0),
    column("vulnerability_id", 20.0),
    column("products", 50.0),
    column("status", 18.0),
    column("justification", 30.0),
    column("impact_statement", 50.0),
    column("action_statement", 50.0),
    column("timestamp", 21.0),
    column("document", 30.0),
    column("unmatched_reason", 24.0),
];

/// A finding's row under [`FINDINGS`]: the highest-scored CVSS entry, the policy verdict
/// and the VEX decision in force.
pub(crate) fn finding_fields<'a>(r: &FindingRow<'a>) -> [Field<'a>; 20] {
    let f = r.finding;
    let best = r.best_cvss();
    [
        r.scan.scan_id.as_str().into(),
        r.scan.artifact.name.as_str().into(),
        r.scan.artifact.digest.as_deref().into(),
        f.target.as_deref().into(),
        f.vulnerability_id.as_str().into(),
        f.aliases.join(" ").into(),
        Field::Severity(f.severity),
        Field::Score(best.and_then(|c| c.score)),
        best.and_then(|c| c.vector.as_deref()).into(),
        f.package.as_str().into(),
        f.package_type.as_deref().into(),
        f.purl.as_deref().into(),
        f.installed_version.as_str().into(),
        f.fixed_version.as_deref().into(),
        f.status.as_deref().into(),
        r.verdict.map(|v| decision_name(v.decision)).into(),
        r.vex.map(|v| v.status.as_str()).into(),
        r.vex.and_then(|v| v.justification.as_deref()).into(),
        Field::Bool(r.suppressed()),
        f.title.as_deref().into(),
    ]
}

/// A component's row under [`COMPONENTS`].
pub(crate) fn component_fields<'a>(scan: &'a Scan, c: &'a Component) -> [Field<'a>; 8] {
    [
        scan.scan_id.as_str().into(),
        scan.artifact.name.as_str().into(),
        c.name.as_str().into(),
        c.version.as_str().into(),
        c.package_type.as_deref().into(),
        c.purl.as_deref().into(),
        c.location.as_deref().into(),
        c.licenses.join("; ").into(),
    ]
}

/// A statement's row under [`VEX`]: applied to `scan`, or (with `unmatched`) a document's
/// statement that matched nothing.
pub(crate) fn vex_fields<'a>(
    scan: Option<&'a Scan>,
    s: &'a VexStatement,
    unmatched: Option<(&'a VexDocument, Unmatched)>,
) -> [Field<'a>; 10] {
    [
        scan.map(|s| s.scan_id.as_str()).into(),
        s.vulnerability_id.as_str().into(),
        s.products.join(" ").into(),
        s.status.as_str().into(),
        s.justification.as_deref().into(),
        s.impact_statement.as_deref().into(),
        s.action_statement.as_deref().into(),
        Field::Time(s.timestamp),
        unmatched
            .map(|(d, _)| d.name.as_deref().unwrap_or(&d.id))
            .or(s.source.as_deref())
            .into(),
        unmatched.map(|(_, r)| r.as_str()).into(),
    ]
}

/// Every row of the VEX table, as [`vex_fields`] takes them.
pub(crate) fn vex_rows<'a>(view: &'a ReportView<'a>) -> impl Iterator<Item = [Field<'a>; 10]> + 'a {
    let applied = view
        .vex
        .iter()
        .map(|(scan, s)| vex_fields(Some(scan), s, None));
    let unmatched = view.vex_documents.iter().flat_map(|d| {
        d.document
            .statements
            .iter()
            .zip(&d.matches)
            .filter_map(move |(s, m)| m.reason.map(|r| vex_fields(None, s, Some((d.document, r)))))
    });
    applied.chain(unmatched)
}
