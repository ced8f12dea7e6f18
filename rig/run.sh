#!/usr/bin/env bash
# The calibration rig: a real HAProxy -> 2 Nginx -> gunicorn -> MariaDB stack
# on loopback, driven by an open-loop Poisson ladder, with every log kind
# `stacksim calibrate` reads and per-process CPU counters.
#
#   rig/run.sh [OUT_DIR]          (default rig/out)
#
# Environment: LEVELS (requests/s, default "100 200 400 600 800 1000 1200"),
# SECONDS_PER_LEVEL (default 30), WRITE_SHARE (default 0.2).
#
# Every server listens on 127.0.0.1 only. Load is bounded per level in time
# and count. Every process the rig starts is stopped by the PID it recorded,
# from a trap, on success and on failure. Not run by CI: it installs system
# packages and takes several minutes.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=$(mkdir -p "${1:-$here/out}" && cd "${1:-$here/out}" && pwd)
levels=${LEVELS:-"100 200 400 600 800 1000 1200"}
per_level=${SECONDS_PER_LEVEL:-30}
write_share=${WRITE_SHARE:-0.2}

need=()
command -v haproxy >/dev/null || need+=(haproxy)
command -v nginx >/dev/null || need+=(nginx-light)
command -v mariadbd >/dev/null || need+=(mariadb-server)
command -v gunicorn >/dev/null || need+=(gunicorn)
/usr/bin/python3 -c 'import pymysql' 2>/dev/null || need+=(python3-pymysql)
if ((${#need[@]})); then
    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
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
        for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() { # host:port
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/${1%:*}/${1#*:}") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "rig: nothing listens on $1" >&2
    return 1
}

rm -f "$out"/*.log "$out"/*.csv "$out"/*.cfg "$out"/*.conf "$out/ladder.txt"

# MariaDB: its own data folder, socket and loopback port.
sock="$tmp/mysql.sock"
mariadb-install-db --no-defaults --datadir="$tmp/db" --user=root \
    --auth-root-authentication-method=normal >"$tmp/install-db.log" 2>&1
mariadbd --no-defaults --datadir="$tmp/db" --socket="$sock" --port=33061 \
    --bind-address=127.0.0.1 --user=root --skip-name-resolve \
    --innodb-buffer-pool-size=128M --max-connections=200 \
    --log-error="$tmp/mariadb.err" --pid-file="$tmp/mariadb.pid" &
pids+=($!)
db_pid=$!
wait_port 127.0.0.1:33061
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
# (the slow log starts after set-up, so it holds only the rig's traffic)

# gunicorn: 4 sync workers (a process per request).
RIG_DB_SOCKET="$sock" gunicorn --workers 4 --worker-class sync --backlog 2048 \
    --bind 127.0.0.1:8001 --chdir "$here" app:application \
    --error-logfile "$tmp/gunicorn.err" &
pids+=($!)
app_pid=$!
wait_port 127.0.0.1:8001

# Two Nginx instances, one worker each. The second upstream is a port where
# nothing listens: Nginx marks it failed for 10 s at a time, so the log holds
# real "a, b" upstream times from retries.
for i in 1 2; do
    mkdir -p "$tmp/web$i"
    cat >"$tmp/web$i/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $tmp/web$i/nginx.pid;
error_log $tmp/web$i/error.log warn;
events { worker_connections 1024; }
http {
    log_format rig '\$remote_addr - \$remote_user [\$time_local] "\$request" \$status \$body_bytes_sent "\$http_referer" "\$http_user_agent" \$request_time \$upstream_response_time \$msec \$upstream_connect_time \$upstream_header_time';
    access_log $out/web$i-access.log rig;
    client_body_temp_path $tmp/web$i/body;
    proxy_temp_path $tmp/web$i/proxy;
    fastcgi_temp_path $tmp/web$i/fastcgi;
    uwsgi_temp_path $tmp/web$i/uwsgi;
    scgi_temp_path $tmp/web$i/scgi;
    upstream app {
        server 127.0.0.1:8001;
        server 127.0.0.1:8009;
    }
    server {
        listen 127.0.0.1:808$i;
        keepalive_requests 10000;
        location / { proxy_pass http://app; }
    }
}
EOF
    nginx -p "$tmp/web$i" -c "$tmp/web$i/nginx.conf" &
    pids+=($!)
    eval "web${i}_pid=$!"
    wait_port "127.0.0.1:808$i"
done

# HAProxy: 2 threads, the default httplog format, raw on stdout and with a
# syslog (RFC 3164) header on stderr, where its own warnings also go.
cat >"$tmp/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn 4096
    log stdout format raw local0
    log stderr format rfc3164 local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:8080
    default_backend web
backend web
    balance roundrobin
    server web1 127.0.0.1:8081 maxconn 512
    server web2 127.0.0.1:8082 maxconn 512
EOF
haproxy -db -f "$tmp/haproxy.cfg" >"$out/haproxy.log" 2>"$out/haproxy-syslog.log" &
pids+=($!)
lb_pid=$!
wait_port 127.0.0.1:8080
# The configs beside the logs: `stacksim calibrate --haproxy-config/--nginx-config`.
cp "$tmp/haproxy.cfg" "$out/haproxy.cfg"
cp "$tmp/web1/nginx.conf" "$out/web1-nginx.conf"
cp "$tmp/web2/nginx.conf" "$out/web2-nginx.conf"

# The ladder runs in a subshell so that the load generator's CPU is counted
# too (as the subshell's reaped children): it shares the machine's cores.
(
    sleep 2
    {
        echo "# rig ladder: $(date -u +%FT%TZ), $(nproc) cores, ${per_level}s per level, write share $write_share"
        echo "# latency from the intended send time; achieved = successful completions / level length"
    } >"$out/ladder.txt"
    seed=1
    for rate in $levels; do
        max=$(python3 -c "print(int($rate * $per_level * 2 + 100))")
        start=$(date +%s.%N)
        line=$("$loadgen" --rate "$rate" --duration "$per_level" --max-requests "$max" \
            --connections 128 --write-share "$write_share" --seed "$seed" --drain 10 \
            --out "$out/requests-$rate.csv")
        stop=$(date +%s.%N)
        echo "start=$start stop=$stop $line" | tee -a "$out/ladder.txt"
        seed=$((seed + 1))
        sleep 3
    done
) &
ladder_pid=$!
pids+=($ladder_pid)
python3 "$here/cpu_sampler.py" "$out/cpu.csv" 1 \
    "lb=$lb_pid" "web1=$web1_pid" "web2=$web2_pid" "app=$app_pid" "db=$db_pid" \
    "loadgen=$ladder_pid" &
pids+=($!)
wait "$ladder_pid"
# Flush the slow log before MariaDB is stopped.
mariadb --no-defaults --socket="$sock" -uroot -e 'SET GLOBAL slow_query_log = 0; FLUSH SLOW LOGS;'
echo "rig: logs and counters in $out"
