#!/usr/bin/env bash
# The test command (README, .ci/run): installs what the tests need, starts what they use,
# and runs every test. Safe to run repeatedly on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

echo "==> Debian packages: qpdf (qpdf --check), poppler-utils (pdftotext, pdffonts, pdfinfo), chromium (the Console's browser tests)"
if ! command -v qpdf > /dev/null || ! command -v pdftotext > /dev/null || ! command -v chromium > /dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q > /dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    qpdf poppler-utils chromium > /dev/null
fi
export EC_CHROMIUM="$(command -v chromium)"

echo "==> Python validators (virtualenv .venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt \
  -r tests/python/requirements-aws.txt
export EC_PYTHON="$root/.venv/bin/python"
# cargo-lambda and moto_server come from the virtualenv.
export PATH="$root/.venv/bin:$PATH"

echo "==> npm packages (tests/node: SARIF Multitool, CSAF validator library, playwright-core, axe-core)"
# Exact versions from the committed lock file; reinstalled only when the lock file changed.
# Debian's nodejs and npm (apt) run them; the tests find them through EC_NODE_MODULES.
if ! command -v npm > /dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q > /dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends \
    nodejs npm > /dev/null
fi
stamp=tests/node/node_modules/.exportcenter-lock
if ! cmp -s tests/node/package-lock.json "$stamp"; then
  npm ci --prefix tests/node --no-audit --no-fund --loglevel=error > /dev/null
  # The Multitool's own install script does this; an npm that skips install scripts would not.
  chmod u+x tests/node/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool
  cp tests/node/package-lock.json "$stamp"
fi
export EC_NODE_MODULES="$root/tests/node/node_modules"

echo "==> cfn-lint infra/template.yaml"
cfn-lint infra/template.yaml

echo "==> moto_server (AWS emulator) on loopback"
moto_port=$(.venv/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# The recorder (delivery_s3.rs reads what an STS request carried) writes outside the tree.
MOTO_RECORDER_FILEPATH="$(mktemp "${TMPDIR:-/tmp}/exportcenter-moto-recording.XXXXXX")" \
  moto_server -H 127.0.0.1 -p "$moto_port" > "${TMPDIR:-/tmp}/exportcenter-moto.log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$moto_port/moto-api/" > /dev/null 2>&1 && break
  sleep 0.2
done
export EC_MOTO_ENDPOINT="http://127.0.0.1:$moto_port"

echo "==> cargo fmt --check"
cargo fmt --all -- --check

# CI builds once from clean: incremental caches would only cost disk (gigabytes across the
# test binaries) and time. A developer can still set CARGO_INCREMENTAL=1.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

echo "==> cargo build --workspace --all-targets"
# One build with the test build's features: the end-to-end tests run target/debug/exportctl,
# and cargo lambda watch (tests/tests/lambda_local.rs) finds export-api already built
# (shared/workspace-hack keeps a function built alone on the same features).
cargo build --locked --workspace --all-targets
export EXPORTCTL_BIN="${CARGO_TARGET_DIR:-$root/target}/debug/exportctl"

echo "==> cargo test"
log=$(mktemp)
trap 'rm -f "$log"; cleanup' EXIT
set +e
cargo test --locked --workspace --no-fail-fast 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run (cargo prints one per test binary).
# No token, secret or presigned signature anywhere in what the run printed (the servers the
# tests start log to this output): JWTs, our presigned signatures, S3's, the tests' secrets.
leaks=$(grep -nE 'eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}|[?&]sig=[A-Za-z0-9_-]{16,}|X-Amz-Signature=[0-9a-f]{16,}|test-secret-0123456789' "$log" || true)
if [ -n "$leaks" ]; then
  echo "a token, secret or presigned signature reached the output of the test run:" >&2
  echo "$leaks" | cut -c1-160 >&2
  status=1
fi
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($i ~ /^passed;?$/) p += $(i-1); if ($i ~ /^failed;?$/) f += $(i-1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$log"
exit "$status"
