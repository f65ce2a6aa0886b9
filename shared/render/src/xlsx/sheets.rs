//! Sheets written row by row (constant-memory sheets cannot go back), and data tables over
//! them: a bold header with frozen panes under it, fixed column widths and an autofilter
//! over the rows; a table longer than a sheet continues on `Name (2)`, `Name (3)`, ...

use rust_xlsxwriter::{Workbook, XlsxError};

use super::cells::{Cell, Styles, write_cell};
use crate::common::columns::Column;

/// A data sheet: its name and its columns, in groups (the shared table's, then any the
/// XLSX adds).
pub(super) struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static [Column]],
}

impl Table {
    fn columns(&self) -> impl Iterator<Item = &'static Column> {
        self.columns.iter().flat_map(|group| group.iter())
    }
}

/// A sheet being written row by row (a constant-memory sheet cannot go back).
pub(super) struct Sheet {
    index: usize,
    /// The next row to write.
    row: u32,
    links: usize,
}

impl Sheet {
    pub(super) fn open(wb: &mut Workbook, name: &str, widths: &[f64]) -> Result<Sheet, XlsxError> {
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

    pub(super) fn write<'c>(
        &mut self,
        wb: &mut Workbook,
        st: &Styles,
        cells: impl IntoIterator<Item = Cell<'c>>,
    ) -> Result<(), XlsxError> {
        let ws = wb.worksheet_from_index(self.index)?;
        for (col, cell) in (0u16..).zip(cells) {
            write_cell(ws, st, self.row, col, &cell, &mut self.links)?;
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
pub(super) fn sheet_names(table: &Table, rows: usize, rows_per_sheet: u32) -> Vec<String> {
    let parts = rows.div_ceil(rows_per_sheet as usize).max(1);
    (0..parts).map(|p| sheet_name(table.name, p)).collect()
}

/// Writes a table's rows, opening a continuation sheet whenever one is full.
pub(super) struct TableWriter<'w> {
    wb: &'w mut Workbook,
    st: &'w Styles,
    table: &'static Table,
    rows_per_sheet: u32,
    part: usize,
    sheet: Sheet,
}

impl<'w> TableWriter<'w> {
    pub(super) fn new(
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
        let widths: Vec<f64> = table.columns().map(|c| c.width).collect();
        let mut sheet = Sheet::open(wb, &sheet_name(table.name, part), &widths)?;
        sheet.write(wb, st, table.columns().map(|c| Cell::Label(c.name)))?;
        Ok(sheet)
    }

    pub(super) fn row<'c>(
        &mut self,
        cells: impl IntoIterator<Item = Cell<'c>>,
    ) -> Result<(), XlsxError> {
        // Row 0 is the header, so a full sheet's next row is past the limit.
        if self.sheet.row > self.rows_per_sheet {
            self.close()?;
            self.part += 1;
            self.sheet = Self::open(self.wb, self.st, self.table, self.part)?;
        }
        self.sheet.write(self.wb, self.st, cells)
    }

    /// Puts the autofilter over the header and the rows written.
    pub(super) fn close(&mut self) -> Result<(), XlsxError> {
        let last_col = self.table.columns().count().saturating_sub(1) as u16;
        let last_row = self.sheet.row - 1;
        self.wb
            .worksheet_from_index(self.sheet.index)?
            .autofilter(0, 0, last_row, last_col)?;
        Ok(())
    }
}
