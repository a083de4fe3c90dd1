package main

import (
	"flag"
	"fmt"
	"math"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
)

// essentials are the training settings around the optimizer: learning-rate
// schedule, weight decay, gradient clipping, and early stopping on a
// validation split held out of the training set (earlystop.go).
type essentials struct {
	lrSchedule  string
	weightDecay float64
	clipNorm    float64
	validation  int
	earlyStop   int
}

// register adds the essentials' flags to fs.
func (e *essentials) register(fs *flag.FlagSet) {
	fs.StringVar(&e.lrSchedule, "lr-schedule", "", "learning-rate schedule from -lr, by optimizer step (batch): "+graph.ScheduleSyntax()+
		"; cosine and linear span the whole run (-epochs) unless steps= says (empty: -lr throughout)")
	fs.Float64Var(&e.weightDecay, "weight-decay", 0, "weight decay λ on every parameter: for sgd, momentum and adam L2, λ·w added to the gradient (λ/2·‖w‖² in the loss); for adamw decoupled, lr·λ·w taken off each weight per step (0: none)")
	fs.Float64Var(&e.clipNorm, "clip-norm", 0, "scale each batch's gradient to this global L2 norm when it is larger (0: no clipping)")
	fs.IntVar(&e.validation, "validation", 0, "hold out the last N training examples as a validation set, measured after every epoch (0: none)")
	fs.IntVar(&e.earlyStop, "early-stop", 0, "with -validation: stop after this many epochs without a better validation accuracy, the best model kept in CHECKPOINT.best (0: never stop early)")
}

// check refuses settings that mean nothing, naming the flag.
func (e essentials) check() error {
	switch {
	case e.weightDecay < 0 || math.IsNaN(e.weightDecay) || math.IsInf(e.weightDecay, 0):
		return cli.Usagef("-weight-decay %g: want a finite λ ≥ 0 (0: none)", e.weightDecay)
	case e.clipNorm < 0 || math.IsNaN(e.clipNorm) || math.IsInf(e.clipNorm, 0):
		return cli.Usagef("-clip-norm %g: want a finite norm ≥ 0 (0: no clipping)", e.clipNorm)
	case e.validation < 0:
		return cli.Usagef("-validation %d: want a number of examples ≥ 0 (0: none)", e.validation)
	case e.earlyStop < 0:
		return cli.Usagef("-early-stop %d: want a number of epochs ≥ 0 (0: never stop early)", e.earlyStop)
	case e.earlyStop > 0 && e.validation == 0:
		return cli.Usagef("-early-stop %d needs -validation N, the training examples to hold out and measure improvement on", e.earlyStop)
	}
	if e.lrSchedule != "" {
		if _, err := graph.ParseSchedule(e.lrSchedule, 1); err != nil {
			return cli.Usagef("-lr-schedule %q: %v", e.lrSchedule, err)
		}
	}
	return nil
}

// schedule is the -lr-schedule of a run of steps optimizer steps, nil
// without one.
func (e essentials) schedule(steps int) (graph.Schedule, error) {
	if e.lrSchedule == "" {
		return nil, nil
	}
	s, err := graph.ParseSchedule(e.lrSchedule, steps)
	if err != nil {
		return nil, cli.Usagef("-lr-schedule %q: %v", e.lrSchedule, err)
	}
	return s, nil
}

// describe says which essentials the run uses, for its banner ("" for
// none).
func (e essentials) describe(s graph.Schedule) string {
	var parts []string
	if s != nil {
		parts = append(parts, "lr "+graph.DescribeSchedule(s, "step"))
	}
	if e.weightDecay > 0 {
		parts = append(parts, fmt.Sprintf("weight decay %g", e.weightDecay))
	}
	if e.clipNorm > 0 {
		parts = append(parts, fmt.Sprintf("gradients clipped to norm %g", e.clipNorm))
	}
	if e.validation > 0 {
		parts = append(parts, fmt.Sprintf("%d examples held out for validation", e.validation))
	}
	if e.earlyStop > 0 {
		parts = append(parts, fmt.Sprintf("early stop after %d epochs without improvement", e.earlyStop))
	}
	if len(parts) == 0 {
		return ""
	}
	return ", " + strings.Join(parts, ", ")
}
