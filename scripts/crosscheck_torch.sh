#!/usr/bin/env bash
# Compares metagon's second-order MAML meta-gradient of Conv-4 with
# PyTorch's autograd on the same weights and episode, in float64, for a few
# seeds. Needs PyTorch: apt-get install -y python3-torch python3-numpy
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for seed in ${SEEDS:-0 1 2}; do
	"$PY" scripts/torch_maml_case.py "$tmp/case.json" "$seed"
	METAGON_TORCH_CASE="$tmp/case.json" go test -count=1 -run TestMetaGradientMatchesPyTorch -v ./models/ | grep -E 'max|ok|FAIL|---'
done
