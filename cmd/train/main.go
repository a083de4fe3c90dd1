// Command train trains a registered model on MNIST by backpropagation.
//
//	go run ./cmd/train -model seed -epochs 1          # 784-30-10 sigmoid, SGD η=3
//	go run ./cmd/train -model mlp -epochs 3           # 784-100-10 ReLU, Adam 1e-3
//	go run ./cmd/train -model conv4 -epochs 2 -checkpoint conv4.ckpt
//	go run ./cmd/train -checkpoint conv4.ckpt -resume  # after Ctrl-C: goes on where it stopped
//	go run ./cmd/train -checkpoint conv4.ckpt -eval    # the checkpoint names its model
//
// MNIST is read from -data, else $MNIST_DIR, else $METAGON_DATA/mnist
// (scripts/download_mnist.sh fetches it).
//
// The checkpoint is saved after every epoch and on Ctrl-C or SIGTERM, with
// the optimizer state, the run's settings and the number of batches done in
// the current epoch: -resume continues with the same batches, so a run
// stopped and resumed ends with the same parameters as one never stopped. A
// new run does not replace an existing checkpoint unless -overwrite is
// given. Bad flags, models that do not take MNIST and unusable paths are
// refused before any data is loaded.
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
