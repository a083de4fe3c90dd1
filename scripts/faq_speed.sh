#!/usr/bin/env bash
# docs/FAQ.md §3, "How do I make training faster?": training throughput on
# MNIST of the registered mlp (784-100-10 ReLU) and conv4 (64 filters) at
# batch sizes 10, 32, 128 and 512 in float64 and float32, with the test
# accuracy one epoch leaves (Adam, lr 1e-3, as cmd/train trains both), then
# the mlp with plain SGD for comparison, which shows what Adam's update
# costs per step. internal/cmd/throughput measures examples per second of
# CPU time, which a machine shared with other work disturbs far less than
# the wall clock (also printed). Runs on one core (GOMAXPROCS=1 unless
# set), a few minutes in all.
#
#   scripts/faq_speed.sh                       # writes docs/faq_speed.png
#   FIGURE=/tmp/speed.png MLP=60000 CONV4=5120 scripts/faq_speed.sh
#
# MLP and CONV4 are the training examples of each model's epoch (the first
# ones of MNIST's training split, read from $MNIST_DIR), the accuracy is
# on the first 2,000 test images. The figure replaces FIGURE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
figure=${FIGURE:-$root/docs/faq_speed.png}
export GOMAXPROCS=${GOMAXPROCS:-1}
cd "$root"
go run ./internal/cmd/machine   # CPU model and GEMM kernel beside the figures
echo "GOMAXPROCS=$GOMAXPROCS; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
go build -o "${TMPDIR:-/tmp}/metagon-throughput" ./internal/cmd/throughput
tp="${TMPDIR:-/tmp}/metagon-throughput"
echo "== throughput -model mlp=${MLP:-30000} -model conv4=${CONV4:-2048} -out $figure"
"$tp" -model mlp="${MLP:-30000}" -model conv4="${CONV4:-2048}" -out "$figure" -overwrite
echo "== throughput -model mlp=${MLP:-30000} -batches 10,128 -optimizer sgd -lr 0.1"
"$tp" -model mlp="${MLP:-30000}" -batches 10,128 -optimizer sgd -lr 0.1
