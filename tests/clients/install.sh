#!/usr/bin/env bash
# Install the real agent clients that the end-to-end tests drive, each pinned in
# its own folder here (package.json + package-lock.json), from the npm registry.
# npm's install scripts may be gated, so each client's native-binary step is run
# explicitly. Idempotent: a client whose binary answers --version is skipped.
# Usage: bash tests/clients/install.sh [FOLDER...]   (default: every folder here)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
command -v node >/dev/null || { echo "clients: node (>= 20) is required" >&2; exit 1; }

if [ $# -eq 0 ]; then
  set --
  for d in "$here"/*/; do [ -f "$d/package.json" ] && set -- "$@" "$(basename "$d")"; done
fi

for name in "$@"; do
  dir="$here/$name"
  [ -f "$dir/package.json" ] || { echo "clients: no $dir/package.json" >&2; exit 1; }
  bin="$dir/node_modules/.bin/claude"
  case "$name" in
    claude-code-*)
      if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then continue; fi
      echo "clients: installing $name" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
      (cd "$dir" && node node_modules/@anthropic-ai/claude-code/install.cjs >/dev/null)
      "$bin" --version >/dev/null
      ;;
    *)
      if [ -d "$dir/node_modules" ]; then continue; fi
      echo "clients: installing $name" >&2
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
      ;;
  esac
done
