#!/usr/bin/env python3
"""Checks a CycloneDX JSON BOM of ExportCenter.

Usage: check_cyclonedx.py FILE...

* validates it with cyclonedx-python-lib's JsonStrictValidator for CycloneDX 1.5 (the
  official 1.5 JSON Schema with its SPDX license and JSF schemas; date-time formats
  checked); every `url` is a URI reference by rfc3986-validator (the schema's
  iri-reference format, whose checker in jsonschema's extras takes 0.15 s per URL);
* specVersion is 1.5; bom-refs are unique across metadata.component, its nested
  components and the components; every dependency ref, dependsOn entry and vulnerability
  affects ref names one of them.

Prints one JSON line of counts per file (with its path); exits 1 if any file fails,
after listing its problems.
"""

import json
import sys

from cyclonedx.schema import SchemaVersion
from rfc3986_validator import validate_rfc3986
from cyclonedx.validation.json import JsonStrictValidator


def walk(components):
    for c in components or []:
        yield c
        yield from walk(c.get("components"))


VALIDATOR = JsonStrictValidator(SchemaVersion.V1_5)


def urls(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "url" and isinstance(value, str):
                yield value
            else:
                yield from urls(value)
    elif isinstance(node, list):
        for item in node:
            yield from urls(item)


def check(text):
    problems = []
    errors = VALIDATOR.validate_str(text, all_errors=True)
    if errors is not None:
        problems.extend(f"schema: {e}" for e in list(errors)[:50])
    bom = json.loads(text)
    if bom.get("specVersion") != "1.5":
        problems.append(f"specVersion {bom.get('specVersion')!r}, expected 1.5")
    for url in urls(bom):
        if not validate_rfc3986(url, rule="URI_reference"):
            problems.append(f"url {url!r} is not a URI reference")
    meta = bom.get("metadata") or {}
    listed = list(walk([meta["component"]] if meta.get("component") else []))
    listed += list(walk(bom.get("components")))
    refs = [c.get("bom-ref") for c in listed if c.get("bom-ref")]
    if len(refs) != len(set(refs)):
        problems.append("bom-refs repeat")
    known = set(refs)
    deps = bom.get("dependencies") or []
    for d in deps:
        for r in [d.get("ref")] + list(d.get("dependsOn") or []):
            if r not in known:
                problems.append(f"dependency ref {r!r} names no component")
    vulns = bom.get("vulnerabilities") or []
    affects = 0
    for v in vulns:
        for a in v.get("affects") or []:
            affects += 1
            if a.get("ref") not in known:
                problems.append(f"{v.get('id')}: affects ref {a.get('ref')!r} names no component")
    counts = {
        "components": len(bom.get("components") or []),
        "dependencies": len(deps),
        "vulnerabilities": len(vulns),
        "vulnerability_ids": len({v.get("id") for v in vulns}),
        "affects": affects,
        "analyses": sum(1 for v in vulns if v.get("analysis")),
        "artifacts": len(list(walk([meta["component"]]))) if meta.get("component") else 0,
    }
    return problems, counts


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    failed = False
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            problems, counts = check(f.read())
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
