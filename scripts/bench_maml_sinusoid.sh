#!/usr/bin/env bash
# Side-by-side timing of one second-order MAML meta-iteration on 10-shot
# sinusoids (meta-batch 25, one inner step): metagon's Go benchmark and the
# PyTorch reference peer, both its loop-over-tasks and --batched-tasks forms,
# in one run on this machine.
#
#   scripts/bench_maml_sinusoid.sh            # PEERS_DIR defaults to ../shared/peers
#   ITERS=2000 scripts/bench_maml_sinusoid.sh
#   BENCH_JSON=out.json scripts/bench_maml_sinusoid.sh   # also write the figures as JSON
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
peers=${PEERS_DIR:-$root/../shared/peers}
iters=${ITERS:-1000}
py=${PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, numpy' 2>/dev/null; then
  echo "bench_maml_sinusoid: $py has no torch/numpy; run: apt-get install -y python3-torch python3-numpy" >&2
  exit 1
fi
[ -f "$peers/maml_sinusoid.py" ] || { echo "bench_maml_sinusoid: no maml_sinusoid.py in $peers (set PEERS_DIR)" >&2; exit 1; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

(cd "$root" && go run ./internal/cmd/machine)   # CPU model and GEMM kernel beside the figures
echo "== metagon (go test -bench MAMLSinusoid, $iters iterations each)"
(cd "$root" && go test -run '^$' -bench 'MAMLSinusoid/second-order' -benchtime "${iters}x" ./metalearn/) | tee "$tmp/go.txt" | grep Benchmark

peer() { # name, extra args
  echo "== PyTorch peer: $1"
  "$py" "$peers/maml_sinusoid.py" --iters "$iters" --no-eval --json "$tmp/$1.json" "${@:2}" > /dev/null
  "$py" -c 'import json,sys; t=json.load(open(sys.argv[1]))["timing"]; print("%.3f ms/iter (median)" % t["median_ms"])' "$tmp/$1.json"
}
peer loop-threads1 --threads 1
peer batched-threads1 --threads 1 --batched-tasks
peer batched-threads2 --threads 2 --batched-tasks

"$py" - "$tmp" <<'PY'
import json, re, sys, os
d = sys.argv[1]
go = {}
for line in open(os.path.join(d, "go.txt")):
    m = re.match(r"BenchmarkMAMLSinusoid/second-order/(\w+)/workers=(\d)-\d+\s.*?([\d.]+) ms/iter", line)
    if m:
        go[f"metagon {m.group(1)}, {m.group(2)} worker(s)"] = float(m.group(3))
peer = {n: json.load(open(os.path.join(d, n + ".json")))["timing"]["median_ms"]
        for n in ("loop-threads1", "batched-threads1", "batched-threads2")}
ref = peer["batched-threads1"]
print("\n| implementation | ms / meta-iteration | vs PyTorch batched (threads=1) |\n|---|---|---|")
for n, v in list(go.items()) + [("PyTorch " + k, v) for k, v in peer.items()]:
    print(f"| {n} | {v:.2f} | {v / ref:.2f}x |")
if os.environ.get("BENCH_JSON"):
    json.dump({"maml_sinusoid": {"metagon_ms": go, "torch_ms": peer}}, open(os.environ["BENCH_JSON"], "w"), indent=1)
PY
