#!/usr/bin/env bash
# Starts or stops a throw-away PostgreSQL server for tests.
#   scripts/pg.sh start   -> prints "export HOVIYAT_PG_DSN=..." on stdout
#   scripts/pg.sh stop
# The cluster lives in $HOVIYAT_PG_DIR (default /tmp/hoviyat-pg-$UID) and
# listens on 127.0.0.1:$HOVIYAT_PG_PORT (default 55432).
set -euo pipefail

dir=${HOVIYAT_PG_DIR:-/tmp/hoviyat-pg-$(id -u)}
port=${HOVIYAT_PG_PORT:-55432}
bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [ -z "$bindir" ]; then
  echo "pg.sh: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
  exit 1
fi

# initdb refuses to run as root: run the server as the postgres user then.
run() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

case "${1:-}" in
start)
  if [ -f "$dir/data/postmaster.pid" ] && run "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
    :
  else
    rm -rf "$dir"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
    run "$bindir/initdb" -D "$dir/data" -U hoviyat --auth=trust -E UTF8 --no-locale >"$dir/../hoviyat-pg-initdb-$(id -u).log" 2>&1 || {
      cat "$dir/../hoviyat-pg-initdb-$(id -u).log" >&2; exit 1; }
    run "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >&2
    run "$bindir/createdb" -h 127.0.0.1 -p "$port" -U hoviyat hoviyat >&2
  fi
  echo "export HOVIYAT_PG_DSN='postgres://hoviyat@127.0.0.1:$port/hoviyat?sslmode=disable'"
  ;;
stop)
  if [ -d "$dir/data" ]; then
    run "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >&2 || true
    rm -rf "$dir"
  fi
  ;;
restart)
  run "$bindir/pg_ctl" -D "$dir/data" -m immediate -w restart -l "$dir/server.log" \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2
  ;;
*)
  echo "usage: $0 start|stop|restart" >&2
  exit 2
  ;;
esac
