#!/usr/bin/env python3
"""Validates JSON files against one schema of an OpenAPI 3.0 document's components.

Usage: validate_openapi_schema.py OPENAPI SCHEMA_NAME FILE...

E.g. `validate_openapi_schema.py shared/api/openapi.json Job job.json` checks that what the
service serialises is what its OpenAPI description promises (OpenAPI 3.0 dialect: `nullable`,
formats checked). Prints `OK <file>` or the errors; exits 1 on any failure.
"""

import json
import sys

from openapi_schema_validator import OAS30Validator

MAX_ERRORS = 50


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def location(error):
    return "$" + "".join(
        f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path
    )


def main(argv):
    if len(argv) < 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    doc_path, name, files = argv[1], argv[2], argv[3:]
    doc = load(doc_path)
    if name not in doc.get("components", {}).get("schemas", {}):
        print(f"FAIL: {doc_path} has no components.schemas.{name}")
        return 1
    # A root that refers to the named schema and carries the components, so every
    # `#/components/...` reference resolves within it.
    root = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    checker = OAS30Validator.FORMAT_CHECKER
    if "date-time" not in checker.checkers:
        print("FAIL: the date-time format checker is unavailable; install rfc3339-validator")
        return 1
    validator = OAS30Validator(root, format_checker=checker)
    failed = False
    for path in files:
        try:
            instance = load(path)
        except (OSError, ValueError) as e:
            print(f"FAIL {path}: cannot read JSON: {e}")
            failed = True
            continue
        errors = sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])
        if not errors:
            print(f"OK {path} ({name})")
            continue
        failed = True
        print(f"FAIL {path}: {len(errors)} error(s) against {name}")
        for e in errors[:MAX_ERRORS]:
            print(f"  at {location(e)}: {e.message}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
