#!/usr/bin/env bash
# The metric learners' Omniglot table (Snell et al. 2017, Vinyals et al.
# 2016, Sung et al. 2018): for each learner in LEARNERS and each K in SHOTS,
# one training run on the background characters, then 600 test episodes of
# 5-way K-shot (the run's own final evaluation) and 600 of 20-way K-shot
# (-eval of the same checkpoint) on the evaluation characters, and 600 of
# each of the other shot count (1 or 5) from the same checkpoint, which
# fill the table's cells of a shot count no run trained at ("trained
# 1-shot").
#
# Every run writes runs/omniglot-<learner>-<K>shot/ (metrics.json, plots,
# checkpoint, table.md) and checkpoints as it goes: run the script again
# after an interruption and it resumes unfinished runs and skips finished
# ones. At the end it prints the table of every finished run and writes it
# to runs/omniglot-metric-table.md (training budget: episodes, then minutes
# of training + validation).
#
#   scripts/metric_omniglot.sh                                    # data in $OMNIGLOT_DIR or ../shared/data/omniglot
#   LEARNERS="matchingnet relationnet" SHOTS=1 scripts/metric_omniglot.sh
#   EPISODES_relationnet=20000 scripts/metric_omniglot.sh        # a learner's training budget
#   META_FLAGS="-eval-tasks 100 -workers 1" scripts/metric_omniglot.sh   # more flags for every run of bin/meta
#
# Default budgets (training episodes): protonet 2500 (60-way episodes, as
# Snell et al., who train far longer), matchingnet 12000, matchingnet-fce
# 8000, relationnet 9000 (5-way episodes of the test shape, as the papers);
# on a 2-core x86-64 machine that is under an hour each. Matching Networks
# learn slowly with the paper's flat attention: META_FLAGS="-scale 30"
# sharpens it (docs/RESULTS.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
data=${OMNIGLOT_DIR:-$root/../shared/data/omniglot}
learners=${LEARNERS:-matchingnet relationnet protonet matchingnet-fce}
read -r -a extra <<< "${META_FLAGS:-}"
shots=${SHOTS:-1 5}
[ -f "$data/images_background.zip" ] || { echo "metric_omniglot: no Omniglot zips in $data; run scripts/download_omniglot.sh or set OMNIGLOT_DIR" >&2; exit 1; }
go build -o bin/meta ./cmd/meta

budget() { # learner → default training episodes
  case $1 in
    protonet) echo 2500 ;;
    matchingnet) echo 12000 ;;
    matchingnet-fce) echo 8000 ;;
    relationnet) echo 9000 ;;
    *) echo 5000 ;;
  esac
}

finished() { # a run's metrics.json exists and holds its final evaluation
  [ -f "$1/metrics.json" ] && ! grep -q '"eval": null' "$1/metrics.json"
}

for l in $learners; do
  var=EPISODES_${l//-/_}
  episodes=${!var:-$(budget "$l")}
  for k in $shots; do
    out=runs/omniglot-$l-${k}shot
    mkdir -p "$out"
    if ! finished "$out"; then
      resume=()
      [ -f "$out/checkpoint" ] && resume=(-resume)
      echo "== $l, 5-way $k-shot test, $episodes training episodes (${resume[*]:-fresh})"
      /usr/bin/time -f "wall %es" -o "$out/wall.txt" -a bin/meta -dataset omniglot -data "$data" -algorithm "$l" \
        -shots "$k" -iterations "$episodes" -out "$out" -checkpoint "$out/checkpoint" "${resume[@]}" "${extra[@]}" | tee "$out/table.md"
    fi
    if [ ! -f "$out/20way/eval.json" ]; then
      echo "== $l, 20-way $k-shot test of the same checkpoint"
      bin/meta -eval -data "$data" -checkpoint "$out/checkpoint" -ways 20 -out "$out/20way" "${extra[@]}" | tee "$out/table-20way.md"
    fi
    # The same checkpoint at the other shot count: the table shows these
    # where no run trained at that count, marked so.
    for k2 in 1 5; do
      [ "$k2" = "$k" ] && continue
      for w in 5 20; do
        cross=$out/${w}way-${k2}shot
        if [ ! -f "$cross/eval.json" ]; then
          echo "== $l, $w-way $k2-shot test of the $k-shot checkpoint"
          # -queries 1: the training episodes' queries (Relation Networks'
          # 19) plus 5 shots would not fit in a character's 20 drawings;
          # the test episodes keep their 15
          bin/meta -eval -data "$data" -checkpoint "$out/checkpoint" -ways "$w" -shots "$k2" -queries 1 -out "$cross" "${extra[@]}" | tee "$cross.md"
        fi
      done
    done
  done
done

# The table of every finished run (also for runs of earlier invocations).
"${PYTHON:-python3}" - runs <<'PY' | tee runs/omniglot-metric-table.md
import glob, json, os, sys
cells, trained = {}, set()
# runs trained at 1 shot sort before 5: a cell from a run trained at its
# own shot count replaces one evaluated from the other's checkpoint
for d in sorted(glob.glob(os.path.join(sys.argv[1], "omniglot-*-*shot"))):
    name = os.path.basename(d)[len("omniglot-"):]
    learner, k = name.rsplit("-", 1)
    k = int(k[:-len("shot")])
    try:
        m = json.load(open(os.path.join(d, "metrics.json")))
    except (OSError, ValueError):
        continue
    if not m.get("eval"):
        continue
    budget = f"{m['iterations']} ep., {m['train_seconds'] / 60:.0f}+{m['validation_seconds'] / 60:.0f} min"
    def load(sub):
        p = os.path.join(d, sub, "eval.json")
        return json.load(open(p)).get("eval") if os.path.exists(p) else None
    evals = [(5, k, m["eval"], ""), (20, k, load("20way"), "")]
    evals += [(w, k2, load(f"{w}way-{k2}shot"), f"; trained {k}-shot") for k2 in (1, 5) if k2 != k for w in (5, 20)]
    for ways, shots, ev, note in evals:
        own = not note
        if ev and (own or (learner, ways, shots) not in trained):
            a = ev["query_accuracy_by_steps"][0]
            cells[(learner, ways, shots)] = f"{100 * a['Mean']:.2f} ± {100 * a['CI95']:.2f}% ({budget}{note})"
            if own:
                trained.add((learner, ways, shots))
learners = sorted({l for l, _, _ in cells})
cols = [(5, 1), (5, 5), (20, 1), (20, 5)]
print("| learner | " + " | ".join(f"{w}-way {k}-shot" for w, k in cols) + " |")
print("|---|" + "---|" * len(cols))
for l in learners:
    print(f"| {l} | " + " | ".join(cells.get((l, w, k), "not run") for w, k in cols) + " |")
PY
