#!/usr/bin/env bash
# A real PostgreSQL server log for calibrate's PostgreSQL reader: a
# throwaway cluster on 127.0.0.1 with log_min_duration_statement = 0 (the
# default stderr format and log_line_prefix '%m [%p] '), driven by pgbench
# at a bounded rate for a few seconds in the simple and then the extended
# protocol (parse, bind, execute logged apart). Stopped by its PID.
#
#   rig/pg-log.sh OUT.log
set -euo pipefail
out=$(realpath -m "$1")
command -v pg_ctlcluster >/dev/null || {
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
}
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
dir=$(mktemp -d /tmp/stacksim-pg.XXXXXX)
chown postgres "$dir"
pid=
cleanup() {
    if [[ -n $pid ]]; then
        kill -INT "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$dir"
}
trap cleanup EXIT
as_pg() { su postgres -s /bin/bash -c "$*"; }
as_pg "$bin/initdb -D $dir/data -A trust -U postgres" >/dev/null
as_pg "$bin/postgres -D $dir/data -k $dir -c listen_addresses=127.0.0.1 -c port=54329 \
    -c log_min_duration_statement=0 -c logging_collector=off -c log_line_prefix='%m [%p] ' \
    2>>$dir/server.log" &
for _ in $(seq 100); do [[ -f $dir/data/postmaster.pid ]] && break; sleep 0.1; done
pid=$(head -n 1 "$dir/data/postmaster.pid")
for _ in $(seq 100); do as_pg "$bin/pg_isready -q -h $dir -p 54329" && break; sleep 0.1; done
as_pg "$bin/pgbench -q -i -s 1 -h $dir -p 54329 postgres" >/dev/null 2>&1
: >"$dir/server.log"   # the bench's statements only
as_pg "$bin/pgbench -h $dir -p 54329 -c 2 -T 3 -R 100 -M simple postgres" >/dev/null
as_pg "$bin/pgbench -h $dir -p 54329 -c 2 -T 3 -R 100 -M extended postgres" >/dev/null
cp "$dir/server.log" "$out"
wc -l "$out"
