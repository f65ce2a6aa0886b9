#!/usr/bin/env bash
# Console speed figures (README "Benchmarks"): starts a release `exportctl serve` on a
# temporary data dir, fills it with 25 ready exports (the list's first page), and runs
# tests/node/console_bench.mjs in Debian's chromium. Needs what the test command installs
# (tests/node, chromium). Prints the figures and their ratios to the targets.
set -euo pipefail
cd "$(dirname "$0")/.."
# EXPORTCTL: another build of exportctl (the figures are the browser's; the server's build
# only changes how soon the API answers, which neither figure includes).
bin=${EXPORTCTL:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p exportctl
  bin=target/release/exportctl
fi
dir=$(mktemp -d)
secret=bench-console-secret-0123456789abcdef
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
EXPORTCENTER_JWT_SECRET=$secret EXPORTCENTER_LOG=warn "$bin" serve --addr "127.0.0.1:$port" --data-dir "$dir" &
pid=$!
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
until curl -sf "$base/healthz" > /dev/null; do sleep 0.2; done
token=$(EXPORTCENTER_JWT_SECRET=$secret "$bin" token --tenant acme --scopes "export:read export:write scan:write")
auth=(-H "Authorization: Bearer $token")
scan=$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' \
  --data-binary @"../shared/fixtures/real/trivy/trivy-golden_alpine-310.json" "$base/api/v1/scans" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["scan_id"])')
for i in $(seq 1 25); do
  curl -sf "${auth[@]}" -H 'Content-Type: application/json' \
    -d "{\"type\":\"scan_report\",\"format\":\"json\",\"scope\":{\"scan_ids\":[\"$scan\"]}}" \
    "$base/api/v1/exports" > /dev/null
done
until [ "$(curl -sf "${auth[@]}" "$base/api/v1/exports?status=ready&limit=50" \
  | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))')" -ge 25 ]; do sleep 0.5; done
EC_CHROMIUM="$(command -v chromium)" node tests/node/console_bench.mjs "$base" "$token" "${1:-5}"
