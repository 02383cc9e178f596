#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit and end-to-end tests
# (real broker, MCP and CLI processes; bounded proptest fuzzing included), and
# the dashboard in a real headless Chromium. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check" >&2
cargo fmt --all --check
echo "== cargo clippy" >&2
cargo clippy --workspace --all-targets -- -D warnings
echo "== real agent clients (npm, pinned)" >&2
bash tests/clients/install.sh
echo "== cargo test" >&2
cargo test --workspace
if [ -f tests/browser/run.sh ]; then
  echo "== browser tests" >&2
  bash tests/browser/run.sh
fi
