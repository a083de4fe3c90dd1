#!/usr/bin/env bash
# Replays a metagon MAML Omniglot run in PyTorch on identical inputs: the
# Go test TestExportReplay writes the run's initial weights, every
# meta-training episode and the test episodes; scripts/torch_maml_replay.py
# trains second-order MAML on them with PyTorch and prints the test
# accuracy, to put beside metagon's for the same seed.
#   scripts/replay_torch.sh SEED [extra cmd/meta flags as a JSON list]
# e.g. scripts/replay_torch.sh 1   (then compare with:
#   go run ./cmd/meta -dataset omniglot -iterations 200 -eval-tasks 300 -eval-steps 3 -seed 1)
# Needs PyTorch and NumPy: apt-get install -y python3-torch python3-numpy.
# Writes about 280 MB to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
SEED=${1:-1}
EXTRA=${2:-[]}
export OMNIGLOT_DIR=${OMNIGLOT_DIR:-$(realpath -m ../shared/data/omniglot)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=$("$PY" -c 'import json,sys; print(json.dumps(["-dataset","omniglot","-iterations","200","-eval-tasks","300","-seed",sys.argv[1]]+json.loads(sys.argv[2])))' "$SEED" "$EXTRA")
METAGON_REPLAY_DIR="$tmp" METAGON_REPLAY_ARGS="$args" go test -count=1 -run TestExportReplay ./command/meta/ >/dev/null
"$PY" scripts/torch_maml_replay.py "$tmp" 3 "${THREADS:-1}"
