#!/usr/bin/env bash
# Turns one rig run (rig/run.sh OUT) into the committed fixture under
# tests/data/rig/: the logs gzipped (gzip -n, so the bytes do not depend on
# the time they were made), a 300-line sample of the syslog-framed HAProxy
# copy (which also holds HAProxy's own notices), a copy of that sample cut in
# the middle of its last line (a log copied while it was being written), the
# configs, the CPU counters and the load generator's ladder. Nothing is
# edited: every line is a line the stack wrote.
#
#   rig/make-fixture.sh rig/out [tests/data/rig]
set -euo pipefail
src=$1
here=$(cd "$(dirname "$0")" && pwd)
dst=${2:-$here/../tests/data/rig}
mkdir -p "$dst"
for f in haproxy.log web1-access.log web2-access.log slow.log; do
    gzip -n -9 -c "$src/$f" >"$dst/$f.gz"
done
head -n 300 "$src/haproxy-syslog.log" >"$dst/haproxy-syslog-sample.log"
# The sample without its last newline and the second half of that line.
last=$(tail -n 1 "$dst/haproxy-syslog-sample.log" | wc -c)
total=$(wc -c <"$dst/haproxy-syslog-sample.log")
head -c $((total - last / 2)) "$dst/haproxy-syslog-sample.log" >"$dst/haproxy-syslog-cut.log"
cp "$src/cpu.csv" "$src/haproxy.cfg" "$src/web1-nginx.conf" "$src/ladder.txt" "$dst/"
du -ch "$dst"/* | tail -n 1
