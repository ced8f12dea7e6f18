# A one-node Slurm cluster in a temporary folder, for tests: munged with its
# own key and socket, slurmctld and slurmd in the foreground on a config of
# their own, on loopback ports chosen free. Sourced by tests/slurm/run.sh;
# every daemon is stopped by the PID it was started with (cluster_stop).
#
#   cluster_start DIR   # sets SLURM_CONF; returns once the node is idle
#   cluster_stop        # stops what cluster_start started

cluster_pids=()

# Installs the packages when a command is missing (Debian's packages).
cluster_install() {
  need "the Slurm test" slurmctld slurmd sbatch munged -- --no-install-recommends \
    slurmctld slurmd slurm-client munge
}

# A TCP port nothing listens on.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

cluster_start() {
  local dir=$1 host cpus
  mkdir -p "$dir"/{munge,state,spool,log}
  chmod 700 "$dir" "$dir/munge"
  host=$(hostname -s)
  cpus=$(nproc)
  mungekey --create --keyfile="$dir/munge/munge.key" --force
  munged --foreground --force --key-file="$dir/munge/munge.key" \
    --socket="$dir/munge/munge.socket" --pid-file="$dir/munge/munged.pid" \
    --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munge.seed" \
    >>"$dir/log/munged.out" 2>&1 &
  cluster_pids+=($!)
  cat >"$dir/slurm.conf" <<CONF
ClusterName=stacksim-test
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=$(id -un)
SlurmdUser=$(id -un)
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MailProg=/bin/true
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
KillWait=2
MinJobAge=300
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  export SLURM_CONF="$dir/slurm.conf"
  # munged must answer before the Slurm daemons ask it.
  local i
  for i in $(seq 50); do
    [ -S "$dir/munge/munge.socket" ] && break
    sleep 0.1
  done
  slurmctld -D -i -f "$SLURM_CONF" >>"$dir/log/slurmctld.out" 2>&1 &
  cluster_pids+=($!)
  slurmd -D -f "$SLURM_CONF" >>"$dir/log/slurmd.out" 2>&1 &
  cluster_pids+=($!)
  for i in $(seq 150); do
    if sinfo -h -N -o '%t' 2>/dev/null | grep -qx 'idle'; then
      return 0
    fi
    sleep 0.2
  done
  echo "the Slurm node did not come up in 30 s; logs:" >&2
  tail -n 20 "$dir"/log/* >&2
  return 1
}

cluster_stop() {
  local pid
  # slurmd, then slurmctld, then munged: the reverse of their start.
  for ((i = ${#cluster_pids[@]} - 1; i >= 0; i--)); do
    pid=${cluster_pids[i]}
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${cluster_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  cluster_pids=()
}
