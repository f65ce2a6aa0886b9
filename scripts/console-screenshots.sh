#!/usr/bin/env bash
# Remakes the Console screenshots in docs/console (export list, new-export form, an export's
# page) by running the Console's browser test with EC_CONSOLE_SCREENSHOTS set. Run it after
# the README's test command has installed tests/node and chromium; the test run itself
# never writes them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/console
EC_NODE_MODULES="$PWD/tests/node/node_modules" EC_CHROMIUM="$(command -v chromium)" \
  EC_CONSOLE_SCREENSHOTS="$PWD/docs/console" \
  cargo test -p ec-tests --test console -- --nocapture > /dev/null
ls -l docs/console/*.png
