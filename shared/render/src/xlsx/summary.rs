//! The Summary sheet: the export's fields, the findings by severity, one row per scan, and
//! a note for every table that continues on further sheets.

use rust_xlsxwriter::{Workbook, XlsxError};

use ec_domain::scan::Severity;

use super::cells::{Cell, Styles, count};
use super::sheets::{Sheet, sheet_names};
use super::{COMPONENTS, FINDINGS, VERDICTS, VEX};
use crate::common::columns::Field;
use crate::common::decision::verdict_name;
use crate::common::identity::scanner_label;
use crate::view::ReportView;

/// Summary column widths: field names and scan ids, values and artifacts, digests, then
/// the per-scan columns.
const SUMMARY_WIDTHS: [f64; 15] = [
    30.0, 40.0, 72.0, 16.0, 20.0, 21.0, 20.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 11.0, 10.0,
];

/// The scans table's header: these, then a count per severity in the order of
/// `Severity::ALL` (the order of a scan's counts), each named as the domain names it.
const SCAN_FIELDS: [&str; 9] = [
    "Scan ID",
    "Artifact",
    "Artifact digest",
    "Artifact kind",
    "Scanner",
    "Scanned at",
    "Policy",
    "Decision",
    "Findings",
];

/// `critical` as a header: `Critical`.
fn capitalised(s: &str) -> String {
    let mut chars = s.chars();
    chars
        .next()
        .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
        .unwrap_or_default()
}

/// Rows of the Verdicts sheet: each scan's decision, then its findings' verdicts.
pub(super) fn verdict_rows(view: &ReportView<'_>) -> usize {
    view.snapshot.scans.len() + view.findings.iter().filter(|r| r.verdict.is_some()).count()
}

pub(super) fn write_summary(
    wb: &mut Workbook,
    st: &Styles,
    view: &ReportView<'_>,
    rows_per_sheet: u32,
) -> Result<(), XlsxError> {
    let snap = view.snapshot;
    let req = &snap.request;
    let mut sheet = Sheet::open(wb, "Summary", &SUMMARY_WIDTHS)?;
    let mut put = |cells: Vec<Cell<'_>>| sheet.write(wb, st, cells);
    put(vec![Cell::Label("Field"), Cell::Label("Value")])?;
    let template = req.template.to_string();
    let filters = req.options.filters.describe();
    let delta = view
        .delta_counts()
        .iter()
        .map(|(d, n)| format!("{n} {d}"))
        .collect::<Vec<_>>()
        .join(", ");
    let baseline = snap
        .baseline
        .as_ref()
        .map(|b| format!("{} ({delta})", b.label))
        .unwrap_or_else(|| "none".into());
    let fields: [(&str, Cell); 17] = [
        ("Export ID", snap.export_id.as_str().into()),
        ("Tenant", snap.tenant_id.as_str().into()),
        ("Type", req.export_type.as_str().into()),
        ("Format", req.format.as_str().into()),
        ("Template", template.as_str().into()),
        ("Generated at", Field::Time(Some(snap.generated_at)).into()),
        ("Requested by", snap.requested_by.as_str().into()),
        ("Scans in scope", count(snap.scans.len())),
        ("Findings", count(view.findings.len())),
        ("VEX-suppressed findings", count(view.suppressed_count())),
        ("Findings with a fix available", count(view.fixable_count())),
        ("Components", count(view.components.len())),
        ("VEX statements", count(view.vex.len())),
        (
            "Policy decision",
            verdict_name(view.decision(), view.assessed()).into(),
        ),
        ("Filters", filters.as_str().into()),
        ("Findings left out by the filters", count(view.filtered_out)),
        ("Baseline", baseline.as_str().into()),
    ];
    for (name, value) in fields {
        put(vec![name.into(), value])?;
    }

    put(vec![])?;
    put(vec![Cell::Label("Severity"), Cell::Label("Findings")])?;
    for (severity, n) in view.severity_counts() {
        put(vec![Field::Severity(severity).into(), count(n)])?;
    }

    put(vec![])?;
    let severities: Vec<String> = Severity::ALL
        .iter()
        .map(|s| capitalised(s.as_str()))
        .collect();
    let header = SCAN_FIELDS
        .iter()
        .copied()
        .chain(severities.iter().map(String::as_str));
    put(header.map(Cell::Label).collect())?;
    for inputs in &snap.scans {
        let scan = &inputs.scan;
        let mut cells: Vec<Cell> = vec![
            scan.scan_id.as_str().into(),
            scan.artifact.name.as_str().into(),
            scan.artifact.digest.as_deref().into(),
            scan.artifact.kind.as_str().into(),
            scanner_label(scan).into(),
            if scan.scanned_at_known {
                Field::Time(Some(scan.scanned_at))
            } else {
                Field::Text("scan time unknown".into())
            }
            .into(),
            inputs.verdicts.policy.as_str().into(),
            verdict_name(inputs.verdicts.decision, scan.assessed).into(),
            count(scan.findings.len()),
        ];
        cells.extend(scan.severity_counts().into_values().map(count));
        put(cells)?;
    }

    let tables = [
        (&FINDINGS, view.findings.len()),
        (&COMPONENTS, view.components.len()),
        (&VEX, crate::common::columns::vex_rows(view).count()),
        (&VERDICTS, verdict_rows(view)),
    ];
    for (table, rows) in tables {
        let names = sheet_names(table, rows, rows_per_sheet);
        if names.len() > 1 {
            put(vec![])?;
            put(vec![
                Cell::Label("Note"),
                format!(
                    "{} has {rows} rows, more than one Excel sheet holds: it continues on {}",
                    table.name,
                    names[1..].join(", ")
                )
                .into(),
            ])?;
        }
    }
    Ok(())
}
