#!/usr/bin/env python3
"""Checks a SARIF log of ExportCenter for GitHub Code Scanning.

Usage: check_sarif.py [--limits-only] FILE...

* validates against the SARIF 2.1.0 JSON Schema (tests/schemas/sarif-schema-2.1.0.json,
  formats checked) with jsonschema;
* applies GitHub's upload limits and the rules it relies on: at most 20 runs, 25,000
  results per run and 10 MB gzipped; distinct automationDetails.id per run; every result
  names a rule of its run by ruleId and ruleIndex, has a message, a level, one relative
  artifact location with startLine >= 1 and a partial fingerprint; every rule has short and
  full descriptions, help text and markdown, a numeric `security-severity` string in
  [0, 10] (none for a negligible or unknown rule) and at most 20 tags including "security"; suppressions are external and accepted
  with a justification; a truncated run says so in its properties and notifications.

--limits-only skips the JSON Schema, for very large synthetic files whose structure smaller
files already cover. Prints one JSON line of counts per file (with its path); exits 1 if
any file fails, after listing its problems.
"""

import functools
import gzip
import json
import os
import re
import sys
from urllib.parse import urlsplit

import jsonschema
from jsonschema.validators import validator_for

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
SCHEMA = os.path.join(ROOT, "tests", "schemas", "sarif-schema-2.1.0.json")
MAX_RUNS = 20
MAX_RESULTS = 25_000
MAX_GZIP = 10 * 1024 * 1024
MAX_TAGS = 20
LEVELS = {"error", "warning", "note"}
HEX64 = re.compile(r"^[0-9a-f]{64}$")


@functools.cache
def schema_validator():
    with open(SCHEMA, "rb") as f:
        schema = json.load(f)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def schema_errors(doc):
    validator = schema_validator()
    return [
        "schema at $" + "".join(f"[{p!r}]" for p in e.absolute_path) + f": {e.message}"
        for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    ]


def check(raw, schema=True):
    doc = json.loads(raw)
    problems = schema_errors(doc)[:50] if schema else []
    counts = {
        "runs": 0,
        "results": 0,
        "rules": 0,
        "suppressed": 0,
        "levels": {},
        "omitted_results": 0,
        "gzip_bytes": len(gzip.compress(raw)),
    }

    def bad(where, msg):
        problems.append(f"{where}: {msg}")

    if doc.get("version") != "2.1.0":
        bad("$.version", "must be 2.1.0")
    if counts["gzip_bytes"] > MAX_GZIP:
        bad("$", f"{counts['gzip_bytes']} bytes gzipped, over GitHub's 10 MB")
    runs = doc.get("runs") or []
    counts["runs"] = len(runs)
    if not 1 <= len(runs) <= MAX_RUNS:
        bad("$.runs", f"{len(runs)} runs; GitHub takes 1 to {MAX_RUNS}")
    automation_ids = set()
    for r, run in enumerate(runs):
        at = f"$.runs[{r}]"
        driver = run.get("tool", {}).get("driver", {})
        if driver.get("name") != "ExportCenter" or not driver.get("version") or not driver.get("informationUri"):
            bad(f"{at}.tool.driver", "needs name ExportCenter, version and informationUri")
        auto = (run.get("automationDetails") or {}).get("id")
        if not auto:
            bad(f"{at}.automationDetails.id", "missing")
        elif auto in automation_ids:
            bad(f"{at}.automationDetails.id", f"{auto!r} repeats another run's")
        automation_ids.add(auto)
        rules = driver.get("rules") or []
        counts["rules"] += len(rules)
        rule_ids = [x.get("id") for x in rules]
        if len(set(rule_ids)) != len(rule_ids):
            bad(f"{at}.tool.driver.rules", "rule ids repeat")
        for i, rule in enumerate(rules):
            rat = f"{at}.tool.driver.rules[{i}]"
            for key in ("shortDescription", "fullDescription"):
                if not (rule.get(key) or {}).get("text"):
                    bad(rat, f"{key}.text missing")
            help_ = rule.get("help") or {}
            if not help_.get("text") or not help_.get("markdown"):
                bad(rat, "help needs text and markdown")
            props = rule.get("properties") or {}
            sev = props.get("security-severity")
            tags = props.get("tags") or []
            # Negligible and unknown severities have no band: GitHub reads the level.
            unrated = len(tags) > 1 and tags[1] in ("negligible", "unknown")
            try:
                ok = (sev is None and unrated) or (
                    isinstance(sev, str) and 0.0 <= float(sev) <= 10.0)
            except ValueError:
                ok = False
            if not ok:
                bad(rat, f"security-severity {sev!r} is not a numeric string in [0, 10]")
            if "security" not in tags or len(tags) > MAX_TAGS:
                bad(rat, f"tags {tags!r}: need 'security', at most {MAX_TAGS}")
        results = run.get("results")
        if results is None:
            bad(f"{at}.results", "missing")
            results = []
        if len(results) > MAX_RESULTS:
            bad(f"{at}.results", f"{len(results)} results; GitHub takes {MAX_RESULTS} per run")
        counts["results"] += len(results)
        for i, res in enumerate(results):
            rat = f"{at}.results[{i}]"
            idx = res.get("ruleIndex")
            if not isinstance(idx, int) or not 0 <= idx < len(rules) or rule_ids[idx] != res.get("ruleId"):
                bad(rat, f"ruleId {res.get('ruleId')!r} / ruleIndex {idx!r} do not name a rule of the run")
            level = res.get("level")
            if level not in LEVELS:
                bad(rat, f"level {level!r}")
            counts["levels"][level] = counts["levels"].get(level, 0) + 1
            if not (res.get("message") or {}).get("text"):
                bad(rat, "message.text missing")
            locs = res.get("locations") or []
            if len(locs) != 1:
                bad(rat, f"{len(locs)} locations; expected 1")
            for loc in locs:
                phys = loc.get("physicalLocation") or {}
                uri = (phys.get("artifactLocation") or {}).get("uri", "")
                parts = urlsplit(uri)
                if not uri or parts.scheme or parts.netloc or uri.startswith("/") or " " in uri:
                    bad(rat, f"artifact uri {uri!r} is not a relative URI reference")
                if (phys.get("region") or {}).get("startLine", 0) < 1:
                    bad(rat, "region.startLine must be >= 1")
            fp = (res.get("partialFingerprints") or {}).get("exportcenter/v1", "")
            if not HEX64.match(fp):
                bad(rat, f"partialFingerprints['exportcenter/v1'] {fp!r}")
            sups = res.get("suppressions") or []
            if sups:
                counts["suppressed"] += 1
            for s in sups:
                if s.get("kind") != "external" or s.get("status") != "accepted" or not s.get("justification"):
                    bad(rat, f"suppression {s!r} must be external, accepted, justified")
        truncated = (run.get("properties") or {}).get("exportcenter.truncated")
        if truncated:
            counts["omitted_results"] += int(truncated.get("omitted_results", 0))
            notes = [
                n
                for inv in run.get("invocations") or []
                for n in inv.get("toolExecutionNotifications") or []
            ]
            if not truncated.get("reason") or not notes:
                bad(at, "truncated without a reason and a toolExecutionNotification")
    return problems, counts


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    schema = argv[1] != "--limits-only"
    failed = False
    for path in argv[1 if schema else 2 :]:
        with open(path, "rb") as f:
            problems, counts = check(f.read(), schema)
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
