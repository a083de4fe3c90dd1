#!/usr/bin/env bash
# Data-parallel meta-training over MPI (package dist): second-order MAML,
# Conv-4 (64 filters) on Omniglot 5-way 1-shot, meta-batch 32, float32, as
# 1 process and as 2 processes under mpirun, each process on one core
# (GOMAXPROCS=1, one worker goroutine). For each: ms per meta-iteration
# after a warm-up iteration (graph compilation), the time in MPI calls
# (transfers, and waiting for the slower rank) and the messages alone (one
# meta-step's exchange timed after a barrier), and a hash of the
# meta-parameters, which must be the same (internal/cmd/benchmpi). Prints
# the CPU model and the load average: other processes on the machine slow
# the ranks unevenly, which shows as waiting in MPI calls. Where other
# sessions keep the cores busy, Linux gives this session's processes
# together one fair share of the CPU (sched_autogroup), so 2 processes then
# get the CPU time 1 would and cannot be faster; the messages-alone column
# still holds.
#
#   scripts/bench_mpi.sh                 # ~1-2 min on 2 idle cores
#   ITERS=10 NP="1 2 4" scripts/bench_mpi.sh
#
# Needs Open MPI (apt-get install -y libopenmpi-dev openmpi-bin) and
# Omniglot ($OMNIGLOT_DIR, else ../shared/data/omniglot beside the
# checkout; scripts/download_omniglot.sh fetches it).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
iters=${ITERS:-3}
warmup=${WARMUP:-1}
batch=${META_BATCH:-32}
nps=${NP:-1 2}
data=${OMNIGLOT_DIR:-$root/../shared/data/omniglot}
command -v mpirun >/dev/null || { echo "bench_mpi: no mpirun; run: apt-get install -y libopenmpi-dev openmpi-bin" >&2; exit 1; }
[ -f "$data/images_background.zip" ] || { echo "bench_mpi: no Omniglot in $data (set OMNIGLOT_DIR; scripts/download_omniglot.sh)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$root"
go run ./internal/cmd/machine
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(mpirun --version | head -1)"
go build -tags mpi -o "$tmp/benchmpi" ./internal/cmd/benchmpi
root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(--allow-run-as-root)
args=(-data "$data" -meta-batch "$batch" -warmup "$warmup" -iterations "$iters")
for np in $nps; do
  mpirun -np "$np" --oversubscribe "${root_flag[@]}" -x GOMAXPROCS=1 "$tmp/benchmpi" "${args[@]}" | tee -a "$tmp/lines"
done
python3 - "$tmp/lines" <<'PY'
import re, sys
rows = []
for line in open(sys.argv[1]):
    m = re.search(r"(\d+) processes .*?: ([\d.]+) ms/iteration, in MPI calls ([\d.]+) ms/iteration \(([\d.]+)%\), of which the messages alone ([\d.]+) ms; .*hash (\w+)", line)
    if m:
        rows.append((int(m[1]), float(m[2]), float(m[3]), float(m[4]), float(m[5]), m[6]))
if not rows:
    sys.exit("bench_mpi: no results")
base = rows[0][1]
print("\n| processes | ms/iteration | speed-up | in MPI calls | messages alone | parameters hash |")
print("|---|---|---|---|---|---|")
for np, ms, mpi, share, msgs, h in rows:
    print(f"| {np} | {ms:.0f} | {base / ms:.2f}× | {mpi:.0f} ms ({share:.1f}%) | {msgs:.2f} ms | {h} |")
if len({r[5] for r in rows}) != 1:
    sys.exit("bench_mpi: the meta-parameters differ between process counts")
print("\nmeta-parameters bit-identical for every number of processes")
PY
