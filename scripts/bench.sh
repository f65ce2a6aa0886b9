#!/usr/bin/env bash
# The benchmark command (README, "Benchmarks"): installs what the comparisons need
# (Debian's chromium, Python XlsxWriter in .venv-bench), builds exportctl in release mode and
# prints every figure with its ratio to the target. Not part of the test command.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium > /dev/null; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -q > /dev/null
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends chromium > /dev/null
fi
if [ ! -x .venv-bench/bin/python ]; then
  python3 -m venv .venv-bench
fi
.venv-bench/bin/pip install --quiet --disable-pip-version-check XlsxWriter==3.2.9 openpyxl==3.1.5

cargo build --release --locked -p exportctl
exec target/release/exportctl bench --python .venv-bench/bin/python "$@"
