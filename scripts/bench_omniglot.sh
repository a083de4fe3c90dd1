#!/usr/bin/env bash
# Side-by-side timing on Omniglot-shaped few-shot workloads, in one run on
# this machine: metagon's Go benchmarks and the PyTorch reference peers.
#   - Prototypical Networks, Conv-4, 60-way 5-shot 5-query training episode
#     (600 images): ms per episode (peer: protonet.py)
#   - second-order MAML, Conv-4, 5-way 1-shot, 1 query per class,
#     meta-batch 32, one inner step: ms per meta-iteration (peer: maml_conv.py)
# with peak RSS of each process. The peers run with torch threads = 2 and
# their BLAS held to one thread (their fastest setting, see
# ../shared/peers/README.md); which BLAS they load is printed.
#
#   scripts/bench_omniglot.sh
#   EPISODES=20 ITERS=6 scripts/bench_omniglot.sh
#   BENCH_JSON=out.json scripts/bench_omniglot.sh   # also write the figures as JSON (scripts/bench_all.sh)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$root/../shared/peers}
episodes=${EPISODES:-12}
iters=${ITERS:-5}
py=${PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "bench_omniglot: $py has no torch/numpy; run: apt-get install -y python3-torch python3-numpy" >&2
  exit 1
fi
for f in protonet.py maml_conv.py; do
  [ -f "$peers/$f" ] || { echo "bench_omniglot: no $f in $peers (set PEERS_DIR)" >&2; exit 1; }
done
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cd "$root"
(cd "$root" && go run ./internal/cmd/machine)   # CPU model and GEMM kernel beside the figures
go test -c -o "$tmp/metalearn.test" ./metalearn/

gobench() { # name, -bench pattern, benchtime
  /usr/bin/time -f "%M" -o "$tmp/$1.rss" "$tmp/metalearn.test" -test.run '^$' -test.bench "$2" -test.benchtime "$3" > "$tmp/$1.txt"
  grep Benchmark "$tmp/$1.txt"
}
echo "== metagon"
gobench proto 'ProtoNetEpisode/float32' "${episodes}x"
gobench maml 'MAMLConv4/float32' "${iters}x"

echo "== PyTorch peers"
export PEERS_BLAS_THREADS=1
/usr/bin/time -f "%M" -o "$tmp/pproto.rss" "$py" "$peers/protonet.py" --way 60 --shot 5 --query 5 \
  --episodes $((episodes + 5)) --threads 2 --json "$tmp/pproto.json" > /dev/null
/usr/bin/time -f "%M" -o "$tmp/pmaml.rss" "$py" "$peers/maml_conv.py" --iters $((iters + 3)) --threads 2 \
  --json "$tmp/pmaml.json" > /dev/null

"$py" - "$tmp" <<'PY'
import json, re, sys, os
d = sys.argv[1]
def go(name):
    for line in open(os.path.join(d, name + ".txt")):
        m = re.search(r"([\d.]+) ms/(episode|iter)", line)
        if m:
            return float(m.group(1))
def rss(name):
    return int(open(os.path.join(d, name + ".rss")).read().split()[-1]) / 1024
def peer(name):
    j = json.load(open(os.path.join(d, name + ".json")))
    return j["timing"]["median_ms"], j.get("env", {}).get("blas_libs_loaded")
def gflops(name):
    for line in open(os.path.join(d, name + ".txt")):
        m = re.search(r"([\d.]+) GEMM-GFLOP/op", line)
        if m:
            return float(m.group(1))
pp, blas = peer("pproto")
pm, _ = peer("pmaml")
print(f"\nPyTorch BLAS: {blas}\n")
print("| workload | metagon | PyTorch | ratio (metagon / PyTorch) | peak RSS metagon / PyTorch |")
print("|---|---|---|---|---|")
print(f"| ProtoNet 60-way 5-shot 5-query, ms/episode | {go('proto'):.0f} | {pp:.0f} | {go('proto')/pp:.2f} | {rss('proto'):.0f} / {rss('pproto'):.0f} MiB |")
print(f"| MAML 2nd order 5-way 1-shot, meta-batch 32, ms/iteration | {go('maml'):.0f} | {pm:.0f} | {go('maml')/pm:.2f} | {rss('maml'):.0f} / {rss('pmaml'):.0f} MiB |")
for name, what in (("proto", "ProtoNet episode"), ("maml", "MAML iteration")):
    print(f"{what}: {gflops(name):.1f} GFLOP in matrix products, {gflops(name) / go(name) * 1e3:.1f} GFLOP/s")
if os.environ.get("BENCH_JSON"):
    json.dump({"protonet": {"metagon_ms": go("proto"), "torch_ms": pp, "metagon_rss_mib": rss("proto"),
                            "torch_rss_mib": rss("pproto"), "gemm_gflop": gflops("proto")},
               "maml_conv": {"metagon_ms": go("maml"), "torch_ms": pm, "metagon_rss_mib": rss("maml"),
                             "torch_rss_mib": rss("pmaml"), "gemm_gflop": gflops("maml")}},
              open(os.environ["BENCH_JSON"], "w"), indent=1)
PY
