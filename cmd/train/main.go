// Command train trains a registered model on MNIST, Fashion-MNIST,
// CIFAR-10 or CIFAR-100 by backpropagation.
//
//	go run ./cmd/train -model seed -epochs 1          # 784-30-10 sigmoid, SGD η=3
//	go run ./cmd/train -model mlp -epochs 3           # 784-100-10 ReLU, Adam 1e-3
//	go run ./cmd/train -model conv4 -epochs 2 -checkpoint conv4.ckpt
//	go run ./cmd/train -checkpoint conv4.ckpt -resume  # after Ctrl-C: goes on where it stopped
//	go run ./cmd/train -checkpoint conv4.ckpt -eval    # the checkpoint names its model and data set
//	go run ./cmd/train -dataset fashion-mnist -model mlp
//	go run ./cmd/train -dataset cifar10 -model conv4   # Conv-4 on 3×32×32 images
//	go run ./cmd/train -model mlp -dropout 0.5         # dropout after the hidden layer
//	go run ./cmd/train -model mlp -find-lr             # learning-rate range test: plot and suggested -lr
//	go run ./cmd/train -model seed -grad-norms 10      # per-layer gradient norms in runs/train
//	go run ./cmd/train -model mlp -activation sigmoid -batch-norm  # an MLP's activation, batch norm
//
// -dataset chooses the data set (mnist by default). Each is read from
// -data, else its variable, else $METAGON_DATA/<name>, else where its
// download script puts it: MNIST from $MNIST_DIR (scripts/download_mnist.sh),
// Fashion-MNIST from $FASHION_MNIST_DIR (scripts/download_fashion_mnist.sh,
// or Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist),
// CIFAR-10 and CIFAR-100 from $CIFAR_DIR/cifar-10-binary.tar.gz and
// cifar-100-binary.tar.gz (scripts/download_cifar.sh). The image
// classifiers (seed, mlp, conv4) are shaped for the data set: its input
// size and classes. MNIST's images are scaled to [0,1]; CIFAR's are
// normalised per channel by the training split's mean and standard
// deviation.
//
// -lr-schedule sets the rate of every optimizer step from -lr (e.g.
// step:2000:0.5, exp:0.999, cosine:warmup=500, linear); -weight-decay adds
// L2 regularisation, decoupled with -optimizer adamw; -clip-norm clips each
// batch's gradient by its global norm; -validation N holds the last N
// training examples out and measures them after every epoch, and
// -early-stop P stops after P epochs without a better validation accuracy,
// the best model kept in CHECKPOINT.best.
//
// The checkpoint is saved after every epoch and on Ctrl-C or SIGTERM, with
// the optimizer state, the run's settings, the number of batches done in
// the current epoch and the record of the validations: -resume continues
// with the same batches and learning rates, so a run
// stopped and resumed ends with the same parameters as one never stopped. A
// new run does not replace an existing checkpoint unless -overwrite is
// given. Bad flags, models that do not take the data set and unusable
// paths are refused before any data is loaded.
//
// -find-lr (findlr.go) and -grad-norms (metrics.go) write their plots and
// records to -out, never over earlier ones without -overwrite.
package main

import (
	"context"
	"io"

	"github.com/metagon/metagon/internal/cli"
	"github.com/sirupsen/logrus"
)

func main() { cli.Main("train", run) }

// run is the whole command, separated from main so tests can call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, log *logrus.Logger) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	return train(ctx, cfg, stdout, stderr, log)
}
