#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 cluster on loopback for the store tests
# and prints the URL to export as SCLERAD_TEST_POSTGRES_URL.
#
#   eval "$(scripts/test-postgres.sh start)"   # sets SCLERAD_TEST_POSTGRES_URL
#   scripts/test-postgres.sh stop
#
# Environment: PGTEST_DIR (default /tmp/sclerad-pgtest), PGTEST_PORT (55432),
# PGTEST_FSYNC (off: tests need no durability; set "on" for benchmarks).
# PostgreSQL refuses to run as root, so as root the cluster is run as the
# `postgres` user. Installs Debian's postgresql package if no server exists.
set -euo pipefail

DIR="${PGTEST_DIR:-/tmp/sclerad-pgtest}"
PORT="${PGTEST_PORT:-55432}"
FSYNC="${PGTEST_FSYNC:-off}"

find_bin() {
    for d in /usr/lib/postgresql/*/bin; do
        if [ -x "$d/pg_ctl" ]; then echo "$d"; return 0; fi
    done
    return 1
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
    echo "[test-postgres] no PostgreSQL server found; installing Debian's postgresql" >&2
    apt-get install -y postgresql >&2
    BIN="$(find_bin)"
fi

as_owner() {
    if [ "$(id -u)" = 0 ]; then
        su postgres -s /bin/sh -c "$(printf '%q ' "$@")"
    else
        "$@"
    fi
}

case "${1:-start}" in
start)
    if [ ! -f "$DIR/PG_VERSION" ]; then
        mkdir -p "$DIR"
        [ "$(id -u)" = 0 ] && chown postgres:postgres "$DIR"
        as_owner "$BIN/initdb" -D "$DIR" -U postgres --auth=trust --no-sync >/dev/null
    fi
    if ! as_owner "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
        as_owner "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
            -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=$FSYNC -c max_connections=300" \
            start >/dev/null
    fi
    echo "export SCLERAD_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
stop)
    as_owner "$BIN/pg_ctl" -D "$DIR" -m fast stop >/dev/null 2>&1 || true
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
