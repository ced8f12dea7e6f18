#!/usr/bin/env bash
# `run --openmetrics` read by the real promtool (Debian's prometheus
# package): the export of the reference run becomes a TSDB block with every
# sample and series the file holds, and the values promtool dumps are the
# file's. Installs Debian's prometheus when promtool is missing (as root).
# About 10 s.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. tests/need.sh
need "the OpenMetrics test" promtool -- prometheus
cargo build --release --locked --quiet
bin="$root/${CARGO_TARGET_DIR:-target}/release/stacksim"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" run scenarios/primary-failover.toml --duration 60s --warmup 5s --replications 2 \
  --quiet --no-charts --out "$tmp/run" --openmetrics "$tmp/run.om" --openmetrics-start 1796000000 >/dev/null
promtool tsdb create-blocks-from openmetrics "$tmp/run.om" "$tmp/tsdb" >/dev/null
mkdir -p "$tmp/tsdb/wal"
promtool tsdb list "$tmp/tsdb" > "$tmp/list.txt"
promtool tsdb dump "$tmp/tsdb" > "$tmp/dump.txt"
python3 - "$tmp/run.om" "$tmp/list.txt" "$tmp/dump.txt" <<'PY'
import re, sys
om, listing, dump = (open(p).read() for p in sys.argv[1:4])
samples = [l for l in om.splitlines() if l and not l.startswith("#")]
assert om.rstrip().endswith("# EOF"), "no # EOF"
series = {l.rsplit(" ", 2)[0] for l in samples}
row = listing.strip().splitlines()[-1].split()
num_samples, num_series = int(row[-4]), int(row[-2])
assert num_samples == len(samples), (num_samples, len(samples))
assert num_series == len(series), (num_series, len(series))
# Every value promtool holds is the file's, at the file's time (ms).
want = {}
for l in samples:
    head, v, t = l.rsplit(" ", 2)
    name, labels = head.split("{", 1)
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels))
    labels["__name__"] = name
    want[(tuple(sorted(labels.items())), int(round(float(t) * 1000)))] = float(v)
got = 0
for l in dump.splitlines():
    head, v, t = l.rsplit(" ", 2)
    labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', head))
    k = (tuple(sorted(labels.items())), int(t))
    assert k in want, ("not in the file", l)
    assert abs(want[k] - float(v)) <= 1e-12 * max(1.0, abs(want[k])), (l, want[k])
    got += 1
assert got == len(samples), (got, len(samples))
print(f"ok: {len(samples)} samples in {len(series)} series read back by promtool")
PY
