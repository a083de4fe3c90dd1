package main

import (
	"flag"
	"fmt"
	"github.com/metagon/metagon/internal/cli"
	"io"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
)

// config is the parsed command line.
type config struct {
	model      string
	epochs     int
	batch      int
	optimizer  string
	lr         float64
	loss       string
	seed       uint64
	dataDir    string
	checkpoint string
	resume     bool
	evalOnly   bool
	dtype      string
	evalBatch  int
	limit      int
}

// modelDefaults are the training settings each model is known to work with.
var modelDefaults = map[string]struct {
	optimizer string
	lr        float64
	loss      string
	batch     int
	epochs    int
}{
	"seed":  {"sgd", 3.0, "quadratic", 10, 1},
	"mlp":   {"adam", 1e-3, "xent", 32, 3},
	"conv4": {"adam", 1e-3, "xent", 32, 2},
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.model, "model", "seed", "model to train: "+strings.Join(models.Names(), ", "))
	fs.IntVar(&c.epochs, "epochs", 0, "epochs to train (0: the model's default)")
	fs.IntVar(&c.batch, "batch", 0, "mini-batch size (0: the model's default)")
	fs.StringVar(&c.optimizer, "optimizer", "", "sgd, momentum or adam (empty: the model's default)")
	fs.Float64Var(&c.lr, "lr", 0, "learning rate (0: the model's default)")
	fs.StringVar(&c.loss, "loss", "", "xent, quadratic or mse (empty: the model's default)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed for initialisation and shuffling")
	fs.StringVar(&c.dataDir, "data", "", "directory with the MNIST idx files (default $MNIST_DIR)")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "checkpoint file, written atomically after every epoch")
	fs.BoolVar(&c.resume, "resume", false, "continue training from -checkpoint")
	fs.BoolVar(&c.evalOnly, "eval", false, "only evaluate the model in -checkpoint on the test set")
	fs.StringVar(&c.dtype, "dtype", "float64", "element type: float64 or float32")
	fs.IntVar(&c.evalBatch, "eval-batch", 1000, "batch size for evaluation")
	fs.IntVar(&c.limit, "limit", 0, "train on the first N examples only (0: all)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: train [flags]\n\nTrains a model on MNIST.\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return c, err
	}
	if _, err := models.New(c.model); err != nil {
		return c, err
	}
	d := modelDefaults[c.model]
	if d.optimizer == "" {
		d.optimizer, d.lr, d.loss, d.batch, d.epochs = "adam", 1e-3, "xent", 32, 1
	}
	if c.epochs == 0 {
		c.epochs = d.epochs
	}
	if c.batch == 0 {
		c.batch = d.batch
	}
	if c.optimizer == "" {
		c.optimizer = d.optimizer
	}
	if c.lr == 0 {
		c.lr = d.lr
	}
	if c.loss == "" {
		c.loss = d.loss
	}
	switch {
	case c.epochs < 0:
		return c, fmt.Errorf("-epochs %d: want a positive number", c.epochs)
	case c.batch < 1:
		return c, fmt.Errorf("-batch %d: want at least 1", c.batch)
	case c.lr < 0:
		return c, fmt.Errorf("-lr %g: want a positive learning rate", c.lr)
	case c.dtype != "float64" && c.dtype != "float32":
		return c, fmt.Errorf("-dtype %q: want float64 or float32", c.dtype)
	case (c.resume || c.evalOnly) && c.checkpoint == "":
		return c, fmt.Errorf("-resume and -eval need -checkpoint FILE")
	case c.evalBatch < 1:
		return c, fmt.Errorf("-eval-batch %d: want at least 1", c.evalBatch)
	}
	if _, err := graph.NewOptimizer(c.optimizer, c.lr); err != nil {
		return c, err
	}
	return c, nil
}
