#!/usr/bin/env bash
# The whole test suite: formatting, lints, Rust unit and end-to-end tests
# (real broker, MCP and CLI processes; bounded proptest fuzzing included), the
# end-to-end suite a second time on PostgreSQL, and the dashboard in a real
# headless Chromium. `.ci/run` runs exactly this.
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
# The end-to-end suite again with every broker on PostgreSQL (a throwaway
# cluster; each test gets a fresh database). Two tests are SQLite's own and
# skipped here: they open or damage the SQLite file itself.
echo "== cargo test on PostgreSQL" >&2
pgdir=$(mktemp -d)
chmod 755 "$pgdir"
trap 'bash scripts/pg-cluster.sh stop "$pgdir/cluster"; rm -rf "$pgdir"' EXIT
pg_url=$(bash scripts/pg-cluster.sh start "$pgdir/cluster")
CLAUDE_PEERS_TEST_PG=$pg_url cargo test -p claude-peers --tests -- \
  --skip a_damaged_database_is_found \
  --skip broker_sigkill_mid_stream_loses_nothing_and_duplicates_nothing
# The store's own test of pipelined (deferred) statements, on PostgreSQL too.
CLAUDE_PEERS_TEST_PG=$pg_url cargo test -p claude-peers-broker --test store_pipeline
if [ -f tests/browser/run.sh ]; then
  echo "== browser tests" >&2
  bash tests/browser/run.sh
fi
