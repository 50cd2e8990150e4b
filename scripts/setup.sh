#!/usr/bin/env bash
# Install Tapestry from a fresh clone: dependencies, a build, Debian's Chromium for the
# browser tests (scripts/install-system-deps.sh), and Electron's binary when this machine
# can download it (an offline or closed network goes on without it; the node, the
# command line and `tapestry ui` in a browser do not need Electron).
set -euo pipefail
cd "$(dirname "$0")/.."
ELECTRON_SKIP_BINARY_DOWNLOAD=1 npm ci --no-fund --no-audit
bash scripts/install-system-deps.sh
if ! timeout 300 node node_modules/electron/install.js >/dev/null 2>&1; then
  echo "note: Electron's binary could not be downloaded here; 'npm run desktop' needs it," >&2
  echo "      everything else works. Retry later with: node node_modules/electron/install.js" >&2
fi
