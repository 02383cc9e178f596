#!/usr/bin/env bash
# Run the dashboard's browser tests: system Chromium (installed with apt-get
# when missing, with an emoji font), playwright-core from the lock file, a
# debug build of the broker, then `node --test`.
# Env: CLAUDE_PEERS_BIN (default target/debug/claude-peers), CHROMIUM
# (default /usr/bin/chromium), UPDATE_DOCS=1 to refresh docs/screenshots/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"

need=()
[ -x "$chromium" ] || need+=(chromium)
if command -v fc-list >/dev/null && ! fc-list | grep -qi "color emoji"; then need+=(fonts-noto-color-emoji); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "browser tests: installing ${need[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v node >/dev/null || { echo "browser tests: node (>= 20) is required" >&2; exit 1; }

cd "$here"
[ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund

cd "$root"
if [ -z "${CLAUDE_PEERS_BIN:-}" ]; then
  cargo build -p claude-peers
fi
cd "$here"
# Arguments: test files to run (default: all of them).
if [ $# -eq 0 ]; then set -- .; fi
exec node --test --test-concurrency=1 "$@"
