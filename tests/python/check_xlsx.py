#!/usr/bin/env python3
"""Checks an XLSX report of ExportCenter by reading it back with openpyxl.

Usage: check_xlsx.py FILE EXPECTATIONS_JSON

EXPECTATIONS_JSON names what the report must hold:

    {
      "sheets": ["Summary", "Findings", "Components", "VEX", "Verdicts"],
      "rows": {"Findings": 12, "Components": 40, "VEX": 0, "Verdicts": 13},
      "links": {"Findings": 12},
      "literals": [{"sheet": "Findings", "column": "title", "value": "=1+1"}],
      "summary": {"Export ID": "exp-1", "Findings": 12}
    }

* the workbook has exactly these sheets, in this order;
* every sheet has a bold header row, all of it text, and panes frozen under it;
* each sheet in "rows" has that many data rows (column A filled on each) and an
  autofilter over the header and exactly those rows;
* no cell anywhere is a formula, neither as openpyxl reads it nor in the sheet XML;
* each literal is a text cell with that exact value in the named column;
* each sheet has exactly "links" hyperlinks (0 when not named), all http(s) URLs of at
  most 255 characters in the "reference" column, showing the URL itself;
* severity cells carry their colour, CVSS scores are numbers, "suppressed" is boolean;
* each "summary" field (column A of Summary) has that value in column B.

Exits 1 with a message on the first failure found.
"""

import json
import re
import sys
import zipfile

import openpyxl
from openpyxl.utils import get_column_letter

# Fill colours of severity cells (ARGB, as openpyxl reports them).
SEVERITY_FILLS = {
    "critical": "FF8B0000",
    "high": "FFFF0000",
    "medium": "FFFFA500",
    "low": "FFFFFF00",
    "negligible": "FFD9D9D9",
    "unknown": "FFF2F2F2",
}
FORMULA_ELEMENT = re.compile(rb"<f[ >/]")


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def header_cells(ws):
    """Row 1 up to its last filled cell (a sheet may be wider below its header)."""
    cells = list(ws[1])
    while cells and cells[-1].value is None:
        cells.pop()
    return cells


def header(ws):
    return [c.value for c in header_cells(ws)]


def column_index(ws, name):
    names = header(ws)
    check(name in names, f"sheet {ws.title}: no column {name!r} in {names!r}")
    return names.index(name) + 1


def check_header(ws):
    cells = header_cells(ws)
    check(cells, f"sheet {ws.title}: no header row")
    for c in cells:
        check(
            isinstance(c.value, str) and c.value and c.data_type == "s",
            f"sheet {ws.title}: header cell {c.coordinate} is {c.value!r}",
        )
        check(c.font is not None and c.font.b, f"sheet {ws.title}: header cell {c.coordinate} is not bold")
    check(ws.freeze_panes == "A2", f"sheet {ws.title}: panes frozen at {ws.freeze_panes!r}, expected A2")


def check_rows(ws, rows):
    width = len(header(ws))
    check(ws.max_row == rows + 1, f"sheet {ws.title}: {ws.max_row - 1} data rows, expected {rows}")
    for r in range(2, rows + 2):
        check(ws.cell(r, 1).value not in (None, ""), f"sheet {ws.title}: row {r} has no column A")
    expected = f"A1:{get_column_letter(width)}{rows + 1}"
    check(
        ws.auto_filter.ref == expected,
        f"sheet {ws.title}: autofilter {ws.auto_filter.ref!r}, expected {expected!r}",
    )


def check_no_formulas(path, wb):
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.startswith("xl/worksheets/") and name.endswith(".xml"):
                check(not FORMULA_ELEMENT.search(z.read(name)), f"{name} has a formula element")
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for c in row:
                check(c.data_type != "f", f"sheet {ws.title}: {c.coordinate} is a formula: {c.value!r}")


def check_links(ws, expected):
    links = [c for row in ws.iter_rows() for c in row if c.hyperlink is not None]
    check(len(links) == expected, f"sheet {ws.title}: {len(links)} hyperlinks, expected {expected}")
    if not links:
        return
    ref_col = column_index(ws, "reference")
    for c in links:
        target = c.hyperlink.target
        check(c.column == ref_col, f"sheet {ws.title}: hyperlink outside the reference column at {c.coordinate}")
        check(
            isinstance(target, str) and target.startswith(("http://", "https://")) and len(target) <= 255,
            f"sheet {ws.title}: hyperlink target {target!r} at {c.coordinate}",
        )
        check(c.value == target, f"sheet {ws.title}: {c.coordinate} shows {c.value!r}, links to {target!r}")


def check_typed_columns(ws):
    names = header(ws)
    if "severity" in names:
        col = names.index("severity") + 1
        for r in range(2, ws.max_row + 1):
            c = ws.cell(r, col)
            check(c.value in SEVERITY_FILLS, f"sheet {ws.title}: severity {c.value!r} at {c.coordinate}")
            fill = c.fill
            check(
                fill.fill_type == "solid" and fill.fgColor.rgb == SEVERITY_FILLS[c.value],
                f"sheet {ws.title}: {c.value} at {c.coordinate} has fill {fill.fill_type} {fill.fgColor.rgb}",
            )
    if "cvss_score" in names:
        col = names.index("cvss_score") + 1
        for r in range(2, ws.max_row + 1):
            v = ws.cell(r, col).value
            check(v is None or isinstance(v, (int, float)), f"sheet {ws.title}: cvss_score {v!r} in row {r}")
    if "suppressed" in names:
        col = names.index("suppressed") + 1
        for r in range(2, ws.max_row + 1):
            v = ws.cell(r, col).value
            check(isinstance(v, bool), f"sheet {ws.title}: suppressed {v!r} in row {r}")


def check_literal(wb, lit):
    ws = wb[lit["sheet"]]
    col = column_index(ws, lit["column"])
    for r in range(2, ws.max_row + 1):
        c = ws.cell(r, col)
        if c.value == lit["value"]:
            check(c.data_type == "s", f"sheet {ws.title}: {c.coordinate} {c.value!r} has type {c.data_type}")
            return
    raise Failure(f"sheet {ws.title}: no {lit['column']} cell equal to {lit['value']!r}")


def check_summary(wb, fields):
    ws = wb["Summary"]
    values = {}
    for r in range(2, ws.max_row + 1):
        key = ws.cell(r, 1).value
        if isinstance(key, str) and key not in values:
            values[key] = ws.cell(r, 2).value
    for key, want in fields.items():
        check(key in values, f"Summary: no field {key!r}")
        check(values[key] == want, f"Summary: {key} is {values[key]!r}, expected {want!r}")


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, expect_path = argv[1], argv[2]
    with open(expect_path, encoding="utf-8") as f:
        expect = json.load(f)
    try:
        wb = openpyxl.load_workbook(path)
        check(wb.sheetnames == expect["sheets"], f"sheets {wb.sheetnames!r}, expected {expect['sheets']!r}")
        for ws in wb.worksheets:
            check_header(ws)
            check_links(ws, expect.get("links", {}).get(ws.title, 0))
            check_typed_columns(ws)
        for name, rows in expect.get("rows", {}).items():
            check_rows(wb[name], rows)
        check_no_formulas(path, wb)
        for lit in expect.get("literals", []):
            check_literal(wb, lit)
        check_summary(wb, expect.get("summary", {}))
    except Failure as e:
        print(f"FAIL {path}: {e}")
        return 1
    counts = ", ".join(f"{k} {v}" for k, v in expect.get("rows", {}).items())
    print(f"OK {path} ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
