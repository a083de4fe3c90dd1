#!/usr/bin/env bash
# MAML++ against MAML on Omniglot 5-way 1-shot, the runs behind
# docs/RESULTS.md's "MAML++" section. Every run is one process of one core
# (-workers 1), checkpointed, and resumed if its checkpoint exists, so a
# stopped script continues where it was; each ends with the 600-episode
# test table in OUT/<run>.log.
#
#   scripts/mamlpp_omniglot.sh compare    # MAML 500 iterations, MAML++ 650 (first order for half, as the paper
#                                         # says: as long as MAML's 500), MAML++ 500 second order throughout (as
#                                         # the paper's released Omniglot configuration; an iteration costs MAML's)
#   scripts/mamlpp_omniglot.sh ablation   # MAML, +MSL, +LSLR, +BNWB/BNRS, all: ITERS (200) iterations each
#   scripts/mamlpp_omniglot.sh long       # MAML++ for ITERS (1000) iterations, validation every 100
#
# OUT (default runs/mamlpp) holds the runs, JOBS (default 2) runs at once;
# data in $OMNIGLOT_DIR or ../shared/data/omniglot.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-}
out=${OUT:-$root/runs/mamlpp}
jobs=${JOBS:-2}
export OMNIGLOT_DIR=${OMNIGLOT_DIR:-$root/../shared/data/omniglot}
[ -f "$OMNIGLOT_DIR/images_background.zip" ] || { echo "mamlpp_omniglot: no Omniglot zips in $OMNIGLOT_DIR; run scripts/download_omniglot.sh or set OMNIGLOT_DIR" >&2; exit 1; }
case "$what" in
  compare)
    runs=("maml -iterations 500"
          "mamlpp -algorithm mamlpp -iterations 650"
          "mamlpp-so -algorithm mamlpp -iterations 500 -without da") ;;
  ablation)
    it=${ITERS:-200}
    runs=("ablation-maml -algorithm mamlpp -iterations $it -without msl,da,bnwb,bnrs,lslr,ca"
          "ablation-msl -algorithm mamlpp -iterations $it -without da,bnwb,bnrs,lslr,ca"
          "ablation-lslr -algorithm mamlpp -iterations $it -without msl,da,bnwb,bnrs,ca"
          "ablation-bn -algorithm mamlpp -iterations $it -without msl,da,lslr,ca"
          "ablation-all -algorithm mamlpp -iterations $it") ;;
  long)
    runs=("long -algorithm mamlpp -iterations ${ITERS:-1000} -eval-every 100") ;;
  *) echo "mamlpp_omniglot: want compare, ablation or long (usage: scripts/mamlpp_omniglot.sh compare|ablation|long)" >&2; exit 2 ;;
esac
mkdir -p "$out"
(cd "$root" && go build -o "$out/meta" ./cmd/meta)

one() { # name, then meta's flags
  local name=$1; shift
  local resume=()
  [ -f "$out/$name.ckpt" ] && resume=(-resume)
  "$out/meta" -dataset omniglot -workers 1 -eval-tasks 600 -checkpoint "$out/$name.ckpt" -out "$out/$name" \
    "$@" "${resume[@]}" >> "$out/$name.log" 2>&1 || echo "mamlpp_omniglot: run $name failed, see $out/$name.log" >&2
}
export -f one
export out
printf '%s\n' "${runs[@]}" | xargs -P "$jobs" -I{} bash -c 'one {}'
for r in "${runs[@]}"; do
  name=${r%% *}
  echo "== $name: ${r#* }"
  grep -E "meta-training done|^\|" "$out/$name.log" | tail -6
done
