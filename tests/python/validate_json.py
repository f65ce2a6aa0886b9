#!/usr/bin/env python3
"""Validates JSON files against a JSON Schema.

Usage: validate_json.py SCHEMA FILE... [--refs SCHEMA...]

Schemas after `--refs` are what SCHEMA's `$ref`s name by URL (CSAF 2.0's FIRST CVSS
schemas): each is registered under its `$id` and under that URL without its query, so
nothing is fetched from the network.

The draft comes from the schema's `$schema` (Draft 2020-12 when absent). Formats are
checked (date-time needs rfc3339-validator, see requirements.txt; its absence is an error,
not a silent pass). Prints `OK <file>` or every error of the file; exits 1 on any failure.
"""

import json
import sys

import jsonschema
from jsonschema.validators import validator_for
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

MAX_ERRORS = 50


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def location(error):
    return "$" + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
    )


def main(argv):
    if len(argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema_path, files = argv[1], argv[2:]
    refs = []
    if "--refs" in files:
        at = files.index("--refs")
        files, refs = files[:at], files[at + 1 :]
    try:
        schema = load(schema_path)
        cls = validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        registry = Registry()
        for ref_path in refs:
            ref = load(ref_path)
            resource = Resource.from_contents(ref, default_specification=DRAFT7)
            uri = ref.get("$id", ref_path)
            registry = registry.with_resources([(uri, resource), (uri.split("?")[0], resource)])
    except (OSError, ValueError, jsonschema.SchemaError) as e:
        print(f"FAIL {schema_path}: not a usable schema: {e}", file=sys.stderr)
        return 1
    checker = cls.FORMAT_CHECKER
    if "date-time" not in checker.checkers:
        print(
            "FAIL: the date-time format checker is unavailable; install rfc3339-validator "
            "(tests/python/requirements.txt)",
            file=sys.stderr,
        )
        return 1
    validator = cls(schema, format_checker=checker, registry=registry)

    failed = False
    for path in files:
        try:
            doc = load(path)
        except (OSError, ValueError) as e:
            print(f"FAIL {path}: cannot read JSON: {e}")
            failed = True
            continue
        errors = sorted(
            validator.iter_errors(doc), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if not errors:
            print(f"OK {path}")
            continue
        failed = True
        print(f"FAIL {path}: {len(errors)} error(s) against {schema_path}")
        for e in errors[:MAX_ERRORS]:
            print(f"  at {location(e)}: {e.message}")
        if len(errors) > MAX_ERRORS:
            print(f"  ... and {len(errors) - MAX_ERRORS} more")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
