#!/usr/bin/env bash
# The MNIST experiments of docs/FAQ.md, sections 1 (learning rate), 2
# (overfitting) and 5 (optimizer), and their figures and tables.
#
#   scripts/faq_mnist.sh            # all: lr, optim, overfit, then plots
#   scripts/faq_mnist.sh lr         # 1: range tests, and Adam and SGD at five rates and at the suggested one
#   scripts/faq_mnist.sh optim      # 5: momentum and AdamW at three rates (SGD and Adam: from lr)
#   scripts/faq_mnist.sh overfit    # 2: 1,000 images, 100 epochs, with and without regularisation
#   scripts/faq_mnist.sh plots      # the PNGs in docs/ and the tables, from runs/faq
#
# Every run writes runs/faq/<section>/<name>/: metrics.json (-grad-norms
# writes it: each epoch's training loss and accuracies), the run's stdout
# and log, and "done" (or "failed", with the error, for a run that
# diverged). A run that has one of those is skipped, so the script can be
# run again after an interruption; delete a run's folder to redo it. The
# plots step (internal/cmd/faqplot) reads the runs and writes
# docs/faq_lr_finder.png, docs/faq_lr_sweep.png, docs/faq_overfitting.png
# and docs/faq_optimizers.png (replacing them), and prints the FAQ's tables.
#
# MNIST is read from $MNIST_DIR, else ../shared/data/mnist beside the
# checkout. On a 2-core x86-64 machine shared with other runs the training
# took about 25 minutes of wall time, half of it in the two Adam runs at
# the rates that break training (0.1 and 1), which ran far slower than the
# others.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export MNIST_DIR=${MNIST_DIR:-$root/../shared/data/mnist}
[ -f "$MNIST_DIR/train-images-idx3-ubyte.gz" ] || [ -f "$MNIST_DIR/train-images-idx3-ubyte" ] ||
	{ echo "faq_mnist: no MNIST in $MNIST_DIR; run scripts/download_mnist.sh or set MNIST_DIR" >&2; exit 1; }
steps=${*:-lr optim overfit plots}
for s in $steps; do
	case $s in
	lr | optim | overfit | plots) ;;
	*) echo "faq_mnist: unknown step $s (want lr, optim, overfit or plots)" >&2; exit 2 ;;
	esac
done
go build -o bin/train ./cmd/train
runs=runs/faq

# run NAME FLAGS...: one training run of bin/train into $runs/NAME, unless
# it is done or failed already. A run that fails (a diverging rate) is
# recorded as failed and the script goes on.
run() {
	local out=$runs/$1
	shift
	if [ -f "$out/done" ] || [ -f "$out/failed" ]; then
		echo "== $out: $(cat "$out/done" "$out/failed" 2>/dev/null | head -1) (skipped; delete the folder to redo it)"
		return
	fi
	rm -rf "$out"
	mkdir -p "$out"
	echo "== $out: bin/train $*"
	echo "bin/train $*" >"$out/command"
	if bin/train "$@" -out "$out" >"$out/stdout.txt" 2>"$out/log.txt"; then
		tail -1 "$out/stdout.txt" | tee "$out/done"
	else
		grep -v '^epoch [0-9]*/' "$out/log.txt" | tail -1 | tee "$out/failed"
	fi
}

# The budget of sections 1 and 5: the MLP 784-100-10 (ReLU), batches of
# 32, 5 epochs of the 60,000 training images.
budget=(-model mlp -batch 32 -epochs 5 -grad-norms 1000)

for s in $steps; do
	case $s in
	lr)
		for opt in adam sgd; do
			out=$runs/lr/findlr-$opt
			if [ ! -f "$out/lr_finder.json" ]; then
				mkdir -p "$out"
				echo "== $out: bin/train -model mlp -batch 32 -optimizer $opt -find-lr"
				bin/train -model mlp -batch 32 -optimizer "$opt" -find-lr -out "$out" 2>"$out/log.txt" | tee "$out/stdout.txt"
			fi
			for lr in 1e-4 1e-3 1e-2 1e-1 1; do
				run "lr/$opt-$lr" "${budget[@]}" -optimizer "$opt" -lr "$lr"
			done
			# and at the rate the range test suggests
			sug=$(sed -n 's/.*"suggested_lr": *\([0-9.eE+-]*\).*/\1/p' "$out/lr_finder.json" | head -1)
			run "lr/$opt-suggested" "${budget[@]}" -optimizer "$opt" -lr "$sug"
		done
		;;
	optim)
		for lr in 1e-3 1e-2 1e-1; do
			run "optim/momentum-$lr" "${budget[@]}" -optimizer momentum -lr "$lr"
		done
		for lr in 1e-4 1e-3 1e-2; do
			run "optim/adamw-$lr" "${budget[@]}" -optimizer adamw -lr "$lr" -weight-decay 0.01
		done
		;;
	overfit)
		# The first 1,000 training images, 100 epochs (3,125 steps), Adam
		# 1e-3; the accuracy on the training images is measured after
		# every epoch (-train-acc). Early stopping trains on the first 800
		# and validates on 200 more (-validation holds out the last 200 of
		# the 60,000), so that it too sees 1,000 labelled images.
		# "more-data" is the plain run on 10,000 images for 10 epochs: the
		# same 3,125 steps. The strengths (λ, dropout) are the best of a
		# small sweep (docs/FAQ.md).
		small=(-model mlp -batch 32 -optimizer adam -lr 1e-3 -train-acc -grad-norms 1000)
		run overfit/plain "${small[@]}" -epochs 100 -limit 1000
		run overfit/l2 "${small[@]}" -epochs 100 -limit 1000 -weight-decay 1e-2
		run overfit/l2-strong "${small[@]}" -epochs 100 -limit 1000 -weight-decay 0.1
		run overfit/adamw "${small[@]}" -epochs 100 -limit 1000 -optimizer adamw -weight-decay 1
		run overfit/dropout "${small[@]}" -epochs 100 -limit 1000 -dropout 0.5
		run overfit/early-stop "${small[@]}" -epochs 100 -limit 800 -validation 200 -early-stop 10 -checkpoint "$runs/overfit/early-stop/checkpoint"
		run overfit/all "${small[@]}" -epochs 100 -limit 800 -validation 200 -early-stop 10 -checkpoint "$runs/overfit/all/checkpoint" \
			-optimizer adamw -weight-decay 1 -dropout 0.5
		run overfit/more-data "${small[@]}" -epochs 10 -limit 10000
		# the plain run with two other seeds: how far a run moves by chance
		run overfit/plain-seed2 "${small[@]}" -epochs 100 -limit 1000 -seed 2
		run overfit/plain-seed3 "${small[@]}" -epochs 100 -limit 1000 -seed 3
		;;
	plots)
		go run ./internal/cmd/faqplot -runs "$runs" -out docs
		;;
	esac
done
