#!/usr/bin/env bash
# Debian packages the tests need: Chromium for the desktop's browser tests (playwright-core
# drives /usr/bin/chromium; it never downloads a browser of its own). Used by both
# scripts/setup.sh (the README's install command) and .ci/run, so a fresh machine gets
# the same things either way. Installs as root, or through sudo when it needs no password;
# otherwise it says what to run and goes on (`npm test` then fails the browser tests
# with the same hint).
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
if [ "$(id -u)" = 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "note: the browser tests need Debian's Chromium: run 'sudo apt-get install -y chromium'" >&2
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "note: no apt-get here: install Chromium at /usr/bin/chromium for the browser tests" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get install -y chromium || {
  "${SUDO[@]}" apt-get update && "${SUDO[@]}" apt-get install -y chromium
}
