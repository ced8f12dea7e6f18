#!/usr/bin/env bash
# The calibration rig as two machines on this one: the same stack as
# rig/run.sh, split where real deployments split it.
#
#   front  CPU 0, the root network namespace: HAProxy (one thread), two
#          Nginx (one worker each) and the load generator.
#   back   CPU 1, its own network namespace joined to the front by a veth
#          pair (10.77.0.1 <-> 10.77.0.2): gunicorn (4 sync workers) with
#          the app traced by the OpenTelemetry Python SDK (app_otel.py,
#          OTLP JSON lines to traces.jsonl), and MariaDB.
#
#   rig/multi.sh [OUT_DIR]          (default rig/out-multi)
#
# Environment: LEVELS (requests/s, default "100 200 300 400 500 600 700 800
# 900 1000"), SECONDS_PER_LEVEL (30), WRITE_SHARE (0.2), TRACEPARENT (0; 1:
# the load generator sends each request a W3C `traceparent`, as a traced
# caller would; HAProxy captures it into its log's %hr, Nginx logs
# $http_traceparent, and the app's SQL carries it in a comment
# (sqlcommenter), which the slow log keeps: every record of a request
# carries its trace id). Needs root (ip netns) and two CPUs.
#
# Writes: haproxy.log, web1-access.log, web2-access.log (with $request_id,
# which Nginx also sends upstream as X-Request-ID), slow.log, traces.jsonl,
# front.csv and back.csv (CPU counters, one file per machine), the configs
# and ladder.txt. Servers listen on loopback or the veth pair only; every
# process is stopped by its recorded PID and the namespace deleted, from a
# trap, on success and on failure. Not run by CI.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here/out-multi}" && cd "${1:-$here/out-multi}" && pwd)
levels=${LEVELS:-"100 200 300 400 500 600 700 800 900 1000"}
per_level=${SECONDS_PER_LEVEL:-30}
write_share=${WRITE_SHARE:-0.2}
traceparent=${TRACEPARENT:-0}
nginx_tail=""
haproxy_capture=""
if [[ $traceparent == 1 ]]; then
    nginx_tail=' $http_traceparent'
    haproxy_capture='    capture request header traceparent len 64'
fi
ns=stacksim-back-$$
front_ip=10.77.0.1
back_ip=10.77.0.2

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
command -v mariadbd >/dev/null || need+=(mariadb-server)
command -v ip >/dev/null || need+=(iproute2)
if ((${#need[@]})); then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
fi
venv=${RIG_VENV:-$here/.venv}
if [[ ! -x $venv/bin/gunicorn ]]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q gunicorn pymysql opentelemetry-sdk \
        opentelemetry-instrumentation-wsgi opentelemetry-instrumentation-pymysql
fi
cargo build -q --release --manifest-path "$here/loadgen/Cargo.toml"
loadgen="$here/loadgen/target/release/stacksim-rig-loadgen"

tmp=$(mktemp -d /tmp/stacksim-rig.XXXXXX)
pids=()
cleanup() {
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    ip netns del "$ns" 2>/dev/null || true
    ip link del ssrig-f0 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() { # [netns] host:port
    local run=()
    if (($# == 2)); then run=(ip netns exec "$1"); shift; fi
    for _ in $(seq 100); do
        "${run[@]}" bash -c "exec 3<>/dev/tcp/${1%:*}/${1#*:}" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "rig: nothing listens on $1" >&2
    return 1
}

rm -f "$out"/*.log "$out"/*.csv "$out"/*.cfg "$out"/*.conf "$out"/*.jsonl "$out/ladder.txt"

# The back machine's network: its own namespace, a veth pair to the front.
ip netns add "$ns"
ip link add ssrig-f0 type veth peer name ssrig-b0
ip link set ssrig-b0 netns "$ns"
ip addr add "$front_ip/30" dev ssrig-f0
ip link set ssrig-f0 up
ip netns exec "$ns" ip addr add "$back_ip/30" dev ssrig-b0
ip netns exec "$ns" ip link set ssrig-b0 up
ip netns exec "$ns" ip link set lo up
# exec: a background call's $! is the server itself, so the trap stops it.
back() { exec ip netns exec "$ns" taskset -c 1 "$@"; }
front() { exec taskset -c 0 "$@"; }

# MariaDB on the back machine, its socket and loopback port there.
sock="$tmp/mysql.sock"
mariadb-install-db --no-defaults --datadir="$tmp/db" --user=root \
    --auth-root-authentication-method=normal >"$tmp/install-db.log" 2>&1
back mariadbd --no-defaults --datadir="$tmp/db" --socket="$sock" --port=33061 \
    --bind-address=127.0.0.1 --user=root --skip-name-resolve \
    --innodb-buffer-pool-size=128M --max-connections=200 \
    --log-error="$tmp/mariadb.err" --pid-file="$tmp/mariadb.pid" &
pids+=($!)
db_pid=$!
wait_port "$ns" 127.0.0.1:33061
mariadb --no-defaults --socket="$sock" -uroot <<SQL
CREATE DATABASE rig;
USE rig;
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(64), price DECIMAL(10,2));
CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, item INT, note VARCHAR(32),
                     at TIMESTAMP DEFAULT CURRENT_TIMESTAMP);
INSERT INTO items (id, name, price)
  SELECT seq, CONCAT('item-', seq), seq * 0.25 FROM seq_1_to_10000;
SET GLOBAL long_query_time = 0;
SET GLOBAL slow_query_log_file = '$out/slow.log';
SET GLOBAL slow_query_log = 1;
SQL

# gunicorn on the back machine, listening on the veth address; the app
# traced, its spans to traces.jsonl.
cat >"$out/gunicorn.conf.py" <<EOF
workers = 4
worker_class = "sync"
backlog = 2048
bind = "$back_ip:8001"
EOF
cat "$here/gunicorn_otel.conf.py" >>"$out/gunicorn.conf.py"
RIG_SQLCOMMENTER="$traceparent" RIG_DB_SOCKET="$sock" RIG_TRACES="$out/traces.jsonl" RIG_HOST=back PYTHONPATH="$here" \
    back "$venv/bin/gunicorn" -c "$out/gunicorn.conf.py" --chdir "$here" app_otel:application \
    --error-logfile "$tmp/gunicorn.err" &
pids+=($!)
app_pid=$!
wait_port "$ns" "$back_ip:8001"

# Two Nginx on the front machine, upstream across the veth pair, each
# request's id logged and sent upstream.
for i in 1 2; do
    mkdir -p "$tmp/web$i"
    cat >"$tmp/web$i/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $tmp/web$i/nginx.pid;
error_log $tmp/web$i/error.log warn;
events { worker_connections 1024; }
http {
    log_format rig '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_time \$upstream_response_time \$msec \$upstream_connect_time \$upstream_header_time \$request_id$nginx_tail';
    access_log $out/web$i-access.log rig;
    client_body_temp_path $tmp/web$i/body;
    proxy_temp_path $tmp/web$i/proxy;
    fastcgi_temp_path $tmp/web$i/fastcgi;
    uwsgi_temp_path $tmp/web$i/uwsgi;
    scgi_temp_path $tmp/web$i/scgi;
    upstream app {
        server $back_ip:8001;
    }
    server {
        listen 127.0.0.1:808$i;
        keepalive_requests 10000;
        location / {
            proxy_set_header X-Request-ID \$request_id;
            proxy_pass http://app;
        }
    }
}
EOF
    front nginx -p "$tmp/web$i" -c "$tmp/web$i/nginx.conf" &
    pids+=($!)
    eval "web${i}_pid=$!"
    wait_port "127.0.0.1:808$i"
done

# HAProxy on the front machine: one thread (one core), the default httplog.
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
$haproxy_capture
    default_backend web
backend web
    balance roundrobin
    server web1 127.0.0.1:8081 maxconn 512
    server web2 127.0.0.1:8082 maxconn 512
EOF
front haproxy -db -f "$tmp/haproxy.cfg" >"$out/haproxy.log" 2>"$tmp/haproxy.err" &
pids+=($!)
lb_pid=$!
wait_port 127.0.0.1:8080
cp "$tmp/haproxy.cfg" "$out/haproxy.cfg"
cp "$tmp/web1/nginx.conf" "$out/web1-nginx.conf"

# The ladder from the front machine's core (its CPU is the front's).
(
    sleep 2
    {
        echo "# rig ladder (two machines: front CPU 0, back CPU 1 in its own network namespace): $(date -u +%FT%TZ), ${per_level}s per level, write share $write_share"
        echo "# latency from the intended send time; achieved = successful completions / level length"
    } >"$out/ladder.txt"
    seed=1
    for rate in $levels; do
        max=$(python3 -c "print(int($rate * $per_level * 2 + 100))")
        start=$(date +%s.%N)
        line=$(front "$loadgen" --rate "$rate" --duration "$per_level" --max-requests "$max" \
            --connections 128 --write-share "$write_share" --seed "$seed" --drain 10 \
            --traceparent "$traceparent" \
            --out "$tmp/requests-$rate.csv")
        stop=$(date +%s.%N)
        echo "start=$start stop=$stop $line" | tee -a "$out/ladder.txt"
        seed=$((seed + 1))
        sleep 3
    done
) &
ladder_pid=$!
pids+=($ladder_pid)
python3 "$here/cpu_sampler.py" "$out/front.csv" 1 \
    "lb=$lb_pid" "web1=$web1_pid" "web2=$web2_pid" "loadgen=$ladder_pid" &
pids+=($!)
python3 "$here/cpu_sampler.py" "$out/back.csv" 1 "app=$app_pid" "db=$db_pid" &
pids+=($!)
wait "$ladder_pid"
mariadb --no-defaults --socket="$sock" -uroot -e 'SET GLOBAL slow_query_log = 0; FLUSH SLOW LOGS;'
# Stop gunicorn first, so that its workers flush their last spans.
kill "$app_pid"
for _ in $(seq 100); do kill -0 "$app_pid" 2>/dev/null || break; sleep 0.1; done
echo "rig: logs, traces and counters in $out"
