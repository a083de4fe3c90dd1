#!/usr/bin/env bash
# docs/FAQ.md §4, "Why do gradients vanish (or explode)?": the gradient norm
# of each layer of a 10-layer MLP on MNIST (784, nine hidden layers of 64,
# 10) with sigmoid, with ReLU (He initialisation) and with sigmoid plus
# batch norm, at initialisation and after 2 epochs of plain SGD (lr 0.1,
# batch 32) on the first 10,000 training images. Each run is cmd/train with
# -grad-norms 10 (the norms every 10 steps, in OUT/<net>/metrics.json);
# internal/cmd/gradlayers draws them and prints the table. About a minute
# in all on one core.
#
#   scripts/faq_gradients.sh                      # writes docs/faq_gradients.png
#   OUT=/tmp/faq FIGURE=/tmp/g.png scripts/faq_gradients.sh
#
# MNIST is read from $MNIST_DIR (scripts/download_mnist.sh). The runs go to
# OUT (default runs/faq-gradients) and replace an earlier run's files there;
# the figure replaces FIGURE.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$root/runs/faq-gradients}
figure=${FIGURE:-$root/docs/faq_gradients.png}
cd "$root"
go build -o "$out/train" ./cmd/train
hidden=64,64,64,64,64,64,64,64,64
common=(-model mlp -hidden "$hidden" -optimizer sgd -lr 0.1 -batch 32 -epochs 2 -limit 10000 -grad-norms 10 -overwrite)
for net in sigmoid relu sigmoid-bn; do
  case $net in
    sigmoid) flags=(-activation sigmoid) ;;
    relu) flags=(-activation relu) ;;
    sigmoid-bn) flags=(-activation sigmoid -batch-norm) ;;
  esac
  echo "== go run ./cmd/train ${common[*]} ${flags[*]} -out $out/$net"
  "$out/train" "${common[@]}" "${flags[@]}" -out "$out/$net"
done
go run ./internal/cmd/gradlayers -overwrite -out "$figure" \
  -title "Gradient norm per layer: 10-layer MLP (9×64 hidden) on MNIST, SGD lr 0.1
dashed: at initialisation; solid: after 2 epochs of 10,000 images, batch 32 (mean of the last 5 records)" \
  -run sigmoid="$out/sigmoid" -run "ReLU (He init)"="$out/relu" -run "sigmoid + batch norm"="$out/sigmoid-bn"
