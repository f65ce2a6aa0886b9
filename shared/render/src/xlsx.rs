//! XLSX: one workbook with the sheets Summary, Findings, Components, VEX and Verdicts, in
//! that order and always all five (an empty sheet keeps its header row). Data sheets have
//! a bold header with frozen panes under it, an autofilter over the data and fixed column
//! widths (autofit would need every row in memory); severities are coloured and the first
//! reference of a finding is a hyperlink.
//!
//! Every sheet is a constant-memory worksheet: a row goes to a temporary file as soon as
//! the next one starts, so memory stays flat however many findings there are, and rows
//! must be written in order. Text is written as inline strings, never as formulas, so a
//! cell starting with `=`, `+`, `-` or `@` is literal text. Numbers, booleans and times
//! are typed cells. The creation time in the document properties is the snapshot's, so
//! the same snapshot gives the same bytes.
//!
//! A sheet holds 1,048,575 data rows under its header; a longer table continues on
//! `Findings (2)`, `Findings (3)`, ... right after its first sheet, and the Summary says so.
//!
//! The Findings, Components and VEX sheets have the columns of the CSV
//! ([`crate::common::columns`]); the parts: [`cells`], [`sheets`] and the [`summary`].

mod cells;
mod sheets;
mod summary;

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Workbook, XlsxError};

use ec_domain::Format;

use crate::RenderError;
use crate::common::columns::{
    self, Column, column, component_fields, finding_fields, finding_more_fields, vex_rows,
};
use crate::common::decision::decision_name;
use crate::common::identity::TOOL_NAME;
use crate::view::{FindingRow, ReportView};
use cells::{Cell, Styles};
use sheets::{Table, TableWriter};
use summary::write_summary;

/// Data rows one sheet holds: Excel's 1,048,576 rows less the header.
const ROWS_PER_SHEET: u32 = 1_048_575;

/// A finding's references, after the shared columns: the first (a hyperlink) and the rest.
const REFERENCES: [Column; 2] = [column("reference", 50.0), column("more_references", 60.0)];

const FINDINGS: Table = Table {
    name: "Findings",
    columns: &[&columns::FINDINGS, &REFERENCES, &columns::FINDINGS_MORE],
};

const COMPONENTS: Table = Table {
    name: "Components",
    columns: &[&columns::COMPONENTS],
};

const VEX: Table = Table {
    name: "VEX",
    columns: &[&columns::VEX],
};

/// Each scan's decision, then its findings' verdicts.
const VERDICTS: Table = Table {
    name: "Verdicts",
    columns: &[&[
        column("scan_id", 28.0),
        column("artifact", 36.0),
        column("level", 9.0),
        column("policy", 20.0),
        column("vulnerability_id", 20.0),
        column("package", 24.0),
        column("installed_version", 18.0),
        column("decision", 9.0),
        column("reason", 40.0),
    ]],
};

/// A finding's row: the shared fields, then its references.
fn finding_cells<'a>(r: &FindingRow<'a>) -> impl Iterator<Item = Cell<'a>> {
    let (first_ref, more_refs) = match r.finding.references.split_first() {
        Some((first, rest)) => (Cell::Link(first), rest.join(" ").into()),
        None => (Cell::from(""), Cell::from("")),
    };
    let fields = finding_fields(r).into_iter().map(Cell::Field);
    let more = finding_more_fields(r).into_iter().map(Cell::Field);
    fields.chain([first_ref, more_refs]).chain(more)
}

fn build(view: &ReportView<'_>, rows_per_sheet: u32) -> Result<Workbook, XlsxError> {
    let snap = view.snapshot;
    let mut wb = Workbook::new();
    // Without an explicit creation time the writer stamps the clock into docProps/core.xml.
    let created = ExcelDateTime::from_timestamp(snap.generated_at.unix_timestamp())?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "{TOOL_NAME} {} {}",
                snap.request.export_type.as_str(),
                snap.export_id
            ))
            .set_author(TOOL_NAME)
            .set_creation_datetime(&created),
    );
    let st = Styles::new();
    write_summary(&mut wb, &st, view, rows_per_sheet)?;

    let mut t = TableWriter::new(&mut wb, &st, &FINDINGS, rows_per_sheet)?;
    for r in &view.findings {
        t.row(finding_cells(r))?;
    }
    t.close()?;

    let mut t = TableWriter::new(&mut wb, &st, &COMPONENTS, rows_per_sheet)?;
    for (scan, c) in &view.components {
        t.row(component_fields(scan, c).map(Cell::Field))?;
    }
    t.close()?;

    let mut t = TableWriter::new(&mut wb, &st, &VEX, rows_per_sheet)?;
    for row in vex_rows(view) {
        t.row(row.map(Cell::Field))?;
    }
    t.close()?;

    // The findings' verdicts follow the Findings sheet (the view lists them by scan, in
    // snapshot order), so an SBOM export, which lists no findings, shows only decisions.
    let mut t = TableWriter::new(&mut wb, &st, &VERDICTS, rows_per_sheet)?;
    let mut findings = view.findings.iter().peekable();
    for inputs in &snap.scans {
        let scan = &inputs.scan;
        let policy = inputs.verdicts.policy.as_str();
        t.row([
            scan.scan_id.as_str().into(),
            scan.artifact.name.as_str().into(),
            "scan".into(),
            policy.into(),
            "".into(),
            "".into(),
            "".into(),
            decision_name(inputs.verdicts.decision).into(),
            "".into(),
        ])?;
        while let Some(r) = findings.next_if(|r| std::ptr::eq(r.scan, scan)) {
            if let Some(v) = r.verdict {
                t.row([
                    scan.scan_id.as_str().into(),
                    scan.artifact.name.as_str().into(),
                    "finding".into(),
                    policy.into(),
                    v.vulnerability_id.as_str().into(),
                    v.package.as_str().into(),
                    v.installed_version.as_str().into(),
                    decision_name(v.decision).into(),
                    v.reason.as_str().into(),
                ])?;
            }
        }
    }
    t.close()?;
    Ok(wb)
}

fn encode_err(e: XlsxError) -> RenderError {
    RenderError::encode(Format::Xlsx, e)
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    build(view, ROWS_PER_SHEET)
        .and_then(|mut wb| wb.save_to_buffer())
        .map_err(encode_err)
}

#[cfg(test)]
mod tests;
