#!/usr/bin/env bash
# Property-test bench (issue 12): every parser the API reaches — each ingest format, the
# export request, the schedule request (and cron expression), the template upload, the
# small query/header inputs, the bearer token — run on PROPTEST_CASES generated hostile
# inputs each (default 100,000) in a release build. Prints cases run, panics and other
# failures per parser, and the totals; exits non-zero if any parser failed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-100000}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
echo "==> property tests, $PROPTEST_CASES cases per parser (release build)"
set +e
cargo test --release --locked -p ec-ingest -p ec-domain -p ec-pipeline -p ec-api --test props \
  -- --nocapture --test-threads 2 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
echo
printf '%-28s %10s %8s %9s %9s\n' parser cases panics failures seconds
grep -o 'props [^ ]*: [0-9]* cases, [0-9]* panics, [0-9]* failures ([0-9.]* s)' "$log" |
  awk '{ gsub(/[:(]/, ""); printf "%-28s %10s %8s %9s %9s\n", $2, $3, $5, $7, $9;
         c += $3; p += $5; f += $7 }
       END { printf "%-28s %10d %8d %9d\n", "total", c, p, f }'
exit "$status"
