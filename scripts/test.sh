#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, starts what they use,
# and runs every test. Safe to run repeatedly on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

echo "==> Python validators (virtualenv .venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
export EC_PYTHON="$root/.venv/bin/python"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

echo "==> build exportctl (the end-to-end tests run the binary)"
cargo build --locked -p exportctl
export EXPORTCTL_BIN="$root/target/debug/exportctl"

echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --locked --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo prints one per test binary).
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
