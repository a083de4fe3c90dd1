#!/usr/bin/env bash
# Compares metagon's Lanczos resize of Omniglot (-resize lanczos) with
# Pillow's Image.resize(..., Image.LANCZOS) on the same drawings, at two
# sizes: they must agree byte for byte. Needs Pillow:
# apt-get install -y python3-pil
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-/usr/bin/python3}
DIR=$(realpath "${OMNIGLOT_DIR:-../shared/data/omniglot}")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for size in 28 84; do
	"$PY" scripts/pil_lanczos_case.py "$DIR" "$tmp/case.json" 40 "$size"
	METAGON_PIL_CASE="$tmp/case.json" OMNIGLOT_DIR="$DIR" go test -count=1 -run TestLanczosMatchesPillow -v ./data/ | grep -E 'match|ok|FAIL|---|skip|not set'
done
