#!/usr/bin/env python3
"""Validates an OpenAPI document (2.0, 3.0, 3.1) with openapi-spec-validator.

Usage: validate_openapi.py FILE

Prints `OK <file>` or every error found; exits 1 on failure.
"""

import json
import sys

from openapi_spec_validator.readers import read_from_filename
from openapi_spec_validator.shortcuts import get_validator_cls
from jsonschema_path import SchemaPath

MAX_ERRORS = 50


def resolve(spec, pointer):
    node = spec
    for part in pointer.lstrip("/").split("/") if pointer else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return False
    return True


def dangling_refs(spec):
    """Local `$ref`s (`#/...`) that point nowhere, with where they occur."""
    out = []

    def walk(node, where):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#") and not resolve(spec, ref[1:]):
                out.append(("/".join(where) or "/", ref))
            for k, v in node.items():
                walk(v, where + [str(k)])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, where + [str(i)])

    walk(spec, [])
    return out


def main(argv):
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    path = argv[1]
    try:
        if path.endswith(".json"):
            # Strict JSON (no YAML leniency): the file is served as application/json.
            with open(path, "rb") as f:
                spec = json.loads(f.read().decode("utf-8"))
        else:
            spec, _ = read_from_filename(path)
    except (OSError, ValueError) as e:
        print(f"FAIL {path}: cannot read: {e}")
        return 1
    try:
        cls = get_validator_cls(spec)
    except Exception as e:  # noqa: BLE001 - any detection failure is a failed document
        print(f"FAIL {path}: not an OpenAPI document: {e!r}")
        return 1
    errors = [f"unresolvable $ref {r!r} at {where}" for where, r in dangling_refs(spec)]
    validator = cls(SchemaPath.from_dict(spec))
    try:
        errors.extend(validator.iter_errors())
    except Exception as e:  # noqa: BLE001 - the validator gives up on broken references
        errors.append(f"validation stopped: {type(e).__name__}: {e}")
    if not errors:
        print(f"OK {path}")
        return 0
    print(f"FAIL {path}: {len(errors)} error(s)")
    for e in errors[:MAX_ERRORS]:
        where = "/".join(str(p) for p in getattr(e, "absolute_path", []) or [])
        print(f"  {('at ' + where + ': ') if where else ''}{getattr(e, 'message', e)}")
    if len(errors) > MAX_ERRORS:
        print(f"  ... and {len(errors) - MAX_ERRORS} more")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
