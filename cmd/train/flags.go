package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/models"
)

// config is the parsed command line.
type config struct {
	dataset    string
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
	overwrite  bool
	torch      cli.TorchFlags
	dtype      string
	evalBatch  int
	limit      int
	trainAcc   bool
	filters    int
	hidden     []int
	dropout    float64
	activation string      // -activation: an MLP's hidden activation ("": the model's)
	batchNorm  bool        // -batch-norm: an MLP with batch norm before each hidden activation
	diag       diagnostics // -find-lr, -grad-norms and -out (diagnostics.go)
	essentials             // -lr-schedule, -weight-decay, -clip-norm, -validation, -early-stop

	// set holds the flags given on the command line (cli.Set). The others
	// are taken from the checkpoint on -resume and -eval (see
	// config.takeFrom), else from the model's defaults.
	set map[string]bool
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

// parseFlags parses and checks the command line. Every error is a usage
// error (exit status 2) of one line naming the flag and what it wants.
// Settings left at zero are filled in later, once the model is known (see
// config.fillDefaults).
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.dataset, "dataset", "mnist", "data set: "+strings.Join(datasetNames(), ", ")+"; with -resume or -eval, the checkpoint's")
	fs.StringVar(&c.model, "model", "seed", "model to train: one of "+strings.Join(imageModels(), ", ")+
		", the registered image classifiers, shaped for -dataset (all: "+strings.Join(models.Names(), ", ")+"); with -resume or -eval, the checkpoint's")
	fs.IntVar(&c.filters, "filters", 0, "convolutional models: filters per layer (0: the model's, 64 for conv4)")
	cli.IntList(fs, "hidden", "MLPs: hidden layer widths, comma-separated, e.g. 300,100 (default: the model's)", &c.hidden)
	fs.Float64Var(&c.dropout, "dropout", 0, "dropout rate in training, after each hidden activation of an MLP or before conv4's head (0: none)")
	fs.StringVar(&c.activation, "activation", "", "MLPs: the hidden activation, relu, sigmoid or tanh (empty: the model's, sigmoid for seed and relu for mlp)")
	fs.BoolVar(&c.batchNorm, "batch-norm", false, "MLPs: batch norm between each hidden layer and its activation, with the batch's statistics in training and evaluation")
	c.diag.register(fs)
	fs.IntVar(&c.epochs, "epochs", 0, "epochs to train in all, counting those in a resumed checkpoint (0: the model's default)")
	fs.IntVar(&c.batch, "batch", 0, "mini-batch size (0: the model's default)")
	fs.StringVar(&c.optimizer, "optimizer", "", "sgd, momentum, adam or adamw (Adam with decoupled -weight-decay) (empty: the model's default)")
	fs.Float64Var(&c.lr, "lr", 0, "learning rate (0: the model's default)")
	fs.StringVar(&c.loss, "loss", "", "xent, quadratic or mse (empty: the model's default)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed for initialisation and shuffling")
	fs.StringVar(&c.dataDir, "data", "", "directory of the data set: MNIST's or Fashion-MNIST's idx files, or the CIFAR tarballs (default $MNIST_DIR, $FASHION_MNIST_DIR or $CIFAR_DIR)")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "checkpoint file, written atomically after every epoch and on Ctrl-C")
	fs.BoolVar(&c.resume, "resume", false, "continue the run in -checkpoint, with its settings unless flags override them")
	fs.BoolVar(&c.evalOnly, "eval", false, "only evaluate the model in -checkpoint on the test set")
	c.torch.Register(fs)
	fs.BoolVar(&c.overwrite, "overwrite", false, "start a new run even though -checkpoint exists, replacing it")
	fs.StringVar(&c.dtype, "dtype", "float64", "element type: float64 or float32")
	fs.IntVar(&c.evalBatch, "eval-batch", 1000, "batch size for evaluation")
	fs.IntVar(&c.limit, "limit", 0, "train on the first N examples only (0: all)")
	fs.BoolVar(&c.trainAcc, "train-acc", false, "after every epoch also measure the accuracy on the training examples (dropout off), beside the test accuracy: the gap between them is overfitting (costs a forward pass over them)")
	c.essentials.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: train [flags]\n\nTrains a model on MNIST, Fashion-MNIST, CIFAR-10 or CIFAR-100 (-dataset).\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return c, err
	}
	c.set = cli.Set(fs)
	return c, c.check()
}

// check refuses flag values that mean nothing, and flags that contradict
// each other.
func (c config) check() error {
	switch {
	case c.epochs < 0:
		return cli.Usagef("-epochs %d: want a positive number of epochs (0: the model's default)", c.epochs)
	case c.batch < 0:
		return cli.Usagef("-batch %d: want a positive batch size (0: the model's default)", c.batch)
	case c.lr < 0 || math.IsNaN(c.lr) || math.IsInf(c.lr, 0):
		return cli.Usagef("-lr %g: want a positive, finite learning rate (0: the model's default)", c.lr)
	case c.evalBatch < 1:
		return cli.Usagef("-eval-batch %d: want at least 1", c.evalBatch)
	case c.limit < 0:
		return cli.Usagef("-limit %d: want a positive number of examples (0: all)", c.limit)
	case !(c.dropout >= 0 && c.dropout < 1):
		return cli.Usagef("-dropout %g: want a rate in [0, 1) (0: no dropout)", c.dropout)
	case c.activation != "" && c.activation != "relu" && c.activation != "sigmoid" && c.activation != "tanh":
		return cli.Usagef("-activation %q: want relu, sigmoid or tanh (empty: the model's)", c.activation)
	case lookupDataset(c.dataset) == nil:
		return cli.Usagef("-dataset %q: want one of %s", c.dataset, strings.Join(datasetNames(), ", "))
	case c.dtype != "float64" && c.dtype != "float32":
		return cli.Usagef("-dtype %q: want float64 or float32", c.dtype)
	case c.resume && c.evalOnly:
		return cli.Usagef("-resume and -eval exclude each other: -resume trains on, -eval only evaluates")
	case (c.resume || c.evalOnly) && c.checkpoint == "":
		return cli.Usagef("-resume and -eval need -checkpoint FILE")
	case c.overwrite && (c.resume || c.evalOnly):
		return cli.Usagef("-overwrite starts a new run; it does not go with -resume or -eval")
	case c.torch.Import != "" && (c.resume || c.evalOnly):
		return cli.Usagef("-import-torch starts a new run from those weights; it does not go with -resume or -eval")
	case c.trainAcc && c.set["train-acc"] && (c.evalOnly || c.diag.findLR):
		return cli.Usagef("-train-acc measures the training examples after every epoch; -eval and -find-lr train no epochs")
	case c.overwrite && c.checkpoint == "" && !c.diag.writes():
		return cli.Usagef("-overwrite needs -checkpoint FILE, -find-lr or -grad-norms (the files to replace)")
	}
	if err := c.diag.check(c); err != nil {
		return err
	}
	if c.set["model"] {
		if _, err := models.New(c.model, models.Spec{}); err != nil {
			return cli.Usagef("-model: %v", err)
		}
	}
	if c.optimizer != "" {
		if _, err := graph.NewOptimizer(c.optimizer, 1); err != nil {
			return cli.Usagef("-optimizer: %v", err)
		}
	}
	switch models.Loss(c.loss) {
	case "", models.CrossEntropyLoss, models.QuadraticLoss, models.MSELoss:
	default:
		return cli.Usagef("-loss %q: unknown loss (want xent, quadratic or mse)", c.loss)
	}
	return c.essentials.check()
}

// fillDefaults sets the settings still zero to the defaults of the model
// registered as c.model.
func (c *config) fillDefaults() {
	d, ok := modelDefaults[c.model]
	if !ok {
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
}
