#!/usr/bin/env bash
# A real SLURM test: installs SLURM and MUNGE from Debian's packages if missing, starts a
# single-node cluster on this machine (munged, slurmctld and slurmd on loopback, all state in a
# temporary folder), submits configs/sweep-example.toml as a job array with the shipped sbatch
# script, waits, checks with DuckDB that the dataset holds every run exactly once, and stops
# the daemons by their process ids.
#
#   bash tests/slurm/run.sh [path/to/bondsim]      (needs root for the package install)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BONDSIM="$(realpath "${1:-target/release/bondsim}")"
[ -x "$BONDSIM" ] || { echo "slurm test: build bondsim first (cargo build --release)"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  echo "== installing SLURM and MUNGE (Debian packages)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

WORK="$(mktemp -d /tmp/bondsim-slurm.XXXXXX)"
HOST="$(hostname -s)"
# The daemons stopped by their process ids; the folder removed when the test passed, kept (and
# named) when it failed, for its logs.
cleanup() {
  local status=$?
  for pidfile in "$WORK/slurmd.pid" "$WORK/slurmctld.pid" "$WORK/munged.pid"; do
    if [ -s "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  sleep 1
  for pidfile in "$WORK/slurmd.pid" "$WORK/slurmctld.pid" "$WORK/munged.pid"; do
    if [ -s "$pidfile" ]; then kill -9 "$(cat "$pidfile")" 2>/dev/null || true; fi
  done
  if [ "$status" -eq 0 ]; then rm -rf "$WORK"; else echo "slurm test: its state and logs are kept in $WORK"; fi
}
trap cleanup EXIT
mkdir -p "$WORK/state" "$WORK/spool" "$WORK/logs" "$WORK/munge"
chmod 700 "$WORK/munge"

echo "== starting munged"
mungekey --create --keyfile "$WORK/munge/munge.key" --force
chmod 400 "$WORK/munge/munge.key"
munged --force --key-file "$WORK/munge/munge.key" --socket "$WORK/munge/munge.sock" \
  --pid-file "$WORK/munged.pid" --log-file "$WORK/munge/munged.log" --seed-file "$WORK/munge/munge.seed"

# Free ports on loopback for the two daemons.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
CTLD_PORT=$(port); SLURMD_PORT=$(port)
cat > "$WORK/slurm.conf" <<CONF
ClusterName=bondsimtest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$WORK/munge/munge.sock
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/logs/slurmctld.log
SlurmdLogFile=$WORK/logs/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=8000 State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$WORK/slurm.conf"

echo "== starting slurmctld and slurmd"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$HOST"
for _ in $(seq 1 60); do
  state=$(sinfo -h -o %T 2>/dev/null | head -1 || true)
  [ "$state" = "idle" ] && break
  sleep 1
done
sinfo
[ "$(sinfo -h -o %T | head -1)" = "idle" ] || { echo "slurm test: the node did not come up"; tail -20 "$WORK/logs/"*.log; exit 1; }

echo "== submitting the sweep as a job array"
export BONDSIM CONFIG="$ROOT/configs/sweep-example.toml" OUT="$WORK/out"
RUNS=$("$BONDSIM" sweep plan "$CONFIG" | tail -1 | awk '{print $1}')
sbatch --wait --array=0-3 --cpus-per-task=1 --mem=1G --chdir="$WORK" \
  --output="$WORK/logs/task-%A_%a.log" "$ROOT/configs/slurm/sweep.sbatch" || {
  echo "slurm test: the array failed"; tail -n 20 "$WORK/logs/"*; exit 1; }
cat "$WORK/logs/"task-*.log

echo "== checking the dataset"
"$BONDSIM" sweep status "$CONFIG" --out "$OUT" | tail -1
python3 - "$OUT" "$RUNS" <<'PY'
import sys, duckdb
out, runs = sys.argv[1], int(sys.argv[2])
con = duckdb.connect()
def scan(table):
    return f"read_parquet('{out}/{table}/**/*.parquet', hive_partitioning = true)"
n_runs, n_points, n_replicates = con.execute(
    f"select count(distinct run), count(distinct weekly_social_hours), count(distinct replicate) from {scan('metrics')}").fetchone()
assert (n_runs, n_points, n_replicates) == (runs, 3, 4), (n_runs, n_points, n_replicates)
# Every run exactly once: one metrics row per tick of each run, none twice.
dupes = con.execute(f"select count(*) from (select run, tick, count(*) c from {scan('metrics')} group by all having c > 1)").fetchone()[0]
ticks = con.execute(f"select min(n), max(n) from (select run, count(*) n from {scan('metrics')} group by run)").fetchone()
assert dupes == 0 and ticks[0] == ticks[1] == round(20 * 365.25 / 7), (dupes, ticks)
print(f"slurm test: {n_runs} runs ({n_points} points x {n_replicates} replicates), each once, {ticks[0]} ticks each")
PY
echo "slurm test: passed"
