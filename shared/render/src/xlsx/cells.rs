//! Cells: what one holds and how it is written. Table fields are typed cells (numbers,
//! booleans, times, severities on their colour); text is an inline string, never a formula,
//! cut to Excel's cell limit; a web reference becomes a hyperlink while Excel can take one.

use std::borrow::Cow;

use rust_xlsxwriter::{Color, ExcelDateTime, Format as CellFormat, Worksheet, XlsxError};

use ec_domain::scan::Severity;

use crate::common::columns::Field;

/// Excel's limit of hyperlinks in one sheet; further links are written as text.
pub(super) const MAX_LINKS_PER_SHEET: usize = 65_530;
/// Longer URLs are written as text: Excel cannot follow a longer hyperlink.
const MAX_LINK_LEN: usize = 255;
/// Excel's limit of characters in a cell (UTF-16 units); longer text is cut, ending in `…`.
pub(super) const MAX_CELL_LEN: usize = 32_767;

/// One cell's content and how it is written.
pub(super) enum Cell<'a> {
    /// A table field (empty text leaves the cell blank).
    Field(Field<'a>),
    /// Bold text: headers.
    Label(&'a str),
    Number(f64),
    /// A hyperlink when Excel can take one, else text.
    Link(&'a str),
}

/// A field, or what one is made from (text, optional text), is a cell holding the field.
impl<'a, T: Into<Field<'a>>> From<T> for Cell<'a> {
    fn from(f: T) -> Self {
        Cell::Field(f.into())
    }
}

pub(super) fn count<'a>(n: usize) -> Cell<'a> {
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

pub(super) struct Styles {
    bold: CellFormat,
    score: CellFormat,
    time: CellFormat,
    /// In the order of `Severity::ALL`.
    severity: Vec<CellFormat>,
}

impl Styles {
    pub(super) fn new() -> Styles {
        Styles {
            bold: CellFormat::new().set_bold(),
            score: CellFormat::new().set_num_format("0.0"),
            time: CellFormat::new().set_num_format(r#"yyyy-mm-dd"T"hh:mm:ss"Z""#),
            severity: Severity::ALL
                .iter()
                .map(|&s| {
                    let (fill, font) = severity_colours(s);
                    CellFormat::new()
                        .set_background_color(Color::RGB(fill))
                        .set_font_color(Color::RGB(font))
                })
                .collect(),
        }
    }

    fn severity(&self, s: Severity) -> &CellFormat {
        // `Severity::ALL` lists the variants in declaration order, one style each.
        self.severity.get(s as usize).unwrap_or(&self.bold)
    }
}

/// Cuts text to fit a cell, marking the cut with `…`.
pub(super) fn fit(s: &str) -> Cow<'_, str> {
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

pub(super) fn write_cell(
    ws: &mut Worksheet,
    st: &Styles,
    row: u32,
    col: u16,
    cell: &Cell<'_>,
    links: &mut usize,
) -> Result<(), XlsxError> {
    match cell {
        Cell::Field(Field::Text(s)) => {
            ws.write_string(row, col, fit(s))?;
        }
        // No score or time: a blank cell, as empty text gives.
        Cell::Field(Field::Score(None) | Field::Number(None) | Field::Time(None)) => {
            ws.write_string(row, col, fit(""))?;
        }
        Cell::Label(s) => {
            ws.write_string_with_format(row, col, fit(s), &st.bold)?;
        }
        Cell::Number(n) => {
            ws.write_number(row, col, *n)?;
        }
        Cell::Field(Field::Score(Some(n))) => {
            ws.write_number_with_format(row, col, *n, &st.score)?;
        }
        Cell::Field(Field::Number(Some(n))) => {
            ws.write_number(row, col, *n)?;
        }
        Cell::Field(Field::Bool(b)) => {
            ws.write_boolean(row, col, *b)?;
        }
        Cell::Field(Field::Severity(s)) => {
            ws.write_string_with_format(row, col, s.as_str(), st.severity(*s))?;
        }
        Cell::Field(Field::Time(Some(t))) => {
            match ExcelDateTime::from_timestamp(t.unix_timestamp()) {
                Ok(dt) => {
                    ws.write_datetime_with_format(row, col, &dt, &st.time)?;
                }
                // Outside Excel's years 1900-9999: the text still says when.
                Err(_) => {
                    ws.write_string(row, col, ec_domain::time::rfc3339(*t))?;
                }
            }
        }
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
