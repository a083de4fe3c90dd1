#!/usr/bin/env bash
# Side-by-side timing of few-shot learning on colour images, in one run on
# this machine: metagon's BenchmarkFewShotImages (metalearn/bench_image_test.go)
# and the same workloads in PyTorch (scripts/torch_image_bench.py), on
# random images of the CIFAR-FS / FC100 shape (3×32×32) and the
# mini-ImageNet shape (3×84×84), 5-way 1-shot and 5-way 5-shot, 15 queries
# per class, float32:
#   - Prototypical Networks, Conv-4 of 64 filters: ms per training episode
#   - second-order MAML, Conv-4 of 32 filters, 5 inner steps (α 0.01),
#     meta-batch 4 (Finn et al.'s mini-ImageNet settings): ms per
#     meta-iteration
# with the peak RSS of each process. Both sides run THREADS threads
# (default: the cores; metagon through GOMAXPROCS, PyTorch through torch's
# threads with its BLAS held to one thread), PyTorch with the fastest
# OPENBLAS_CORETYPE (scripts/lib/openblas_core.sh) unless one is set. Each
# step is timed in wall and in process CPU time: with THREADS=1 the CPU
# times are the figure to read on a machine that other jobs share (they
# barely move with the load, where wall times, and PyTorch's OpenMP
# threads waiting on busy cores, do).
# Before each measurement the script waits up to WAIT seconds (default 60)
# for the machine to go quiet and prints the load average it started at.
#
#   scripts/bench_images.sh
#   EPISODES=5 ITERS=2 SHAPES="32x1 84x5" scripts/bench_images.sh
#   THREADS=1 scripts/bench_images.sh              # one thread each: CPU times comparable under load
#   BENCH_JSON=out.json scripts/bench_images.sh    # also write the figures as JSON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
episodes=${EPISODES:-10}
iters=${ITERS:-3}
shapes=${SHAPES:-"32x1 32x5 84x1 84x5"}
wait_s=${WAIT:-60}
threads=${THREADS:-$(nproc)}
py=${PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "bench_images: $py has no torch/numpy; run: apt-get install -y python3-torch python3-numpy libopenblas0-pthread" >&2
  exit 1
fi
for s in $shapes; do
  [[ $s =~ ^(32|84)x(1|5)$ ]] || { echo "bench_images: shape $s in SHAPES: want 32x1, 32x5, 84x1 or 84x5 (side x shots)" >&2; exit 2; }
done
if [ -n "${BENCH_JSON:-}" ] && [ -e "$BENCH_JSON" ]; then
  echo "bench_images: $BENCH_JSON exists; remove it or name another file" >&2; exit 2
fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$root"
go run ./internal/cmd/machine # CPU model and GEMM kernel beside the figures
if [ -z "${OPENBLAS_CORETYPE:-}" ]; then
  . "$root/scripts/lib/openblas_core.sh"
  pick_openblas_core
fi
echo "PyTorch's OPENBLAS_CORETYPE: ${OPENBLAS_CORETYPE:-unset, OpenBLAS picks}"
go test -c -o "$tmp/metalearn.test" ./metalearn/

quiet() { # wait for a quiet machine, at most $wait_s seconds; print the load
  local t=0
  while [ "$t" -lt "$wait_s" ] && awk '{exit !($1 > 0.5)}' /proc/loadavg; do sleep 5; t=$((t + 5)); done
  cut -d' ' -f1 /proc/loadavg
}

for s in $shapes; do
  side=${s%x*} shots=${s#*x}
  for learner in protonet maml; do
    n=$episodes; [ "$learner" = maml ] && n=$iters
    name="$learner-$s"
    load=$(quiet)
    /usr/bin/time -f "%M" -o "$tmp/$name.go.rss" "$tmp/metalearn.test" -test.run '^$' \
      -test.bench "FewShotImages/$learner/3x${side}x${side}/5w${shots}s\$" -test.benchtime "${n}x" -test.cpu "$threads" > "$tmp/$name.go.txt"
    grep Benchmark "$tmp/$name.go.txt" | sed "s/\$/   (load $load)/"
    load=$(quiet)
    /usr/bin/time -f "%M" -o "$tmp/$name.pt.rss" "$py" scripts/torch_image_bench.py --learner "$learner" \
      --size "$side" --shot "$shots" --iters "$n" --threads "$threads" > "$tmp/$name.pt.json"
    "$py" -c 'import json, sys
j = json.load(open(sys.argv[1]))
print("PyTorch %s: %.1f ms, CPU %.1f ms (medians of %d; %s)   (load %s)" % (sys.argv[2], j["median_ms"], j["median_cpu_ms"], len(j["times_ms"]), ", ".join(j["libs"]), sys.argv[3]))' \
      "$tmp/$name.pt.json" "$name" "$load"
  done
done

"$py" - "$tmp" "$shapes" "$threads" <<'PY'
import json, os, re, sys
d, shapes, threads = sys.argv[1], sys.argv[2].split(), sys.argv[3]
def go(name):
    text = open(os.path.join(d, name + ".go.txt")).read()
    ms = float(re.search(r"([\d.]+) ms/(episode|iter)", text).group(1))
    cpu = float(re.search(r"([\d.]+) cpu-ms/(episode|iter)", text).group(1))
    gf = float(re.search(r"([\d.]+) GEMM-GFLOP/op", text).group(1))
    return ms, cpu, gf
def rss(name, side):
    return int(open(os.path.join(d, f"{name}.{side}.rss")).read().split()[-1]) / 1024
print(f"\n{threads} thread(s) each; wall and process CPU time per step, medians for PyTorch\n")
print("| workload | metagon | PyTorch | ratio (metagon / PyTorch) | CPU metagon / PyTorch | CPU ratio | peak RSS metagon / PyTorch | metagon GEMM GFLOP/s |")
print("|---|---|---|---|---|---|---|---|")
rows = {}
for s in shapes:
    side, shots = s.split("x")
    for learner, what, unit in (("protonet", "ProtoNet episode", "ms/episode"),
                                ("maml", "2nd-order MAML iteration", "ms/iteration")):
        name = f"{learner}-{s}"
        ms, cpu, gf = go(name)
        j = json.load(open(os.path.join(d, name + ".pt.json")))
        pt, ptcpu = j["median_ms"], j["median_cpu_ms"]
        rows[name] = {"metagon_ms": ms, "torch_ms": pt, "metagon_cpu_ms": cpu, "torch_cpu_ms": ptcpu,
                      "metagon_rss_mib": rss(name, "go"), "torch_rss_mib": rss(name, "pt"), "gemm_gflop": gf, "threads": int(threads)}
        print(f"| {what}, 3×{side}×{side} 5-way {shots}-shot, {unit} | {ms:.0f} | {pt:.0f} | {ms / pt:.2f} | "
              f"{cpu:.0f} / {ptcpu:.0f} | {cpu / ptcpu:.2f} | {rss(name, 'go'):.0f} / {rss(name, 'pt'):.0f} MiB | {gf / ms * 1e3:.1f} |")
if os.environ.get("BENCH_JSON"):
    json.dump(rows, open(os.environ["BENCH_JSON"], "w"), indent=1)
PY
