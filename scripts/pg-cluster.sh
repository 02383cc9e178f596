#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on 127.0.0.1 and a free port.
#   bash scripts/pg-cluster.sh start DIR   # prints the URL (postgres://postgres@127.0.0.1:PORT/postgres)
#   bash scripts/pg-cluster.sh stop DIR
# PostgreSQL refuses to run as root: as root the cluster belongs to the
# `postgres` user (Debian's package creates it). Trust authentication, no
# durability settings worth keeping: it is deleted after the run.
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?a directory for the cluster}

bin=""
for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && bin=$d; done
if [ -z "$bin" ]; then
  bin=$(dirname "$(command -v initdb)")
fi

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
  else
    "$@"
  fi
}

case $cmd in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 >"$dir/initdb.log" 2>&1
  for _ in 1 2 3 4 5 6 7 8; do
    port=$((20000 + RANDOM % 30000))
    if as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
      -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=400" \
      start >/dev/null 2>&1; then
      echo "postgres://postgres@127.0.0.1:$port/postgres"
      exit 0
    fi
  done
  echo "could not start PostgreSQL; see $dir/server.log" >&2
  exit 1
  ;;
stop)
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
