#!/usr/bin/env bash
# Side-by-side timing of one epoch of the classic seed network (784-30-10
# sigmoid, quadratic cost, SGD batch 10, eta 3, 60,000 synthetic MNIST-shaped
# examples): metagon's BenchmarkSeedEpoch (float64 and float32) and the NumPy /
# PyTorch peers of shared/peers/numpy_backprop.py, in one run on this machine.
#
#   scripts/bench_backprop.sh                  # PEERS_DIR defaults to ../shared/peers
#   EPOCHS=3 GO_EPOCHS=5 scripts/bench_backprop.sh
#   BENCH_JSON=out.json scripts/bench_backprop.sh   # also write the figures as JSON
#
# The peers run single-threaded (--threads 1), as metagon does. NumPy and
# torch use whatever libblas.so.3 Debian's alternatives point to (reference
# BLAS unless OpenBLAS is installed); the table names the library actually
# loaded. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, if set in the environment,
# slow a current OpenBLAS down: they are reported, not changed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$(dirname "$0")/../../shared/peers}
epochs=${EPOCHS:-2}
go_epochs=${GO_EPOCHS:-3}
py=${PYTHON:-/usr/bin/python3}
impls=${IMPLS:-numpy-vec,torch-manual,torch-autograd}

if ! "$py" -c 'import numpy' 2>/dev/null; then
  echo "bench_backprop: $py cannot import numpy; run: apt-get install -y python3-torch python3-numpy" >&2
  exit 1
fi
if [[ $impls == *torch* ]] && ! "$py" -c 'import torch' 2>/dev/null; then
  echo "bench_backprop: $py cannot import torch; run: apt-get install -y python3-torch python3-numpy (or IMPLS=numpy-vec)" >&2
  exit 1
fi
[ -f "$peers/numpy_backprop.py" ] || { echo "bench_backprop: no numpy_backprop.py in $peers (set PEERS_DIR)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

(cd "$root" && go run ./internal/cmd/machine)   # CPU model and GEMM kernel beside the figures
echo "== metagon: go test -bench SeedEpoch -benchtime ${go_epochs}x ./models/"
(cd "$root" && go test -run '^$' -bench 'SeedEpoch' -benchtime "${go_epochs}x" ./models/) | tee "$tmp/go.txt" | grep Benchmark

for dt in float64 float32; do
  echo "== peers: numpy_backprop.py --epochs $epochs --threads 1 --impl $impls --dtype $dt"
  "$py" "$peers/numpy_backprop.py" --epochs "$epochs" --threads 1 --impl "$impls" --dtype "$dt" --json "$tmp/$dt.json" >&2
done

"$py" - "$tmp" <<'EOF'
import json, os, re, sys
tmp = sys.argv[1]
go = {}
for line in open(os.path.join(tmp, "go.txt")):
    m = re.match(r"BenchmarkSeedEpoch/(float\d+)\S*\s.*?([\d.]+) s/epoch", line)
    if m:
        go[m.group(1)] = float(m.group(2))
rows, env = [], None
for dt in ("float64", "float32"):
    d = json.load(open(os.path.join(tmp, dt + ".json")))
    env = d["env"]
    for impl, r in d["results"].items():
        rows.append((dt, impl, r["median_epoch_s"]))
print()
print("| dtype | peer | peer s/epoch | metagon s/epoch | peer / metagon |")
print("|---|---|---|---|---|")
for dt, impl, s in rows:
    g = go.get(dt)
    gs = f"{g:.3f}" if g else "n/a"
    ratio = f"{s / g:.2f}x" if g else "n/a"
    print(f"| {dt} | {impl} | {s:.3f} | {gs} | {ratio} |")
blas = [os.path.basename(p) for p in env.get("blas_libs_loaded", []) if "blas" in p.lower()]
print()
print("BLAS loaded by the peers:", ", ".join(blas) or "unknown",
      "(libblas.so.3.* under blas/ is the reference BLAS; libopenblas* is OpenBLAS)")
for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
    print(f"{var}={os.environ.get(var, '') or '(unset)'}")
print(f"numpy {env.get('numpy')}, torch {env.get('torch')}, cpu {env.get('cpu')}, nproc {env.get('nproc')}, "
      f"load {env.get('loadavg_1_5_15')}")
if os.environ.get("BENCH_JSON"):
    json.dump({"seed_epoch": {dt: {"metagon_s": go.get(dt), "peers_s": {impl: s for d2, impl, s in rows if d2 == dt}}
                              for dt in ("float64", "float32")}}, open(os.environ["BENCH_JSON"], "w"), indent=1)
EOF
