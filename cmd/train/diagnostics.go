package main

import (
	"flag"
	"math"
	"path/filepath"

	"github.com/metagon/metagon/internal/cli"
)

// diagnostics are the flags of the tools that look into training rather
// than train: the learning-rate range test (findlr.go) and the per-layer
// gradient norms (metrics.go). Their files go to -out.
type diagnostics struct {
	findLR               bool
	findLRSteps          int
	findLRMin, findLRMax float64
	gradNorms            int
	out                  string
}

// The files written to -out.
const (
	lrFinderPlot = "lr_finder.png"
	lrFinderJSON = "lr_finder.json"
	metricsFile  = "metrics.json"
	gradNormPlot = "grad_norms.png"
)

func (d *diagnostics) register(fs *flag.FlagSet) {
	fs.BoolVar(&d.findLR, "find-lr", false, "run the learning-rate range test instead of training: the loss over -find-lr-steps steps at rates growing exponentially from -find-lr-min to -find-lr-max, plotted to "+lrFinderPlot+" and listed in "+lrFinderJSON+" in -out, and a suggested -lr (writes no checkpoint)")
	fs.IntVar(&d.findLRSteps, "find-lr-steps", 200, "-find-lr: steps of the sweep (it stops early once the loss diverges)")
	fs.Float64Var(&d.findLRMin, "find-lr-min", 1e-6, "-find-lr: the first learning rate")
	fs.Float64Var(&d.findLRMax, "find-lr-max", 10, "-find-lr: the last learning rate")
	fs.IntVar(&d.gradNorms, "grad-norms", 0, "record the L2 norm of every parameter's gradient every N steps, from the first, into "+metricsFile+" and "+gradNormPlot+" in -out (0: off; give it again with -resume to continue the record)")
	fs.StringVar(&d.out, "out", filepath.Join("runs", "train"), "directory for the files of -find-lr and -grad-norms")
}

// writes reports whether the run writes files to -out.
func (d diagnostics) writes() bool { return d.findLR || d.gradNorms > 0 }

// check refuses values that mean nothing and combinations that contradict
// each other.
func (d diagnostics) check(c config) error {
	switch {
	case d.findLRSteps < 2:
		return cli.Usagef("-find-lr-steps %d: want at least 2 steps", d.findLRSteps)
	case !(d.findLRMin > 0) || math.IsInf(d.findLRMin, 0):
		return cli.Usagef("-find-lr-min %g: want a positive, finite learning rate", d.findLRMin)
	case !(d.findLRMax > d.findLRMin) || math.IsInf(d.findLRMax, 0):
		return cli.Usagef("-find-lr-max %g: want a finite learning rate above -find-lr-min %g", d.findLRMax, d.findLRMin)
	case d.gradNorms < 0:
		return cli.Usagef("-grad-norms %d: want a number of steps between records (0: off)", d.gradNorms)
	case d.findLR && (c.checkpoint != "" || c.resume || c.evalOnly):
		return cli.Usagef("-find-lr trains from the initial weights and writes no checkpoint: leave out -checkpoint, -resume and -eval")
	case d.findLR && c.torch.Export != "":
		return cli.Usagef("-find-lr leaves the weights as they were: there is nothing for -export-torch to write")
	case d.findLR && d.gradNorms > 0:
		return cli.Usagef("-find-lr and -grad-norms exclude each other: the range test is not a training run to record")
	case c.evalOnly && d.gradNorms > 0:
		return cli.Usagef("-grad-norms records training; -eval does not train")
	case d.writes() && d.out == "":
		return cli.Usagef("-out is empty: want the directory for the files of -find-lr or -grad-norms")
	}
	return nil
}

// checkOutputs checks, before any work, that the files of -find-lr or
// -grad-norms can be written to -out. An existing file is replaced only
// with -overwrite, or, for the gradient record, by the -resume that
// continues it.
func (d diagnostics) checkOutputs(c config) error {
	var files []string
	switch {
	case d.findLR:
		files = []string{lrFinderPlot, lrFinderJSON}
	case d.gradNorms > 0:
		files = []string{metricsFile, gradNormPlot}
	default:
		return nil
	}
	if err := cli.CheckDir("out", d.out); err != nil {
		return err
	}
	for _, f := range files {
		if err := cli.CheckFile("out", filepath.Join(d.out, f), c.overwrite || (c.resume && d.gradNorms > 0),
			"add -overwrite to replace it, or choose another -out"); err != nil {
			return err
		}
	}
	return nil
}
