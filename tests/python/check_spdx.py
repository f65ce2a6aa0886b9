#!/usr/bin/env python3
"""Checks an SPDX JSON document of ExportCenter.

Usage: check_spdx.py FILE...

* reads it with spdx-tools (pyspdxtools' library) and runs validate_full_spdx_document as
  SPDX-2.3; the document must declare SPDX-2.3;
* validates it against the SPDX 2.3 JSON Schema (tests/schemas/spdx-2.3-schema.json);
* every relationship names an element of the document.

Prints one JSON line of counts per file (with its path); exits 1 if any file fails,
after listing its problems.
"""

import functools
import json
import os
import sys

from jsonschema.validators import validator_for
from spdx_tools.spdx.parser.parse_anything import parse_file
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCHEMA = os.path.join(ROOT, "tests", "schemas", "spdx-2.3-schema.json")


@functools.cache
def schema_validator():
    with open(SCHEMA, encoding="utf-8") as f:
        schema = json.load(f)
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def check(path):
    problems = []
    document = parse_file(path)
    version = document.creation_info.spdx_version
    if version != "SPDX-2.3":
        problems.append(f"spdxVersion {version!r}, expected SPDX-2.3")
    problems.extend(
        f"spdx-tools: {m.validation_message} ({m.context.spdx_id or m.context.element_type})"
        for m in validate_full_spdx_document(document, "SPDX-2.3")[:50]
    )
    with open(path, encoding="utf-8") as f:
        doc = json.load(f)
    problems.extend(f"schema: {e.message}" for e in list(schema_validator().iter_errors(doc))[:50])

    ids = {p["SPDXID"] for p in doc.get("packages", [])} | {doc.get("SPDXID")}
    rels = doc.get("relationships", [])
    for r in rels:
        for key in ("spdxElementId", "relatedSpdxElement"):
            if r.get(key) not in ids:
                problems.append(f"relationship {key} {r.get(key)!r} names no element")
    kinds = {}
    for r in rels:
        kinds[r["relationshipType"]] = kinds.get(r["relationshipType"], 0) + 1
    refs = [x for p in doc.get("packages", []) for x in p.get("externalRefs", [])]
    counts = {
        "packages": len(doc.get("packages", [])),
        "described": sum(
            1 for r in rels if r["relationshipType"] == "DESCRIBES" and r["spdxElementId"] == "SPDXRef-DOCUMENT"
        ),
        "contains": kinds.get("CONTAINS", 0),
        "depends_on": kinds.get("DEPENDS_ON", 0),
        "advisories": sum(1 for x in refs if x.get("referenceType") == "advisory"),
        "purls": sum(1 for x in refs if x.get("referenceType") == "purl"),
        "spdx_version": version,
    }
    return problems, counts


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = False
    for path in argv[1:]:
        problems, counts = check(path)
        if problems:
            failed = True
            print(f"FAIL {path}: {len(problems)} problem(s)")
            for p in problems[:100]:
                print("  " + p)
            continue
        print(json.dumps({"file": path, **counts}, sort_keys=True))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
