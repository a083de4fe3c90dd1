#!/usr/bin/env bash
# Checks data-parallel meta-training over MPI (package dist, built with
# -tags mpi): that runs split across 2 processes under mpirun end with the
# meta-parameters of one process, bit for bit.
#   1. go test -tags mpi ./dist/: the binding's collectives, its watchdog,
#      and 20 meta-iterations of second-order MAML on sinusoids (meta-batch
#      25) as 2 processes against 1 (the test runs itself under
#      mpirun -np 2).
#   2. the meta command built with -tags mpi, as 1 process and as 2: MAML
#      (20 iterations) and Reptile on sinusoids, the 2-process run of MAML
#      also interrupted after 10 iterations and resumed; MAML and MAML++
#      (per-step batch norm, whose statistics are gathered too) on
#      Omniglot with a narrow Conv-4 in float32, a few iterations, and
#      ProtoNet (20 iterations of meta-batches of 4 episodes: the
#      episodes are split, each keeping its images and batch norm on one
#      process), when Omniglot is found ($OMNIGLOT_DIR, else
#      ../shared/data/omniglot beside the checkout; under CI=true it must
#      be). Each pair of checkpoints must be byte-identical.
#   3. a rank killed (SIGKILL) in the middle of a 2-process run, rank 1
#      and then rank 0: mpirun must end the job, non-zero, within 60 s,
#      naming the rank, and leave no rank running.
#
#   scripts/mpi_check.sh        # ~1-2 min on 2 cores
#
# Needs Open MPI: apt-get install -y libopenmpi-dev openmpi-bin.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export PATH="$PATH:/usr/local/go/bin"
command -v mpirun >/dev/null || { echo "mpi_check: no mpirun; run: apt-get install -y libopenmpi-dev openmpi-bin" >&2; exit 1; }
pkg-config --exists ompi-c || { echo "mpi_check: no ompi-c.pc; run: apt-get install -y libopenmpi-dev" >&2; exit 1; }
cd "$root"
start=$SECONDS
echo "== go test -tags mpi ./dist/ ($(mpirun --version | head -1))"
go test -tags mpi -count=1 ./dist/

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
go build -tags mpi -o "$tmp/meta" ./cmd/meta
mpi=(mpirun -np 2 --oversubscribe)
[ "$(id -u)" = 0 ] && mpi+=(--allow-run-as-root)
fails=0
# same NAME ARGS...: the run as 1 process and as 2, checkpoints compared
same() {
  local name=$1; shift
  local t0=$SECONDS
  "$tmp/meta" "$@" -out "$tmp/$name.1" -checkpoint "$tmp/$name.1/run.ckpt" > "$tmp/$name.1.log" 2>&1 ||
    { cat "$tmp/$name.1.log"; echo "mpi_check: $name as 1 process failed" >&2; exit 1; }
  "${mpi[@]}" "$tmp/meta" "$@" -out "$tmp/$name.2" -checkpoint "$tmp/$name.2/run.ckpt" > "$tmp/$name.2.log" 2>&1 ||
    { cat "$tmp/$name.2.log"; echo "mpi_check: $name as 2 processes failed" >&2; exit 1; }
  grep -q "split across 2 processes" "$tmp/$name.2.log" || { cat "$tmp/$name.2.log"; echo "mpi_check: $name did not run split" >&2; exit 1; }
  if cmp -s "$tmp/$name.1/run.ckpt" "$tmp/$name.2/run.ckpt"; then
    echo "ok   $name: 2 processes = 1 process, byte for byte ($((SECONDS - t0))s)"
  else
    echo "FAIL $name: the checkpoints of 1 and 2 processes differ"; fails=$((fails + 1))
  fi
}
echo "== meta -tags mpi: 1 process against mpirun -np 2"
quick=(-no-plots -eval-tasks 5 -workers 1)
same maml-sinusoid -iterations 20 "${quick[@]}"
same reptile-sinusoid -algorithm reptile -iterations 20 -meta-batch 5 "${quick[@]}"

# interrupted at 10 (a run of 10), resumed to 20, as 2 processes
t0=$SECONDS
"${mpi[@]}" "$tmp/meta" -iterations 10 "${quick[@]}" -out "$tmp/resume" -checkpoint "$tmp/resume/run.ckpt" > "$tmp/resume.log" 2>&1 &&
  "${mpi[@]}" "$tmp/meta" -resume -iterations 20 "${quick[@]}" -out "$tmp/resume" -checkpoint "$tmp/resume/run.ckpt" >> "$tmp/resume.log" 2>&1 ||
  { cat "$tmp/resume.log"; echo "mpi_check: the resumed run failed" >&2; exit 1; }
if cmp -s "$tmp/resume/run.ckpt" "$tmp/maml-sinusoid.1/run.ckpt"; then
  echo "ok   maml-sinusoid resumed at 10 as 2 processes = 20 in a row as 1 process ($((SECONDS - t0))s)"
else
  echo "FAIL maml-sinusoid: resumed as 2 processes differs from 20 iterations in a row"; fails=$((fails + 1))
fi

omniglot=${OMNIGLOT_DIR:-$root/../shared/data/omniglot}
if [ -f "$omniglot/images_background.zip" ]; then
  small=(-dataset omniglot -data "$omniglot" -filters 8 -eval-tasks 2 -no-plots -workers 1)
  same maml-omniglot -iterations 3 -meta-batch 4 "${small[@]}"
  same mamlpp-omniglot -algorithm mamlpp -iterations 2 -meta-batch 2 -inner-steps 2 "${small[@]}"
  same protonet-omniglot -algorithm protonet -iterations 20 -meta-batch 4 -train-ways 5 -queries 2 -eval-queries 1 "${small[@]}"
elif [ "${CI:-}" = true ]; then
  echo "mpi_check: no Omniglot in $omniglot (set OMNIGLOT_DIR)" >&2; exit 1
else
  echo "skip Omniglot: not in $omniglot (set OMNIGLOT_DIR; scripts/download_omniglot.sh)"
fi

# rank_pid R: the process of rank R of the job running $tmp/meta, if any
rank_pid() {
  local exe p
  for exe in /proc/[0-9]*/exe; do
    [ "$(readlink "$exe" 2>/dev/null)" = "$tmp/meta" ] || continue
    p=${exe#/proc/}; p=${p%/exe}
    if tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$1"; then
      echo "$p"; return
    fi
  done
}
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# killed R: a 2-process run of MAML on sinusoids that would take many
# minutes, rank R killed with SIGKILL once both ranks compute (rank 0 has
# reported an iteration, which needs rank 1's sums): mpirun must exit
# non-zero within 60 s, naming the rank, and no rank may outlive it
killed() {
  local rank=$1 pid="" t0 took rc=0
  local log="$tmp/kill$rank.log"
  "${mpi[@]}" "$tmp/meta" -iterations 10000000 "${quick[@]}" -out "$tmp/kill$rank" > "$log" 2>&1 &
  local job=$! start
  start=$(ms)
  while [ $(( $(ms) - start )) -lt 120000 ] && kill -0 "$job" 2>/dev/null; do
    grep -q "maml [0-9]*/10000000" "$log" && pid=$(rank_pid "$rank") && [ -n "$pid" ] && break
    sleep 0.1
  done
  if [ -z "$pid" ]; then
    kill "$job" 2>/dev/null || true; wait "$job" || true
    cat "$log"; echo "FAIL kill rank $rank: the run did not start computing within 120 s"; fails=$((fails + 1)); return
  fi
  t0=$(ms)
  kill -9 "$pid"
  while kill -0 "$job" 2>/dev/null && [ $(( $(ms) - t0 )) -lt 60000 ]; do sleep 0.1; done
  took=$(( $(ms) - t0 ))
  if kill -0 "$job" 2>/dev/null; then
    kill "$job" 2>/dev/null || true; sleep 5; kill -9 "$job" 2>/dev/null || true; wait "$job" || true
    tr '\r' '\n' < "$log" | tail -20
    echo "FAIL kill rank $rank: mpirun still running 60 s after rank $rank (pid $pid) was killed"; fails=$((fails + 1)); return
  fi
  wait "$job" || rc=$?
  local left; left=$(rank_pid 0)$(rank_pid 1)
  if [ "$rc" = 0 ] || ! grep -Eq "process rank $rank |rank $rank of 2" "$log" || [ -n "$left" ]; then
    tr '\r' '\n' < "$log" | tail -20
    echo "FAIL kill rank $rank: mpirun exited with status $rc after $((took))ms; want non-zero, rank $rank named, no rank left (left: ${left:-none})"
    fails=$((fails + 1)); return
  fi
  echo "ok   kill -9 rank $rank (pid $pid): mpirun exited with status $rc after $(printf '%d.%03d' $((took / 1000)) $((took % 1000)))s: $(grep -Eo "process rank $rank with PID .*" "$log" | head -1)"
}
echo "== a rank killed in a 2-process run"
killed 1
killed 0

[ "$fails" = 0 ] || { echo "mpi_check: $fails check(s) failed" >&2; exit 1; }
echo "mpi_check: all passed ($((SECONDS - start))s)"
