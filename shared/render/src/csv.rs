//! CSV (RFC 4180): one row per finding (per component for SBOM exports, per statement for
//! VEX exports) under a fixed header, the columns of [`crate::common::columns`]. Cells
//! that a spreadsheet would run as a formula are neutralised (OWASP CSV injection).

use std::borrow::Cow;

use ec_domain::{ExportType, Format};

use crate::RenderError;
use crate::common::columns::{
    COMPONENTS, Column, FINDINGS, FINDINGS_MORE, Field, REFERENCES, VEX, component_fields,
    finding_fields, finding_more_fields, vex_rows,
};
use crate::view::{FindingRow, ReportView};

/// Prefixes a quote to cells a spreadsheet would evaluate (`=`, `+`, `-`, `@`, tab, CR).
pub fn neutralise(cell: &str) -> Cow<'_, str> {
    match cell.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

/// A field as CSV text.
fn text(field: Field<'_>) -> Cow<'_, str> {
    match field {
        Field::Text(s) => s,
        Field::Severity(s) => s.as_str().into(),
        Field::Score(s) => s.map(|s| format!("{s:.1}")).unwrap_or_default().into(),
        Field::Number(n) => n.map(|n| n.to_string()).unwrap_or_default().into(),
        Field::Bool(b) => if b { "true" } else { "false" }.into(),
        Field::Time(t) => t.map(ec_domain::time::rfc3339).unwrap_or_default().into(),
    }
}

fn encode_err(e: impl std::fmt::Display) -> RenderError {
    RenderError::encode(Format::Csv, e)
}

fn names(columns: &[Column]) -> impl Iterator<Item = Cow<'static, str>> + '_ {
    columns.iter().map(|c| c.name.into())
}

struct Writer<W: std::io::Write>(csv::Writer<W>);

impl<W: std::io::Write> Writer<W> {
    fn row<'c>(
        &mut self,
        cells: impl IntoIterator<Item = Cow<'c, str>>,
    ) -> Result<(), RenderError> {
        // Field by field, then an empty record to end the row: the bytes of one
        // `write_record`, without owning a copy of every cell.
        for cell in cells {
            self.0
                .write_field(neutralise(&cell).as_bytes())
                .map_err(encode_err)?;
        }
        self.0.write_record(None::<&[u8]>).map_err(encode_err)
    }

    fn finding(&mut self, r: &FindingRow<'_>) -> Result<(), RenderError> {
        let references = r.finding.references.join(" ");
        let cells = finding_fields(r).into_iter().map(text);
        let more = finding_more_fields(r).into_iter().map(text);
        self.row(cells.chain([Cow::from(references)]).chain(more))
    }
}

/// Finding rows per batch made on one core (a few MiB of CSV).
const ROWS: usize = 4096;

fn writer<W: std::io::Write>(out: W) -> Writer<W> {
    Writer(
        csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(out),
    )
}

/// Writes the CSV to `out` as it goes (a 100,000-finding report is ~110 MB). Finding rows
/// are made in batches on every core ([`crate::write_batches`]) and written in order: rows
/// are independent, so the bytes are one writer's.
pub fn write(view: &ReportView<'_>, out: &mut dyn std::io::Write) -> Result<(), RenderError> {
    let mut w = writer(out);
    match view.snapshot.request.export_type {
        ExportType::Sbom => {
            w.row(names(&COMPONENTS))?;
            for (scan, c) in &view.components {
                w.row(component_fields(scan, c).into_iter().map(text))?;
            }
        }
        ExportType::Vex => {
            w.row(names(&VEX))?;
            for row in vex_rows(view) {
                w.row(row.into_iter().map(text))?;
            }
        }
        ExportType::ScanReport | ExportType::AuditBundle => {
            w.row(
                names(&FINDINGS)
                    .chain([REFERENCES.into()])
                    .chain(names(&FINDINGS_MORE)),
            )?;
            let mut out = w.0.into_inner().map_err(encode_err)?;
            let batches = view.findings.len().div_ceil(ROWS);
            return crate::write_batches(&mut out, batches, |b| {
                let rows = view.findings.chunks(ROWS).nth(b).unwrap_or_default();
                let mut batch = writer(Vec::with_capacity(rows.len() * 1024));
                for r in rows {
                    batch
                        .finding(r)
                        .map_err(|e| std::io::Error::other(e.to_string()))?;
                }
                batch
                    .0
                    .into_inner()
                    .map_err(|e| std::io::Error::other(e.to_string()))
            })
            .map_err(encode_err);
        }
    }
    w.0.flush().map_err(encode_err)
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
