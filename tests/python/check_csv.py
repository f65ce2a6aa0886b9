#!/usr/bin/env python3
"""Checks a CSV report of ExportCenter.

Usage: check_csv.py FILE EXPECTED_ROWS [--kind findings|components|vex]

* parses the file with Python's csv module (RFC 4180: CRLF records, quoted fields);
* the first record must equal one of the fixed headers of csv_headers.json (the one named
  by --kind, else whichever matches);
* every record has the header's column count, and there are EXPECTED_ROWS data records;
* no cell starts with =, +, -, @, tab or CR (formula cells are neutralised with a leading ').

Exits 1 with a message on the first kind of failure found.
"""

import csv
import io
import json
import os
import sys

DANGEROUS = ("=", "+", "-", "@", "\t", "\r")
HEADERS_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csv_headers.json")


def bare_line_feed(text):
    """The 1-based record number of the first LF outside quotes not preceded by CR."""
    in_quotes = False
    record = 1
    prev = ""
    for ch in text:
        if ch == '"':
            in_quotes = not in_quotes
        elif ch == "\n" and not in_quotes:
            if prev != "\r":
                return record
            record += 1
        prev = ch
    return None


def fail(path, msg):
    print(f"FAIL {path}: {msg}")
    return 1


def main(argv):
    args = argv[1:]
    kind = None
    if "--kind" in args:
        i = args.index("--kind")
        if i + 1 >= len(args):
            print(__doc__.strip(), file=sys.stderr)
            return 2
        kind = args[i + 1]
        del args[i : i + 2]
    if len(args) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path, expected_arg = args
    try:
        expected_rows = int(expected_arg)
    except ValueError:
        print(f"EXPECTED_ROWS must be an integer, got {expected_arg!r}", file=sys.stderr)
        return 2
    with open(HEADERS_FILE, encoding="utf-8") as f:
        headers = json.load(f)
    if kind is not None and kind not in headers:
        print(f"unknown --kind {kind!r}; expected one of {', '.join(headers)}", file=sys.stderr)
        return 2

    try:
        with open(path, "rb") as f:
            raw = f.read()
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        return fail(path, f"cannot read as UTF-8: {e}")
    if not text:
        return fail(path, "empty file: even an empty report has its header")
    bare = bare_line_feed(text)
    if bare is not None:
        return fail(path, f"record {bare} does not end with CRLF (RFC 4180)")
    if not text.endswith("\r\n"):
        return fail(path, "the last record does not end with CRLF (RFC 4180)")

    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records = list(reader)
    except csv.Error as e:
        return fail(path, f"not well-formed CSV: {e}")

    header, rows = records[0], records[1:]
    if kind is None:
        kind = next((k for k, h in headers.items() if h == header), None)
        if kind is None:
            return fail(
                path,
                f"header {header!r} is none of the fixed headers ({', '.join(headers)})",
            )
    elif header != headers[kind]:
        return fail(path, f"header {header!r} differs from the {kind} header {headers[kind]!r}")

    width = len(header)
    for n, row in enumerate(rows, start=2):
        if len(row) != width:
            return fail(path, f"record {n} has {len(row)} cells, the header has {width}")
    if len(rows) != expected_rows:
        return fail(path, f"{len(rows)} data rows, expected {expected_rows}")

    for n, row in enumerate(records, start=1):
        for col, cell in zip(header, row):
            if cell.startswith(DANGEROUS):
                return fail(
                    path,
                    f"record {n}, column {col}: cell {cell[:40]!r} starts with a formula "
                    "character and is not neutralised",
                )
    print(f"OK {path} ({kind}, {len(rows)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
