package models

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
)

// LRRangeOptions configures Trainer.FindLR. Zero fields take the defaults
// documented with each.
type LRRangeOptions struct {
	// MinLR and MaxLR are the first and last rates of the sweep; 0: 1e-6
	// and 10.
	MinLR, MaxLR float64
	// Steps is the number of training steps of the sweep; 0: 200.
	Steps int
	// Smoothing is β of the exponential moving average of the loss (with
	// Adam's bias correction) that the suggestion reads; 0: 0.9, an
	// average over about the last 10 steps.
	Smoothing float64
	// Diverge stops the sweep once the smoothed loss exceeds Diverge
	// times its smallest value so far; 0: 4.
	Diverge float64
	// Progress, if not nil, is called after every step with its point.
	Progress func(LRPoint)
}

// withDefaults returns o with its zero fields set to the defaults, or an
// error naming a field that means nothing.
func (o LRRangeOptions) withDefaults() (LRRangeOptions, error) {
	if o.MinLR == 0 {
		o.MinLR = 1e-6
	}
	if o.MaxLR == 0 {
		o.MaxLR = 10
	}
	if o.Steps == 0 {
		o.Steps = 200
	}
	if o.Smoothing == 0 {
		o.Smoothing = 0.9
	}
	if o.Diverge == 0 {
		o.Diverge = 4
	}
	switch {
	case !(o.MinLR > 0) || math.IsInf(o.MinLR, 0):
		return o, fmt.Errorf("learning-rate range test: lowest rate %g; want a positive, finite rate", o.MinLR)
	case !(o.MaxLR > o.MinLR) || math.IsInf(o.MaxLR, 0):
		return o, fmt.Errorf("learning-rate range test: highest rate %g; want a finite rate above the lowest, %g", o.MaxLR, o.MinLR)
	case o.Steps < 2:
		return o, fmt.Errorf("learning-rate range test: %d steps; want at least 2", o.Steps)
	case !(o.Smoothing > 0 && o.Smoothing < 1):
		return o, fmt.Errorf("learning-rate range test: smoothing %g; want 0 < β < 1", o.Smoothing)
	case !(o.Diverge > 1) || math.IsInf(o.Diverge, 0):
		return o, fmt.Errorf("learning-rate range test: divergence factor %g; want a finite factor above 1", o.Diverge)
	}
	return o, nil
}

// rate returns the sweep's rate at step i: MinLR·(MaxLR/MinLR)^(i/(Steps−1)).
func (o LRRangeOptions) rate(i int) float64 {
	return o.MinLR * math.Pow(o.MaxLR/o.MinLR, float64(i)/float64(o.Steps-1))
}

// LRPoint is one step of a learning-rate range test.
type LRPoint struct {
	Step int
	// LR is the rate of the step, Loss its training loss (before the
	// update; +Inf or NaN when it diverged) and Smoothed the moving
	// average of the losses up to it.
	LR, Loss, Smoothed float64
}

// LRRange is the result of a learning-rate range test.
type LRRange struct {
	// Options are the options of the sweep, defaults filled in.
	Options LRRangeOptions
	// Points are the steps taken, in order.
	Points []LRPoint
	// Lowest is the point of the smallest smoothed loss.
	Lowest LRPoint
	// Suggested is the suggested learning rate: Lowest.LR/10, and at
	// least MinLR (see FindLR).
	Suggested float64
	// Diverged reports that the sweep stopped early: the smoothed loss
	// passed Diverge times its smallest value, or a loss was not finite.
	Diverged bool
	// Edge, when not empty, says that the lowest loss lies at an end of
	// the sweep, so the suggestion is a bound rather than a choice, and
	// which end to move.
	Edge string
}

// FindLR runs the learning-rate range test (Smith, "Cyclical Learning
// Rates for Training Neural Networks", WACV 2017, §3.3; the fast.ai
// "LR finder"): Steps training steps from the current weights, step i at
// the rate MinLR·(MaxLR/MinLR)^(i/(Steps−1)), growing exponentially, on
// the batch batch(i) returns, recording each step's loss. An error from
// batch (e.g. the run was interrupted) ends the sweep and is returned. The loss falls
// once the rate is large enough to make progress and explodes once it is
// too large; the sweep stops there (Diverge). The suggestion is the rate
// at the smallest smoothed loss divided by 10: the minimum is where
// training is on the edge of instability, and a tenth of it still trains
// fast while staying clear of that edge (fast.ai's "minimum/10" rule; the
// steepest descent of the curve, the other common rule, is more sensitive
// to noise on short sweeps).
//
// The optimizer must implement graph.LRSetter. FindLR leaves the trainer
// as it found it: the parameters, the optimizer's state and rate, and
// Steps are restored afterwards, so the sweep can precede real training.
func (t *Trainer) FindLR(o LRRangeOptions, batch func(step int) (x, labels []float64, err error)) (LRRange, error) {
	o, err := o.withDefaults()
	if err != nil {
		return LRRange{}, err
	}
	setter, ok := t.Opt.(graph.LRSetter)
	if !ok {
		return LRRange{}, fmt.Errorf("learning-rate range test: optimizer %s cannot change its rate", t.Opt.Name())
	}
	name := t.Model.Name()
	params, optState, steps, lr := t.Params.Snapshot(name), t.Opt.State(), t.Steps, setter.GetLR()
	defer func() {
		// restoring what was snapshotted from the same parameters and
		// optimizer cannot fail
		_ = t.Params.Restore(params, name)
		_ = t.Opt.SetState(optState)
		t.Steps = steps
		setter.SetLR(lr)
	}()

	res := LRRange{Options: o, Lowest: LRPoint{Smoothed: math.Inf(1)}}
	avg := 0.0
	for i := range o.Steps {
		p := LRPoint{Step: i, LR: o.rate(i)}
		setter.SetLR(p.LR)
		x, labels, err := batch(i)
		if err != nil {
			return res, err
		}
		p.Loss, err = t.Step(x, labels)
		finite := !math.IsNaN(p.Loss) && !math.IsInf(p.Loss, 0)
		if err != nil && finite {
			return res, fmt.Errorf("learning-rate range test, step %d (rate %g): %w", i, p.LR, err)
		}
		if finite {
			avg = o.Smoothing*avg + (1-o.Smoothing)*p.Loss
			p.Smoothed = avg / (1 - math.Pow(o.Smoothing, float64(i+1)))
		} else {
			p.Smoothed = math.Inf(1)
		}
		res.Points = append(res.Points, p)
		if o.Progress != nil {
			o.Progress(p)
		}
		if p.Smoothed < res.Lowest.Smoothed {
			res.Lowest = p
		}
		if !finite || p.Smoothed > o.Diverge*res.Lowest.Smoothed {
			res.Diverged = true
			break
		}
	}
	if math.IsInf(res.Lowest.Smoothed, 1) {
		return res, fmt.Errorf("learning-rate range test: the loss was not finite even at the lowest rate, %g", o.MinLR)
	}
	res.Suggested = max(res.Lowest.LR/10, o.MinLR)
	switch {
	case res.Lowest.Step == 0:
		res.Edge = fmt.Sprintf("the loss was lowest at the first rate, %g: lower the lowest rate", o.MinLR)
	case !res.Diverged && res.Lowest.Step == len(res.Points)-1:
		res.Edge = fmt.Sprintf("the loss was still falling at the last rate, %g: raise the highest rate", o.MaxLR)
	}
	return res, nil
}
