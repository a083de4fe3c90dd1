#!/usr/bin/env bash
# Finn et al. (2017) §5.1 protocol in one command: 70,000 meta-iterations of
# 10-shot sinusoid regression (meta-batch 25, one inner step α = 0.01, Adam
# 1e-3), evaluated on 600 fresh tasks after 0, 1 and 10 inner steps, for
# second-order MAML, first-order MAML and Reptile (and more with ALGORITHMS).
# Each run writes metrics.json and plots to runs/sinusoid-<algorithm>/ and a
# checkpoint that -resume continues from after an interruption.
#
#   scripts/sinusoid_paper.sh
#   ALGORITHMS="maml metasgd anil" ITERATIONS=70000 scripts/sinusoid_paper.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
iters=${ITERATIONS:-70000}
algs=${ALGORITHMS:-maml fomaml reptile}
go build -o bin/meta ./cmd/meta
for alg in $algs; do
  out=runs/sinusoid-$alg
  mkdir -p "$out"
  resume=()
  [ -f "$out/checkpoint" ] && resume=(-resume)
  echo "== $alg ($iters iterations)"
  /usr/bin/time -f "wall %es" bin/meta -algorithm "$alg" -iterations "$iters" -out "$out" \
    -checkpoint "$out/checkpoint" "${resume[@]}" | tee "$out/table.md"
done
