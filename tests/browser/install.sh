#!/usr/bin/env bash
# Installs the browser test's one npm dependency, playwright-core, from the committed lock file
# (npm ci) when tests/browser/node_modules is missing or older than the lock file. No browser is
# downloaded: the test drives Debian's Chromium (scripts/bootstrap.sh installs it).
set -euo pipefail
cd "$(dirname "$0")"
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1

# npm ci leaves node_modules/.package-lock.json behind; newer than the lock file = up to date.
if [ -f node_modules/.package-lock.json ] && [ node_modules/.package-lock.json -nt package-lock.json ] &&
   [ -f node_modules/playwright-core/package.json ]; then
  exit 0
fi
if ! command -v npm > /dev/null; then
  echo "tests/browser/install.sh: npm not found; run scripts/bootstrap.sh (Debian packages nodejs, npm)" >&2
  exit 1
fi
echo "tests/browser/install.sh: npm ci in $(pwd)"
npm ci --no-audit --no-fund
