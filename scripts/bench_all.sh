#!/usr/bin/env bash
# Every speed workload of metagon beside its reference, in one run on this
# machine, summed up in one table: the three side-by-side scripts
# (bench_omniglot.sh, bench_maml_sinusoid.sh, bench_backprop.sh), then the
# machine's OpenBLAS SGEMM rate (float32 2048×2048, all cores, with the
# fastest OPENBLAS_CORETYPE, which the reference runs then use too),
# against which the achieved GFLOP/s of the ProtoNet episode and the MAML
# Conv-4 iteration are given as a fraction. The project's speed goal is a ratio
# of at most 0.5 on every row.
#
#   scripts/bench_all.sh                 # the table on stdout, the scripts' own output on stderr
#   scripts/bench_all.sh -o table.md     # also write the table to table.md (refused if it exists)
#
# The sub-scripts take their environment variables as usual (EPISODES,
# ITERS, EPOCHS, GO_EPOCHS, PEERS_DIR, PYTHON).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
py=${PYTHON:-/usr/bin/python3}
out=""
while [ $# -gt 0 ]; do
  case "$1" in
    -o) [ $# -ge 2 ] || { echo "bench_all: -o needs a file name" >&2; exit 2; }; out=$2; shift 2 ;;
    *) echo "bench_all: unknown argument $1 (usage: scripts/bench_all.sh [-o table.md])" >&2; exit 2 ;;
  esac
done
if [ -n "$out" ]; then
  [ -e "$out" ] && { echo "bench_all: $out exists; remove it or name another file" >&2; exit 2; }
  [ -d "$(dirname "$out")" ] || { echo "bench_all: directory $(dirname "$out") of $out does not exist" >&2; exit 2; }
fi
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "bench_all: $py has no torch/numpy; run: apt-get install -y python3-torch python3-numpy libopenblas0-pthread" >&2
  exit 1
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
machine=$(cd "$root" && go run ./internal/cmd/machine)

# The machine's BLAS rate, with the fastest OPENBLAS_CORETYPE, which every
# reference run below then uses (scripts/lib/openblas_core.sh).
. "$root/scripts/lib/openblas_core.sh"
pick_openblas_core
best_core=$openblas_core best_rate=$openblas_gflops
echo "{\"gflops\": $best_rate, \"coretype\": \"${best_core:-its own choice}\"}" > "$tmp/sgemm.json"

BENCH_JSON=$tmp/omniglot.json "$root/scripts/bench_omniglot.sh" >&2
BENCH_JSON=$tmp/sinusoid.json "$root/scripts/bench_maml_sinusoid.sh" >&2
BENCH_JSON=$tmp/backprop.json "$root/scripts/bench_backprop.sh" >&2

"$py" - "$tmp" "$machine" "$out" <<'PY'
import json, os, sys
d, machine, out = sys.argv[1], sys.argv[2], sys.argv[3]
j = {}
for f in ("omniglot", "sinusoid", "backprop", "sgemm"):
    j[f] = json.load(open(os.path.join(d, f + ".json")))
pn, mc = j["omniglot"]["protonet"], j["omniglot"]["maml_conv"]
sin = j["sinusoid"]["maml_sinusoid"]
seed = j["backprop"]["seed_epoch"]
peak = j["sgemm"]["gflops"]
best = lambda m: min(m.items(), key=lambda kv: kv[1])
sg, sgv = best(sin["metagon_ms"])
st, stv = best(sin["torch_ms"])
rows = [
    ("ProtoNet Conv-4 60-way 5-shot 5-query, ms/episode", pn["metagon_ms"], pn["torch_ms"], "PyTorch"),
    ("2nd-order MAML Conv-4 5w1s, meta-batch 32, ms/iteration", mc["metagon_ms"], mc["torch_ms"], "PyTorch"),
    (f"2nd-order MAML sinusoid, meta-batch 25, ms/iteration ({sg})", sgv, stv, f"PyTorch {st}"),
    ("seed network epoch, float64, s", seed["float64"]["metagon_s"], seed["float64"]["peers_s"]["numpy-vec"], "NumPy"),
    ("seed network epoch, float32, s", seed["float32"]["metagon_s"], seed["float32"]["peers_s"]["numpy-vec"], "NumPy"),
    ("peak RSS, ProtoNet episode, MiB", pn["metagon_rss_mib"], pn["torch_rss_mib"], "PyTorch"),
]
lines = [f"{machine}", "",
         "| workload | metagon | reference | ratio (goal ≤ 0.5; RSS ≤ 1) |", "|---|---|---|---|"]
for name, m, r, ref in rows:
    fmt = (lambda v: f"{v:.3f}") if m < 10 else (lambda v: f"{v:.0f}")
    lines.append(f"| {name} | {fmt(m)} | {ref} {fmt(r)} | {m / r:.2f} |")
lines += ["", f"OpenBLAS SGEMM, float32 2048², {os.cpu_count()} threads, core type {j['sgemm']['coretype']} "
          f"(also the references' OPENBLAS_CORETYPE): {peak:.0f} GFLOP/s", "",
          "| workload | GEMM GFLOP per step | metagon GFLOP/s | fraction of SGEMM | PyTorch at the same work, fraction |",
          "|---|---|---|---|---|"]
for name, w in (("ProtoNet episode", pn), ("MAML Conv-4 iteration", mc)):
    g = w["gemm_gflop"]
    lines.append(f"| {name} | {g:.1f} | {g / w['metagon_ms'] * 1e3:.1f} | {g / w['metagon_ms'] * 1e3 / peak:.0%} | "
                 f"{g / w['torch_ms'] * 1e3 / peak:.0%} |")
text = "\n".join(lines)
print(text)
if out:
    with open(out, "x") as f:
        f.write(text + "\n")
PY
