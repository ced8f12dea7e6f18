#!/usr/bin/env bash
# The shipped Slurm recipe on a real one-node Slurm cluster (started here,
# stopped by PID on exit, also on failure):
#   1. deploy/slurm/sweep.sbatch as an array of 4 with sbatch --wait, then
#      stacksim merge: sweep.csv and sweep.json byte for byte those of the
#      single-machine run;
#   2. an array where one task is killed mid-run and another cancelled
#      before it starts: merge refuses (exit 2), names both, writes nothing;
#      only those indices resubmitted, merge again: the same bytes.
# Installs slurm-wlm and munge when missing. About 40 s on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
source tests/need.sh
source tests/slurm/cluster.sh

cluster_install
cargo build --release --locked --quiet
bin="$root/${CARGO_TARGET_DIR:-target}/release/stacksim"
tmp=$(mktemp -d)
trap 'cluster_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
cluster_start "$tmp/cluster"
echo "cluster up: $(sinfo -h -o '%P %D node(s) %c cpus %t')"

step() { echo "== [$SECONDS s] $*"; }
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
# 12 points; each takes about half a second on one core, so a task can be caught
# with some of its points written and not all.
scenario=scenarios/validation/mmc.toml
flags=(--vary workload.rate=100..375:25 --duration 1h --warmup 10s --replications 3)
submit() { # ARRAY OUT [sbatch flags...]; at most 3 minutes
  local array=$1 out=$2
  shift 2
  STACKSIM="$bin" timeout 180 sbatch --array="$array" --cpus-per-task=1 --output="$tmp/task-%A_%a.out" \
    --chdir="$root" "$@" deploy/slurm/sweep.sbatch "$scenario" 4 "$out" "${flags[@]}"
}
same_as_single() { # RESULT
  for f in sweep.csv sweep.json; do
    cmp "$tmp/single/$f" "$1/$f" || fail "$1/$f differs from the single-machine run"
  done
}

step "the single-machine run"
"$bin" sweep "$scenario" "${flags[@]}" --no-charts --quiet --out "$tmp/single"

step "an array of 4 with sbatch --wait, then merge"
submit 1-4 "$tmp/run1" --wait || fail "the array job failed: $(cat "$tmp"/task-*.out)"
"$bin" merge --quiet --no-charts --out "$tmp/run1/result" "$tmp"/run1/shard-*
same_as_single "$tmp/run1/result"
echo "merged = single run, byte for byte"

step "one task killed, one cancelled, merge refuses"
jid=$(submit 1-4%2 "$tmp/run2" --parsable)
# Task 2 runs (two at a time); kill it once it has written a point.
for _ in $(seq 600); do
  [ -s "$tmp/run2/shard-2/points.jsonl" ] && break
  sleep 0.05
done
[ -s "$tmp/run2/shard-2/points.jsonl" ] || fail "task 2 wrote no point in 30 s"
scancel "${jid}_4"
# Killed as a crash would: SIGKILL to the task's stacksim, mid-run.
task2=$(squeue -h -j "${jid}_2" -o %A)
victim=$(scontrol listpids "$task2" | awk -v bin="$bin" 'NR > 1 { print $1 }' |
  while read -r pid; do
    [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$bin" ] && echo "$pid"
  done | head -n 1)
[ -n "$victim" ] || fail "task 2's stacksim process not found"
kill -KILL "$victim"
for _ in $(seq 600); do
  [ -z "$(squeue -h -j "$jid" 2>/dev/null)" ] && break
  sleep 0.1
done
[ -z "$(squeue -h -j "$jid")" ] || fail "the array did not end in 60 s"
scontrol -o show job "$jid" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^(ArrayTaskId|JobState|ExitCode)=/) printf "%s ", $i; print "" }'
have=$(wc -l <"$tmp/run2/shard-2/points.jsonl")
[ "$have" -lt 3 ] || fail "task 2 finished all its points before the kill; cannot test a torn shard"
set +e
"$bin" merge --quiet --no-charts --out "$tmp/run2/result" "$tmp"/run2/shard-* 2>"$tmp/refused.txt"
code=$?
set -e
cat "$tmp/refused.txt"
[ "$code" -eq 2 ] || fail "merge of a torn array exited $code, not 2"
[ ! -e "$tmp/run2/result" ] || fail "a refused merge left $tmp/run2/result behind"
grep -q "shard 2/4 ($tmp/run2/shard-2): incomplete" "$tmp/refused.txt" || fail "merge did not name shard 2"
grep -q "shard 4/4: not given" "$tmp/refused.txt" || fail "merge did not name shard 4"
rerun=$(sed -n 's/^run again: shards\{0,1\} \([0-9,]*\) .*/\1/p' "$tmp/refused.txt")
[ "$rerun" = "2,4" ] || fail "merge asked to run again '$rerun', not 2,4"

step "resubmit only $rerun, merge again"
submit "$rerun" "$tmp/run2" --wait || fail "the resubmitted tasks failed: $(cat "$tmp"/task-*.out)"
"$bin" merge --quiet --no-charts --out "$tmp/run2/result" "$tmp"/run2/shard-*
same_as_single "$tmp/run2/result"
echo "merged after the resubmit = single run, byte for byte"
echo "Slurm test passed in $SECONDS s"
