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
#      Omniglot with a narrow Conv-4 in float32, a few iterations, when
#      Omniglot is found ($OMNIGLOT_DIR, else ../shared/data/omniglot
#      beside the checkout; under CI=true it must be). Each pair of
#      checkpoints must be byte-identical.
# ProtoNet and the other metric learners take one optimizer step per
# episode, in sequence: they do not split across processes (meta refuses
# them under mpirun), so there is nothing to check for them.
#
#   scripts/mpi_check.sh        # ~1 min on 2 cores
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
elif [ "${CI:-}" = true ]; then
  echo "mpi_check: no Omniglot in $omniglot (set OMNIGLOT_DIR)" >&2; exit 1
else
  echo "skip Omniglot: not in $omniglot (set OMNIGLOT_DIR; scripts/download_omniglot.sh)"
fi
[ "$fails" = 0 ] || { echo "mpi_check: $fails check(s) failed" >&2; exit 1; }
echo "mpi_check: all passed ($((SECONDS - start))s)"
