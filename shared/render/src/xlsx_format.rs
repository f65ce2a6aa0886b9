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

use std::borrow::Cow;

use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format as CellFormat, Workbook, Worksheet, XlsxError,
};
use time::OffsetDateTime;

use ec_domain::Format;
use ec_domain::scan::Severity;

use crate::RenderError;
use crate::csv_format::decision;
use crate::view::{FindingRow, ReportView};

/// Data rows one sheet holds: Excel's 1,048,576 rows less the header.
const ROWS_PER_SHEET: u32 = 1_048_575;
/// Excel's limit of hyperlinks in one sheet; further links are written as text.
const MAX_LINKS_PER_SHEET: usize = 65_530;
/// Longer URLs are written as text: Excel cannot follow a longer hyperlink.
const MAX_LINK_LEN: usize = 255;
/// Excel's limit of characters in a cell (UTF-16 units); longer text is cut, ending in `…`.
const MAX_CELL_LEN: usize = 32_767;

/// A data sheet: its name and, per column, the header (the CSV's column names) and width.
struct Table {
    name: &'static str,
    columns: &'static [(&'static str, f64)],
}

const FINDINGS: Table = Table {
    name: "Findings",
    columns: &[
        ("scan_id", 28.0),
        ("artifact", 36.0),
        ("artifact_digest", 24.0),
        ("target", 30.0),
        ("vulnerability_id", 20.0),
        ("aliases", 24.0),
        ("severity", 11.0),
        ("cvss_score", 11.0),
        ("cvss_vector", 44.0),
        ("package", 24.0),
        ("package_type", 13.0),
        ("purl", 40.0),
        ("installed_version", 18.0),
        ("fixed_version", 18.0),
        ("status", 12.0),
        ("verdict", 9.0),
        ("vex_status", 18.0),
        ("vex_justification", 30.0),
        ("suppressed", 11.0),
        ("title", 60.0),
        ("reference", 50.0),
        ("more_references", 60.0),
    ],
};

const COMPONENTS: Table = Table {
    name: "Components",
    columns: &[
        ("scan_id", 28.0),
        ("artifact", 36.0),
        ("name", 30.0),
        ("version", 18.0),
        ("package_type", 13.0),
        ("purl", 50.0),
        ("location", 40.0),
        ("licenses", 30.0),
    ],
};

const VEX: Table = Table {
    name: "VEX",
    columns: &[
        ("scan_id", 28.0),
        ("vulnerability_id", 20.0),
        ("products", 50.0),
        ("status", 18.0),
        ("justification", 30.0),
        ("impact_statement", 50.0),
        ("action_statement", 50.0),
        ("timestamp", 21.0),
    ],
};

const VERDICTS: Table = Table {
    name: "Verdicts",
    columns: &[
        ("scan_id", 28.0),
        ("artifact", 36.0),
        ("level", 9.0),
        ("policy", 20.0),
        ("vulnerability_id", 20.0),
        ("package", 24.0),
        ("installed_version", 18.0),
        ("decision", 9.0),
        ("reason", 40.0),
    ],
};

/// Summary column widths: field names and scan ids, values and artifacts, digests, then
/// the per-scan columns.
const SUMMARY_WIDTHS: [f64; 15] = [
    30.0, 40.0, 72.0, 16.0, 20.0, 21.0, 20.0, 10.0, 10.0, 10.0, 10.0, 10.0, 10.0, 11.0, 10.0,
];

const SCANS_HEADER: [&str; 15] = [
    "Scan ID",
    "Artifact",
    "Artifact digest",
    "Artifact kind",
    "Scanner",
    "Scanned at",
    "Policy",
    "Decision",
    "Findings",
    "Critical",
    "High",
    "Medium",
    "Low",
    "Negligible",
    "Unknown",
];

/// One cell's content and how it is written.
enum Cell<'a> {
    /// Literal text; empty text leaves the cell blank.
    Text(Cow<'a, str>),
    /// Bold text: headers.
    Label(&'a str),
    Number(f64),
    /// A CVSS score, shown with one decimal.
    Score(f64),
    Bool(bool),
    /// The severity's name on its colour.
    Severity(Severity),
    /// A UTC date and time, shown as RFC 3339.
    Time(OffsetDateTime),
    /// A hyperlink when Excel can take one, else text.
    Link(&'a str),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Self {
        Cell::Text(s.into())
    }
}

impl From<String> for Cell<'_> {
    fn from(s: String) -> Self {
        Cell::Text(s.into())
    }
}

impl<'a> From<Option<&'a str>> for Cell<'a> {
    fn from(s: Option<&'a str>) -> Self {
        Cell::Text(s.unwrap_or("").into())
    }
}

fn count<'a>(n: usize) -> Cell<'a> {
    // Counts stay far below 2^53, so the conversion is exact.
    Cell::Number(n as f64)
}

/// Fill and font colour of a severity cell.
fn severity_colours(s: Severity) -> (u32, u32) {
    match s {
        Severity::Critical => (0x8B0000, 0xFFFFFF),
        Severity::High => (0xFF0000, 0xFFFFFF),
        Severity::Medium => (0xFFA500, 0x000000),
        Severity::Low => (0xFFFF00, 0x000000),
        Severity::Negligible => (0xD9D9D9, 0x000000),
        Severity::Unknown => (0xF2F2F2, 0x000000),
    }
}

struct Styles {
    bold: CellFormat,
    score: CellFormat,
    time: CellFormat,
    /// In the order of `Severity::ALL`.
    severity: [CellFormat; 6],
}

impl Styles {
    fn new() -> Styles {
        Styles {
            bold: CellFormat::new().set_bold(),
            score: CellFormat::new().set_num_format("0.0"),
            time: CellFormat::new().set_num_format(r#"yyyy-mm-dd"T"hh:mm:ss"Z""#),
            severity: Severity::ALL.map(|s| {
                let (fill, font) = severity_colours(s);
                CellFormat::new()
                    .set_background_color(Color::RGB(fill))
                    .set_font_color(Color::RGB(font))
            }),
        }
    }

    fn severity(&self, s: Severity) -> &CellFormat {
        // `Severity::ALL` lists the variants in declaration order.
        &self.severity[s as usize]
    }
}

/// Cuts text to fit a cell, marking the cut with `…`.
fn fit(s: &str) -> Cow<'_, str> {
    // A UTF-8 string has at least as many bytes as UTF-16 units.
    if s.len() <= MAX_CELL_LEN {
        return s.into();
    }
    let mut units = 0;
    let mut end = 0;
    for (i, ch) in s.char_indices() {
        // One unit is kept for the ellipsis.
        if units + ch.len_utf16() > MAX_CELL_LEN - 1 {
            break;
        }
        units += ch.len_utf16();
        end = i + ch.len_utf8();
    }
    if end == s.len() {
        s.into()
    } else {
        format!("{}…", &s[..end]).into()
    }
}

/// Only web links become hyperlinks; anything else a scanner lists stays text.
fn linkable(url: &str) -> bool {
    (url.starts_with("https://") || url.starts_with("http://"))
        && url.encode_utf16().count() <= MAX_LINK_LEN
}

fn write_cell(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    col: u16,
    cell: &Cell<'_>,
    links: &mut usize,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Text(s) => {
            ws.write_string(row, col, fit(s))?;
        }
        Cell::Label(s) => {
            ws.write_string_with_format(row, col, fit(s), &st.bold)?;
        }
        Cell::Number(n) => {
            ws.write_number(row, col, *n)?;
        }
        Cell::Score(n) => {
            ws.write_number_with_format(row, col, *n, &st.score)?;
        }
        Cell::Bool(b) => {
            ws.write_boolean(row, col, *b)?;
        }
        Cell::Severity(s) => {
            ws.write_string_with_format(row, col, s.as_str(), st.severity(*s))?;
        }
        Cell::Time(t) => match ExcelDateTime::from_timestamp(t.unix_timestamp()) {
            Ok(dt) => {
                ws.write_datetime_with_format(row, col, &dt, &st.time)?;
            }
            // Outside Excel's years 1900-9999: the text still says when.
            Err(_) => {
                ws.write_string(row, col, ec_domain::time::rfc3339(*t))?;
            }
        },
        Cell::Link(url) => {
            // A URL the writer refuses (unparsable, too long) falls back to text too.
            let linked = *links < MAX_LINKS_PER_SHEET
                && linkable(url)
                && ws.write_url(row, col, *url).is_ok();
            if linked {
                *links += 1;
            } else {
                ws.write_string(row, col, fit(url))?;
            }
        }
    }
    Ok(())
}

/// A sheet being written row by row (a constant-memory sheet cannot go back).
struct Sheet {
    index: usize,
    /// The next row to write.
    row: u32,
    links: usize,
}

impl Sheet {
    fn open(wb: &mut Workbook, name: &str, widths: &[f64]) -> Result<Sheet, XlsxError> {
        let ws = wb.add_worksheet_with_constant_memory()?;
        ws.set_name(name)?;
        for (col, width) in (0u16..).zip(widths) {
            ws.set_column_width(col, *width)?;
        }
        ws.set_freeze_panes(1, 0)?;
        Ok(Sheet {
            index: wb.worksheets().len() - 1,
            row: 0,
            links: 0,
        })
    }

    fn write(
        &mut self,
        wb: &mut Workbook,
        st: &Styles,
        cells: &[Cell<'_>],
    ) -> Result<(), XlsxError> {
        let ws = wb.worksheet_from_index(self.index)?;
        for (col, cell) in (0u16..).zip(cells) {
            write_cell(ws, st, self.row, col, cell, &mut self.links)?;
        }
        self.row += 1;
        Ok(())
    }
}

fn sheet_name(table: &str, part: usize) -> String {
    match part {
        0 => table.to_string(),
        n => format!("{table} ({})", n + 1),
    }
}

/// The sheets a table of `rows` data rows fills: at least one, for the header.
fn sheet_names(table: &Table, rows: usize, rows_per_sheet: u32) -> Vec<String> {
    let parts = rows.div_ceil(rows_per_sheet as usize).max(1);
    (0..parts).map(|p| sheet_name(table.name, p)).collect()
}

/// Writes a table's rows, opening a continuation sheet whenever one is full.
struct TableWriter<'w> {
    wb: &'w mut Workbook,
    st: &'w Styles,
    table: &'static Table,
    rows_per_sheet: u32,
    part: usize,
    sheet: Sheet,
}

impl<'w> TableWriter<'w> {
    fn new(
        wb: &'w mut Workbook,
        st: &'w Styles,
        table: &'static Table,
        rows_per_sheet: u32,
    ) -> Result<TableWriter<'w>, XlsxError> {
        let sheet = Self::open(wb, st, table, 0)?;
        Ok(TableWriter {
            wb,
            st,
            table,
            rows_per_sheet,
            part: 0,
            sheet,
        })
    }

    fn open(
        wb: &mut Workbook,
        st: &Styles,
        table: &Table,
        part: usize,
    ) -> Result<Sheet, XlsxError> {
        let widths: Vec<f64> = table.columns.iter().map(|(_, w)| *w).collect();
        let mut sheet = Sheet::open(wb, &sheet_name(table.name, part), &widths)?;
        let header: Vec<Cell> = table.columns.iter().map(|(h, _)| Cell::Label(h)).collect();
        sheet.write(wb, st, &header)?;
        Ok(sheet)
    }

    fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), XlsxError> {
        // Row 0 is the header, so a full sheet's next row is past the limit.
        if self.sheet.row > self.rows_per_sheet {
            self.close()?;
            self.part += 1;
            self.sheet = Self::open(self.wb, self.st, self.table, self.part)?;
        }
        self.sheet.write(self.wb, self.st, cells)
    }

    /// Puts the autofilter over the header and the rows written.
    fn close(&mut self) -> Result<(), XlsxError> {
        let last_col = self.table.columns.len().saturating_sub(1) as u16;
        let last_row = self.sheet.row - 1;
        self.wb
            .worksheet_from_index(self.sheet.index)?
            .autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }
}

fn finding_cells<'a>(r: &FindingRow<'a>) -> [Cell<'a>; 22] {
    let f = r.finding;
    let best = r.best_cvss();
    let (first_ref, more_refs) = match f.references.split_first() {
        Some((first, rest)) => (Cell::Link(first), rest.join(" ").into()),
        None => (Cell::from(""), Cell::from("")),
    };
    [
        r.scan.scan_id.as_str().into(),
        r.scan.artifact.name.as_str().into(),
        r.scan.artifact.digest.as_deref().into(),
        f.target.as_deref().into(),
        f.vulnerability_id.as_str().into(),
        f.aliases.join(" ").into(),
        Cell::Severity(f.severity),
        best.and_then(|c| c.score)
            .map_or(Cell::from(""), Cell::Score),
        best.and_then(|c| c.vector.as_deref()).into(),
        f.package.as_str().into(),
        f.package_type.as_deref().into(),
        f.purl.as_deref().into(),
        f.installed_version.as_str().into(),
        f.fixed_version.as_deref().into(),
        f.status.as_deref().into(),
        r.verdict.map(|v| decision(v.decision)).into(),
        r.vex.map(|v| v.status.as_str()).into(),
        r.vex.and_then(|v| v.justification.as_deref()).into(),
        Cell::Bool(r.suppressed()),
        f.title.as_deref().into(),
        first_ref,
        more_refs,
    ]
}

/// Rows of the Verdicts sheet: each scan's decision, then its findings' verdicts.
fn verdict_rows(view: &ReportView<'_>) -> usize {
    view.snapshot.scans.len() + view.findings.iter().filter(|r| r.verdict.is_some()).count()
}

fn write_summary(
    wb: &mut Workbook,
    st: &Styles,
    view: &ReportView<'_>,
    rows_per_sheet: u32,
) -> Result<(), XlsxError> {
    let snap = view.snapshot;
    let req = &snap.request;
    let mut sheet = Sheet::open(wb, "Summary", &SUMMARY_WIDTHS)?;
    let mut put = |cells: &[Cell<'_>]| sheet.write(wb, st, cells);
    put(&[Cell::Label("Field"), Cell::Label("Value")])?;
    let template = req.template.to_string();
    let fields: [(&str, Cell); 14] = [
        ("Export ID", snap.export_id.as_str().into()),
        ("Tenant", snap.tenant_id.as_str().into()),
        ("Type", req.export_type.as_str().into()),
        ("Format", req.format.as_str().into()),
        ("Template", template.as_str().into()),
        ("Generated at", Cell::Time(snap.generated_at)),
        ("Requested by", snap.requested_by.as_str().into()),
        ("Scans in scope", count(snap.scans.len())),
        ("Findings", count(view.findings.len())),
        ("VEX-suppressed findings", count(view.suppressed_count())),
        ("Findings with a fix available", count(view.fixable_count())),
        ("Components", count(view.components.len())),
        ("VEX statements", count(view.vex.len())),
        ("Policy decision", decision(view.decision()).into()),
    ];
    for (name, value) in fields {
        put(&[name.into(), value])?;
    }

    put(&[])?;
    put(&[Cell::Label("Severity"), Cell::Label("Findings")])?;
    for (severity, n) in view.severity_counts() {
        put(&[Cell::Severity(severity), count(n)])?;
    }

    put(&[])?;
    put(&SCANS_HEADER.map(Cell::Label))?;
    for inputs in &snap.scans {
        let scan = &inputs.scan;
        let scanner = match &scan.scanner.version {
            Some(v) => format!("{} {v}", scan.scanner.name),
            None => scan.scanner.name.clone(),
        };
        let mut cells: Vec<Cell> = vec![
            scan.scan_id.as_str().into(),
            scan.artifact.name.as_str().into(),
            scan.artifact.digest.as_deref().into(),
            scan.artifact.kind.as_str().into(),
            scanner.into(),
            Cell::Time(scan.scanned_at),
            inputs.verdicts.policy.as_str().into(),
            decision(inputs.verdicts.decision).into(),
            count(scan.findings.len()),
        ];
        cells.extend(scan.severity_counts().into_values().map(count));
        put(&cells)?;
    }

    let tables = [
        (&FINDINGS, view.findings.len()),
        (&COMPONENTS, view.components.len()),
        (&VEX, view.vex.len()),
        (&VERDICTS, verdict_rows(view)),
    ];
    for (table, rows) in tables {
        let names = sheet_names(table, rows, rows_per_sheet);
        if names.len() > 1 {
            put(&[])?;
            put(&[
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

fn build(view: &ReportView<'_>, rows_per_sheet: u32) -> Result<Workbook, XlsxError> {
    let snap = view.snapshot;
    let mut wb = Workbook::new();
    // Without an explicit creation time the writer stamps the clock into docProps/core.xml.
    let created = ExcelDateTime::from_timestamp(snap.generated_at.unix_timestamp())?;
    wb.set_properties(
        &DocProperties::new()
            .set_title(format!(
                "ExportCenter {} {}",
                snap.request.export_type.as_str(),
                snap.export_id
            ))
            .set_author("ExportCenter")
            .set_creation_datetime(&created),
    );
    let st = Styles::new();
    write_summary(&mut wb, &st, view, rows_per_sheet)?;

    let mut t = TableWriter::new(&mut wb, &st, &FINDINGS, rows_per_sheet)?;
    for r in &view.findings {
        t.row(&finding_cells(r))?;
    }
    t.close()?;

    let mut t = TableWriter::new(&mut wb, &st, &COMPONENTS, rows_per_sheet)?;
    for (scan, c) in &view.components {
        t.row(&[
            scan.scan_id.as_str().into(),
            scan.artifact.name.as_str().into(),
            c.name.as_str().into(),
            c.version.as_str().into(),
            c.package_type.as_deref().into(),
            c.purl.as_deref().into(),
            c.location.as_deref().into(),
            c.licenses.join("; ").into(),
        ])?;
    }
    t.close()?;

    let mut t = TableWriter::new(&mut wb, &st, &VEX, rows_per_sheet)?;
    for (scan, s) in &view.vex {
        t.row(&[
            scan.scan_id.as_str().into(),
            s.vulnerability_id.as_str().into(),
            s.products.join(" ").into(),
            s.status.as_str().into(),
            s.justification.as_deref().into(),
            s.impact_statement.as_deref().into(),
            s.action_statement.as_deref().into(),
            s.timestamp.map_or(Cell::from(""), Cell::Time),
        ])?;
    }
    t.close()?;

    // The findings' verdicts follow the Findings sheet (the view lists them by scan, in
    // snapshot order), so an SBOM export, which lists no findings, shows only decisions.
    let mut t = TableWriter::new(&mut wb, &st, &VERDICTS, rows_per_sheet)?;
    let mut findings = view.findings.iter().peekable();
    for inputs in &snap.scans {
        let scan = &inputs.scan;
        let policy = inputs.verdicts.policy.as_str();
        t.row(&[
            scan.scan_id.as_str().into(),
            scan.artifact.name.as_str().into(),
            "scan".into(),
            policy.into(),
            "".into(),
            "".into(),
            "".into(),
            decision(inputs.verdicts.decision).into(),
            "".into(),
        ])?;
        while let Some(r) = findings.next_if(|r| std::ptr::eq(r.scan, scan)) {
            if let Some(v) = r.verdict {
                t.row(&[
                    scan.scan_id.as_str().into(),
                    scan.artifact.name.as_str().into(),
                    "finding".into(),
                    policy.into(),
                    v.vulnerability_id.as_str().into(),
                    v.package.as_str().into(),
                    v.installed_version.as_str().into(),
                    decision(v.decision).into(),
                    v.reason.as_str().into(),
                ])?;
            }
        }
    }
    t.close()?;
    Ok(wb)
}

fn encode_err(e: XlsxError) -> RenderError {
    RenderError::Encode {
        format: Format::Xlsx,
        reason: e.to_string(),
    }
}

pub fn render(view: &ReportView<'_>) -> Result<Vec<u8>, RenderError> {
    build(view, ROWS_PER_SHEET)
        .and_then(|mut wb| wb.save_to_buffer())
        .map_err(encode_err)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::io::Read;

    use ec_domain::policy::{PolicyConfig, evaluate};
    use ec_domain::request::{ExportOptions, ExportRequest, Scope};
    use ec_domain::scan::{Cvss, Finding, Scan};
    use ec_domain::snapshot::{ScanInputs, Snapshot};
    use ec_domain::{BuiltinTemplate, ExportType, TemplateName};
    use time::macros::datetime;

    use super::*;
    use crate::csv_format::{COMPONENTS_HEADER, FINDINGS_HEADER, VEX_HEADER};

    const AT: OffsetDateTime = datetime!(2024-12-29 10:30:00 UTC);

    fn finding(i: usize) -> Finding {
        Finding {
            vulnerability_id: format!("CVE-2024-{i:05}"),
            aliases: vec![format!("GHSA-{i:04}-abcd-efgh")],
            package: format!("package-{}", i % 500),
            package_type: Some("npm".into()),
            purl: Some(format!("pkg:npm/package-{}@1.{}.0", i % 500, i % 7)),
            installed_version: format!("1.{}.0", i % 7),
            fixed_version: (!i.is_multiple_of(3)).then(|| format!("1.{}.1", i % 7)),
            severity: Severity::ALL[i % Severity::ALL.len()],
            cvss: vec![Cvss {
                source: "nvd".into(),
                version: "3.1".into(),
                vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H".into()),
                score: Some((i % 100) as f64 / 10.0),
            }],
            title: Some(format!(
                "package-{}: improper input validation allows remote code execution",
                i % 500
            )),
            description: None,
            references: vec![
                format!("https://nvd.nist.gov/vuln/detail/CVE-2024-{i:05}"),
                format!("https://github.com/advisories/GHSA-{i:04}-abcd-efgh"),
                "https://example.com/security/advisories".into(),
            ],
            status: Some("fixed".into()),
            target: Some("package-lock.json".into()),
        }
    }

    /// A scan report snapshot of one scan with these findings, built as gather builds it.
    /// `snapshot_of((0..100_000).map(finding).collect())` is the measurement's input.
    fn snapshot_of(findings: Vec<Finding>) -> Snapshot {
        let scan_json = serde_json::json!({
            "scan_id": "scan-1",
            "tenant_id": "acme",
            "artifact": { "name": "registry.example/app:1.0", "kind": "container_image",
                          "digest": "sha256:0123", "os": null },
            "scanner": { "name": "trivy", "version": "0.50.0" },
            "source_format": "trivy",
            "scanned_at": "2024-12-28T09:00:00Z",
            "ingested_at": "2024-12-28T09:01:00Z",
            "document_sha256": "ab",
            "components": [],
            "findings": [],
        });
        let mut scan: Scan = serde_json::from_value(scan_json).expect("scan");
        scan.findings = findings;
        let request = ExportRequest {
            export_type: ExportType::ScanReport,
            format: Format::Xlsx,
            scope: Scope::ScanIds(vec![scan.scan_id.clone()]),
            options: ExportOptions {
                include_sbom: true,
                include_evidence: false,
            },
            template: TemplateName::Builtin(BuiltinTemplate::ComplianceDetailed),
        };
        let inputs = ScanInputs {
            verdicts: evaluate(&PolicyConfig::default(), &scan, &[]),
            vex: Vec::new(),
            sbom: None,
            scan,
        };
        Snapshot::new(
            "exp-1".parse().unwrap(),
            "acme".parse().unwrap(),
            request,
            "alice".into(),
            AT,
            vec![inputs],
        )
    }

    fn render_snapshot(snap: &Snapshot) -> Vec<u8> {
        render(&ReportView::new(snap)).expect("render")
    }

    /// The files of a zip archive (the xlsx container) as text, by name.
    fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
        let u16_at = |i: usize| usize::from(u16::from_le_bytes([bytes[i], bytes[i + 1]]));
        let u32_at = |i: usize| {
            u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
        };
        let eocd = (0..bytes.len() - 21)
            .rev()
            .find(|&i| bytes[i..].starts_with(b"PK\x05\x06"))
            .expect("end of central directory");
        let mut at = u32_at(eocd + 16);
        let mut files = BTreeMap::new();
        for _ in 0..u16_at(eocd + 10) {
            assert!(
                bytes[at..].starts_with(b"PK\x01\x02"),
                "central directory entry"
            );
            let (method, size) = (u16_at(at + 10), u32_at(at + 20));
            let name_len = u16_at(at + 28);
            let name =
                String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).expect("name");
            let local = u32_at(at + 42);
            let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
            let data = &bytes[data_at..data_at + size];
            let mut text = String::new();
            match method {
                0 => text = String::from_utf8(data.to_vec()).expect("UTF-8"),
                8 => {
                    flate2::read::DeflateDecoder::new(data)
                        .read_to_string(&mut text)
                        .expect("inflate");
                }
                m => panic!("{name}: compression method {m}"),
            }
            files.insert(name, text);
            at += 46 + name_len + u16_at(at + 30) + u16_at(at + 32);
        }
        files
    }

    fn sheet_names_of(files: &BTreeMap<String, String>) -> Vec<String> {
        let workbook = &files["xl/workbook.xml"];
        workbook
            .split("<sheet name=\"")
            .skip(1)
            .map(|s| s.split('"').next().unwrap_or("").to_string())
            .collect()
    }

    #[test]
    fn formula_like_text_stays_literal() {
        let mut f = finding(1);
        f.title = Some(r#"=HYPERLINK("http://x","y")"#.into());
        f.package = "+cmd".into();
        f.status = Some("@SUM(A1)".into());
        f.fixed_version = Some("-1".into());
        f.references = vec!["=1+1".into()];
        let files = unzip(&render_snapshot(&snapshot_of(vec![f])));
        for (name, xml) in &files {
            assert!(
                !xml.contains("<f>") && !xml.contains("<f "),
                "{name} holds a formula"
            );
        }
        let findings = &files["xl/worksheets/sheet2.xml"];
        for text in [
            r#"=HYPERLINK("http://x","y")"#,
            "+cmd",
            "@SUM(A1)",
            "-1",
            "=1+1",
        ] {
            let cell = format!(r#"t="inlineStr"><is><t>{text}</t></is>"#);
            assert!(findings.contains(&cell), "{text} is not an inline string");
        }
    }

    #[test]
    fn same_snapshot_same_bytes() {
        let snap = snapshot_of((0..50).map(finding).collect());
        let first = render_snapshot(&snap);
        assert!(first == render_snapshot(&snap), "two renders differ");
        let core = &unzip(&first)["docProps/core.xml"];
        assert!(
            core.contains(">2024-12-29T10:30:00Z</dcterms:created>"),
            "creation time is not the snapshot's: {core}"
        );

        let mut later = snap.clone();
        later.generated_at = datetime!(2025-01-02 08:00:00 UTC);
        let core = &unzip(&render_snapshot(&later))["docProps/core.xml"];
        assert!(core.contains(">2025-01-02T08:00:00Z</dcterms:created>"));
    }

    #[test]
    fn every_sheet_is_there_even_when_empty() {
        let files = unzip(&render_snapshot(&snapshot_of(Vec::new())));
        assert_eq!(
            sheet_names_of(&files),
            ["Summary", "Findings", "Components", "VEX", "Verdicts"]
        );
        // Only the header row, filtered and frozen under it.
        let findings = &files["xl/worksheets/sheet2.xml"];
        assert!(
            findings.contains(r#"<autoFilter ref="A1:V1"/>"#),
            "{findings}"
        );
        assert!(findings.contains(r#"topLeftCell="A2""#));
        assert!(!findings.contains(r#"<row r="2""#));
        // The Verdicts sheet still has the scan's decision.
        assert!(files["xl/worksheets/sheet5.xml"].contains(r#"<autoFilter ref="A1:I2"/>"#));
    }

    #[test]
    fn long_tables_continue_on_numbered_sheets() {
        let snap = snapshot_of((0..5).map(finding).collect());
        let mut wb = build(&ReportView::new(&snap), 2).expect("build");
        let files = unzip(&wb.save_to_buffer().expect("save"));
        assert_eq!(
            sheet_names_of(&files),
            [
                "Summary",
                "Findings",
                "Findings (2)",
                "Findings (3)",
                "Components",
                "VEX",
                "Verdicts",
                "Verdicts (2)",
                "Verdicts (3)",
            ]
        );
        for (sheet, filter) in [(2, "A1:V3"), (3, "A1:V3"), (4, "A1:V2"), (9, "A1:I3")] {
            let xml = &files[&format!("xl/worksheets/sheet{sheet}.xml")];
            assert!(
                xml.contains(&format!(r#"<autoFilter ref="{filter}"/>"#)),
                "sheet{sheet}: {xml}"
            );
        }
        let summary = &files["xl/worksheets/sheet1.xml"];
        assert!(summary.contains(
            "Findings has 5 rows, more than one Excel sheet holds: it continues on Findings (2), Findings (3)"
        ));
        assert!(summary.contains("Verdicts has 6 rows"));
    }

    #[test]
    fn only_web_urls_within_limits_become_links() {
        let refs = [
            "https://nvd.nist.gov/vuln/detail/CVE-2024-1".to_string(),
            "ftp://example.com/x".into(),
            format!("https://example.com/{}", "a".repeat(300)),
            "HTTPS://EXAMPLE.COM".into(),
        ];
        let findings = refs
            .iter()
            .enumerate()
            .map(|(i, r)| Finding {
                references: vec![r.clone(), "https://second.example".into()],
                ..finding(i)
            })
            .collect();
        let files = unzip(&render_snapshot(&snapshot_of(findings)));
        let sheet = &files["xl/worksheets/sheet2.xml"];
        assert_eq!(sheet.matches("<hyperlink ").count(), 1);
        for r in &refs {
            assert!(sheet.contains(&format!("<t>{r}</t>")), "{r} not shown");
        }
        let rels = &files["xl/worksheets/_rels/sheet2.xml.rels"];
        assert!(rels.contains(r#"Target="https://nvd.nist.gov/vuln/detail/CVE-2024-1""#));
        assert!(!rels.contains("second.example"));
    }

    #[test]
    fn hyperlinks_stop_at_excels_limit() {
        let snap = snapshot_of((0..MAX_LINKS_PER_SHEET + 2).map(finding).collect());
        let files = unzip(&render_snapshot(&snap));
        let sheet = &files["xl/worksheets/sheet2.xml"];
        assert_eq!(sheet.matches("<hyperlink ").count(), MAX_LINKS_PER_SHEET);
        let last = MAX_LINKS_PER_SHEET + 1;
        assert!(sheet.contains(&format!(
            "<t>https://nvd.nist.gov/vuln/detail/CVE-2024-{last:05}</t>"
        )));
    }

    #[test]
    fn text_is_cut_to_excels_cell_limit() {
        assert_eq!(fit("short"), "short");
        let exact = "x".repeat(MAX_CELL_LEN);
        assert_eq!(fit(&exact), exact);
        // An emoji is two UTF-16 units: the cut counts units, not bytes or chars.
        let long = "😀".repeat(MAX_CELL_LEN);
        let cut = fit(&long);
        assert!(cut.ends_with('…'));
        assert!(cut.encode_utf16().count() <= MAX_CELL_LEN);
        assert_eq!(cut.chars().count(), (MAX_CELL_LEN - 1) / 2 + 1);
    }

    #[test]
    fn headers_are_the_csv_columns() {
        let names = |t: &Table| t.columns.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        // The CSV's `references` is split into the linked first one and the rest.
        assert_eq!(names(&FINDINGS)[..20], FINDINGS_HEADER[..20]);
        assert_eq!(names(&FINDINGS)[20..], ["reference", "more_references"]);
        assert_eq!(names(&COMPONENTS), COMPONENTS_HEADER);
        assert_eq!(names(&VEX), VEX_HEADER);
    }
}
