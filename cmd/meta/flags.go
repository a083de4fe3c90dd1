package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// config is the parsed command line.
type config struct {
	algorithm  string
	dataset    string
	shots      int
	queries    int
	metaBatch  int
	innerSteps int
	evalSteps  int
	innerLR    float64
	outerLR    float64
	iterations int
	seed       uint64
	workers    int
	firstOrder bool
	out        string
	checkpoint string
	ckptEvery  int
	resume     bool
	evalOnly   bool
	evalTasks  int
	evalEvery  int
	dtype      string
	noPlots    bool
	init       string
}

var algorithms = []string{"maml", "fomaml", "metasgd", "anil", "reptile"}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("meta", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.algorithm, "algorithm", "maml", "meta-learner: "+strings.Join(algorithms, ", "))
	fs.StringVar(&c.dataset, "dataset", "sinusoid", "task family: sinusoid")
	fs.IntVar(&c.shots, "shots", 10, "K: support examples per task")
	fs.IntVar(&c.queries, "queries", 0, "query examples per task (0: same as -shots)")
	fs.IntVar(&c.metaBatch, "meta-batch", 25, "tasks per meta-update")
	fs.IntVar(&c.innerSteps, "inner-steps", 0, "inner-loop steps in meta-training (0: 1, or 5 for reptile)")
	fs.IntVar(&c.evalSteps, "eval-steps", 10, "inner steps at evaluation (the table reports 0.. this)")
	fs.Float64Var(&c.innerLR, "inner-lr", 0, "inner learning rate α (0: 0.01)")
	fs.Float64Var(&c.outerLR, "outer-lr", 0, "outer learning rate (0: Adam 1e-3, or ε = 0.1 for reptile)")
	fs.IntVar(&c.iterations, "iterations", 40000, "meta-iterations")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed (initialisation and task streams)")
	fs.IntVar(&c.workers, "workers", 0, "worker goroutines (0: one per CPU); results do not depend on it")
	fs.BoolVar(&c.firstOrder, "first-order", false, "first-order MAML/ANIL (drop second-order terms)")
	fs.StringVar(&c.out, "out", "runs/meta", "output directory for metrics.json and plots")
	fs.StringVar(&c.checkpoint, "checkpoint", "", "checkpoint file, written atomically every -checkpoint-every iterations and at the end")
	fs.IntVar(&c.ckptEvery, "checkpoint-every", 5000, "iterations between checkpoints")
	fs.BoolVar(&c.resume, "resume", false, "continue meta-training from -checkpoint")
	fs.BoolVar(&c.evalOnly, "eval", false, "only evaluate the learner in -checkpoint")
	fs.IntVar(&c.evalTasks, "eval-tasks", 600, "held-out tasks for the final evaluation")
	fs.IntVar(&c.evalEvery, "eval-every", 0, "iterations between validations on 100 held-out tasks (0: 10 per run)")
	fs.StringVar(&c.dtype, "dtype", "float64", "element type: float64 or float32")
	fs.BoolVar(&c.noPlots, "no-plots", false, "do not write PNG plots")
	fs.StringVar(&c.init, "init", "", "weight initialisation: finn (truncated normal 0.01) or torch (U(±1/√fan-in)); empty: finn, or torch for reptile")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: meta [flags]\n\nMeta-trains and evaluates a few-shot learner.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return c, errUsage
		}
		return c, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))
	}
	if c.algorithm == "fomaml" {
		c.algorithm, c.firstOrder = "maml", true
	}
	if !contains(algorithms, c.algorithm) {
		return c, fmt.Errorf("-algorithm %q: want one of %s", c.algorithm, strings.Join(algorithms, ", "))
	}
	if c.dataset != "sinusoid" {
		return c, fmt.Errorf("-dataset %q: want sinusoid", c.dataset)
	}
	if c.queries == 0 {
		c.queries = c.shots
	}
	reptile := c.algorithm == "reptile"
	if c.innerSteps == 0 {
		c.innerSteps = 1
		if reptile {
			c.innerSteps = 5
		}
	}
	if c.innerLR == 0 {
		c.innerLR = 0.01 // Reptile diverged (NaN after ~6,600 iterations) at 0.02
	}
	if c.outerLR == 0 {
		c.outerLR = 1e-3
		if reptile {
			c.outerLR = 0.1
		}
	}
	if c.init == "" {
		c.init = "finn"
		if reptile {
			c.init = "torch"
		}
	}
	if c.init != "finn" && c.init != "torch" {
		return c, fmt.Errorf("-init %q: want finn or torch", c.init)
	}
	if c.evalEvery == 0 {
		c.evalEvery = max(c.iterations/10, 1)
	}
	switch {
	case c.shots < 1 || c.queries < 1:
		return c, fmt.Errorf("-shots %d, -queries %d: want at least 1 each", c.shots, c.queries)
	case c.metaBatch < 1:
		return c, fmt.Errorf("-meta-batch %d: want at least 1", c.metaBatch)
	case c.innerSteps < 1 || c.evalSteps < 0:
		return c, fmt.Errorf("-inner-steps %d, -eval-steps %d: want ≥ 1 and ≥ 0", c.innerSteps, c.evalSteps)
	case c.iterations < 0:
		return c, fmt.Errorf("-iterations %d: want ≥ 0", c.iterations)
	case c.innerLR < 0 || c.outerLR < 0:
		return c, fmt.Errorf("learning rates must be positive")
	case c.workers < 0:
		return c, fmt.Errorf("-workers %d: want ≥ 0", c.workers)
	case c.evalTasks < 1:
		return c, fmt.Errorf("-eval-tasks %d: want at least 1", c.evalTasks)
	case c.dtype != "float64" && c.dtype != "float32":
		return c, fmt.Errorf("-dtype %q: want float64 or float32", c.dtype)
	case (c.resume || c.evalOnly) && c.checkpoint == "":
		return c, fmt.Errorf("-resume and -eval need -checkpoint FILE")
	case c.ckptEvery < 1:
		return c, fmt.Errorf("-checkpoint-every %d: want at least 1", c.ckptEvery)
	}
	return c, nil
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
