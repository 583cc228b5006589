#!/usr/bin/env bash
# The sweep on a real Slurm: starts munged, slurmctld and slurmd on this machine (one node, no
# cgroups; the recipe of ../shared/PLATFORM.md), submits a smoke sweep of 4 array tasks (two
# targets × two seeds), waits for them, merges the shards and gates; then requeues a running task
# and checks that it resumes from its checkpoint. Fails, with the daemons'
# logs, when a daemon does not start; it never skips. The daemons run as root (through sudo when
# the caller is not root); it needs the release build (scripts/test.sh builds it first).
#
# Usage: scripts/slurm-test.sh [replicate binary]   (default .build/release/replicate)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
binary=$(realpath "${1:-.build/release/replicate}")
[ -x "$binary" ] || { echo "slurm-test: no $binary; build first (swift build -c release)" >&2; exit 1; }
t0=$(date +%s.%N)
elapsed() { awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }

packages=(slurmctld slurmd slurm-client munge sqlite3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
if ((${#missing[@]})); then
  echo "slurm-test: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/replicate-slurm.XXXXXX)
host=$(hostname -s)
cpus=$(nproc)
memory=$(awk '/MemTotal/ { printf "%d", $2 / 1024 * 0.9 }' /proc/meminfo)
started_munge=""
cleanup() {
  for f in "$work"/slurmd.pid "$work"/slurmctld.pid; do
    [ -f "$f" ] && $sudo kill "$(cat "$f")" 2>/dev/null || true
  done
  if [ -n "$started_munge" ] && [ -f /run/munge/munged.pid ]; then $sudo kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
  sleep 1
  $sudo rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "slurm-test: FAILED: $*" >&2
  for log in "$work"/slurmctld.log "$work"/slurmd.log /var/log/munge/munged.log; do
    [ -f "$log" ] && { echo "--- $log" >&2; $sudo tail -n 30 "$log" >&2; }
  done
  exit 1
}

# munge: the key exists after install; munged runs as the munge user.
if ! pgrep -x munged >/dev/null; then
  $sudo chown munge:munge /etc/munge/munge.key && $sudo chmod 400 /etc/munge/munge.key
  $sudo mkdir -p /run/munge /var/log/munge /var/lib/munge
  $sudo chown munge:munge /run/munge /var/log/munge /var/lib/munge
  $sudo su -s /bin/sh munge -c munged || fail "munged did not start"
  started_munge=1
fi

mkdir -p "$work/state" "$work/spool"
cat >"$work/slurm.conf" <<EOF
ClusterName=replicate-test
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
NodeName=$host CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$work/slurm.conf"
$sudo env SLURM_CONF="$SLURM_CONF" slurmctld || fail "slurmctld did not start"
$sudo env SLURM_CONF="$SLURM_CONF" slurmd || fail "slurmd did not start"
for _ in $(seq 1 60); do
  sinfo -h -o "%T" 2>/dev/null | grep -q idle && break
  sleep 0.5
done
sinfo -h -o "%T" | grep -q idle || fail "the node did not become idle: $(sinfo 2>&1)"
echo "slurm-test: Slurm up in $(elapsed) s ($(sinfo -h -o '%N %c CPUs %T'))"

# The sweep: two targets × two seeds, smoke, as a job array; shared cache in the work folder.
export REPLICATE_ROOT="$root"
store="$work/results.sqlite"
out=$("$binary" sweep blur-detection moco-v2 --profile smoke --seeds 0-1 --name slurm-test --db "$store" \
  --slurm --submit --cache "$work/cache") || fail "sweep --slurm --submit: $out"
echo "$out"
job=$(echo "$out" | sed -n 's/^submitted job \([0-9]*\)$/\1/p' | head -1)
[ -n "$job" ] || fail "no job id in the sweep's output"
sweep_dir="$work/shards/slurm-test"
echo "--- generated $sweep_dir/sweep-0.sbatch"
cat "$sweep_dir/sweep-0.sbatch"
for _ in $(seq 1 600); do
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h -j "$job")" ] || fail "job $job still queued after 600 s: $(squeue)"
echo "slurm-test: job $job finished at $(elapsed) s"
"$binary" sweep status "$sweep_dir" --db "$store"
"$binary" merge "$sweep_dir" --db "$store"
runs=$(sqlite3 "$store" "SELECT count(*) FROM run WHERE status = 'completed' AND jobID LIKE '${job}_%' AND sweep = 'slurm-test'")
[ "$runs" = 4 ] || fail "expected 4 completed runs with Slurm job $job in the merged store, found $runs: $(sqlite3 "$store" 'SELECT id, target, seed, status, jobID FROM run')"
sqlite3 "$store" "SELECT target, seed, jobID, taskIndex, hostName FROM run ORDER BY taskIndex"
again=$("$binary" merge "$sweep_dir" --db "$store")
echo "$again" | grep -q "0 runs added, 4 already present" || fail "a second merge added runs: $again"
"$binary" gate --profile smoke --targets blur-detection --db "$store" || fail "the gate failed on the merged runs"
echo "slurm-test: array passed at $(elapsed) s (4 array tasks, merged, gated)"

# Preemption: a longer task (moco-v2 smoke at 30 epochs, a checkpoint after every step) is requeued
# by Slurm mid-training, as a preempting job would have it; Slurm's SIGTERM marks that run
# interrupted, and the task's second start resumes from its checkpoint in the shared cache.
out=$(REPLICATE_CHECKPOINT_EVERY=1 "$binary" sweep moco-v2 --profile smoke --seeds 7 --set epochs=30 \
  --name slurm-requeue --db "$store" --slurm --submit --cache "$work/cache") || fail "requeue sweep: $out"
job=$(echo "$out" | sed -n 's/^submitted job \([0-9]*\)$/\1/p' | head -1)
[ -n "$job" ] || fail "no job id in the requeue sweep's output: $out"
requeue_dir="$work/shards/slurm-requeue"
for _ in $(seq 1 1200); do
  compgen -G "$work/cache/checkpoints/*/pretraining-*.safetensors" >/dev/null && break
  sleep 0.1
done
compgen -G "$work/cache/checkpoints/*/pretraining-*.safetensors" >/dev/null \
  || fail "task ${job}_0 wrote no checkpoint in 120 s: $(tail -n 5 "$requeue_dir"/logs/task-0000.log 2>&1)"
scontrol requeue "${job}_0" || fail "scontrol requeue ${job}_0 failed"
echo "slurm-test: requeued ${job}_0 at $(elapsed) s, after its first checkpoint"
# Slurm holds a requeued job for 120 s (its begin time); the test lets it start at once.
for _ in $(seq 1 100); do
  [ "$(squeue -h -j "${job}_0" -o %T 2>/dev/null)" = PENDING ] && break
  sleep 0.1
done
scontrol update JobId="${job}_0" StartTime=now || fail "could not move the begin time of ${job}_0"
for _ in $(seq 1 600); do
  [ -z "$(squeue -h -j "$job" 2>/dev/null)" ] && break
  sleep 1
done
[ -z "$(squeue -h -j "$job")" ] || fail "job $job still queued 600 s after the requeue: $(squeue)"
shard="$requeue_dir/task-0000.sqlite"
runs=$(sqlite3 "$shard" "SELECT status FROM run ORDER BY id" | paste -sd, -)
[ "$runs" = "interrupted,completed" ] || fail "expected an interrupted then a completed run in $shard, found '$runs'"
sqlite3 "$shard" "SELECT message FROM run WHERE status = 'completed'" | grep -q "resumed pretraining" \
  || fail "the requeued task did not resume from its checkpoint: $(sqlite3 "$shard" 'SELECT id, status, message FROM run')"
"$binary" sweep status "$requeue_dir" --db "$store"
"$binary" merge "$requeue_dir" --db "$store" >/dev/null
resumed=$(sqlite3 "$store" "SELECT count(*) FROM run WHERE sweep = 'slurm-requeue' AND status = 'completed' AND jobID = '${job}_0'")
[ "$resumed" = 1 ] || fail "expected the resumed run of ${job}_0 in the merged store, found $resumed"
echo "slurm-test: passed in $(elapsed) s (4 array tasks merged and gated; a requeued task resumed)"
