#!/usr/bin/env bash
# The scheduler experiment of README.md: short bursts from a process that
# sleeps between them, beside long bursts from another, both pinned to one
# CPU, on this machine's kernel. Prints each process's response times.
# Bounded: 40 s per configuration, two configurations. Needs gcc.
#   bash tests/data/sched/run.sh [CPU]      (default CPU 1)
set -euo pipefail
cd "$(dirname "$0")"
cpu=${1:-1}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
gcc -O2 -o "$tmp/burst" burst.c -lm
summary() { # NAME FILE
  python3 - "$1" "$2" <<'PY'
import sys
name, path = sys.argv[1:]
rows = [tuple(map(int, l.split())) for l in open(path)]
r = sorted(x[1] / 1e6 for x in rows)
w = sum(x[2] for x in rows) / len(rows) / 1e6
q = lambda p: r[min(len(r) - 1, int(p * len(r)))]
print(f"{name:<22} jobs {len(r):>7,}  work {w:.3f} ms  response mean {sum(r)/len(r):.3f}  p50 {q(0.5):.3f}  p99 {q(0.99):.3f} ms")
PY
}
echo "kernel $(uname -r), CPU $cpu"
# Short bursts alone: the wake-up and timer overhead of this machine.
taskset -c "$cpu" "$tmp/burst" 2000 100 40 5 1 > "$tmp/alone.txt"
summary "short, alone" "$tmp/alone.txt"
# Short (0.1 ms, 2,000/s: rho 0.2) beside long (2 ms, 250/s: rho 0.5).
taskset -c "$cpu" "$tmp/burst" 2000 100 40 5 1 > "$tmp/short.txt" &
short=$!
taskset -c "$cpu" "$tmp/burst" 250 2000 40 5 2 > "$tmp/long.txt"
wait "$short"
summary "short, beside long" "$tmp/short.txt"
summary "long, beside short" "$tmp/long.txt"
