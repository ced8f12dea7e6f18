#!/usr/bin/env bash
# Turns one run of rig/multi.sh into the committed fixture under
# tests/data/rig-multi/: the logs gzipped whole (gzip -n, so the bytes do
# not depend on when they were made), the traces cut to the export batches
# (whole lines) whose every span ended before UNTIL (Unix seconds: the
# calibration range; a whole run's traces are some 300 MB), each machine's
# CPU counters, the configs and the ladder. Nothing is edited: every line is
# a line the stack wrote.
#
#   rig/make-multi-fixture.sh rig/out-multi UNTIL [DEST] [LOGS_UNTIL]
#
# With LOGS_UNTIL (Unix seconds), the logs too end there (rig/cut_logs.py:
# each cut before its first record stamped at or after it, whole lines).
set -euo pipefail
src=$1
until=$2
here=$(cd "$(dirname "$0")" && pwd)
dst=${3:-$here/../tests/data/rig-multi}
logs_until=${4:-}
mkdir -p "$dst"
for f in haproxy.log web1-access.log web2-access.log slow.log; do
    if [[ -n $logs_until ]]; then
        python3 "$here/cut_logs.py" "$src/$f" "$logs_until" | gzip -n -9 >"$dst/$f.gz"
    else
        gzip -n -9 -c "$src/$f" >"$dst/$f.gz"
    fi
done
python3 - "$src/traces.jsonl" "$until" <<'PY' | gzip -n -9 >"$dst/traces.jsonl.gz"
import json, sys
cut = int(sys.argv[2]) * 10**9
for line in open(sys.argv[1]):
    ends = [int(s["endTimeUnixNano"]) for rs in json.loads(line)["resourceSpans"]
            for ss in rs["scopeSpans"] for s in ss["spans"]]
    if ends and max(ends) < cut:
        sys.stdout.write(line)
PY
cp "$src/front.csv" "$src/back.csv" "$src/haproxy.cfg" "$src/web1-nginx.conf" \
    "$src/gunicorn.conf.py" "$src/ladder.txt" "$dst/"
du -ch "$dst"/* | tail -n 1
