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
  # Each client: its command, and the step npm's (gated) install script would run.
  case "$name" in
    claude-code-*) cmd=claude;   post="node node_modules/@anthropic-ai/claude-code/install.cjs" ;;
    codex-*)       cmd=codex;    post="" ;;   # native package listed explicitly in package.json
    gemini-cli-*)  cmd=gemini;   post="" ;;   # plain JavaScript
    opencode-*)    cmd=opencode; post="node node_modules/opencode-ai/postinstall.mjs" ;;
    *) echo "clients: do not know how to install $name" >&2; exit 1 ;;
  esac
  bin="$dir/node_modules/.bin/$cmd"
  if [ -x "$bin" ] && HOME="$(mktemp -d)" "$bin" --version >/dev/null 2>&1; then continue; fi
  echo "clients: installing $name" >&2
  case "$name" in
    # opencode-ai's published optionalDependencies do not round-trip through its
    # lock file (`npm ci` reports them missing); package.json pins both exact
    # versions, so a plain install with the lock is just as fixed.
    opencode-*) (cd "$dir" && npm install --no-save --no-audit --no-fund --ignore-scripts --loglevel=error) ;;
    *) (cd "$dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error) ;;
  esac
  if [ -n "$post" ]; then (cd "$dir" && $post >/dev/null); fi
  HOME="$(mktemp -d)" "$bin" --version >/dev/null
done
