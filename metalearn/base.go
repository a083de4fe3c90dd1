package metalearn

import (
	"fmt"
	"sync"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// base is what every learner of this package has: its name, the model,
// the meta-parameters and the options. It implements the Learner methods
// that only read them.
type base struct {
	name   string
	model  models.Model
	opts   Options
	params *graph.Params
	// modelNames are the model's own weights, in order (meta-parameters
	// may hold more, such as Meta-SGD's learning rates).
	modelNames []string
	// update steps the outer optimizer with the learning-rate schedule
	// and gradient clipping of Options (outerStep); steps counts the
	// outer steps taken, the schedule's place.
	update graph.Update
	steps  int
}

// newBase checks o, fills its defaults and initialises m's weights.
func newBase(name string, m models.Model, o Options) (*base, error) {
	o = o.withDefaults()
	if o.Spec.Support < 1 || o.Spec.Query < 1 {
		return nil, fmt.Errorf("%s: support and query sets need at least one example (got %d and %d)", name, o.Spec.Support, o.Spec.Query)
	}
	b := &base{name: name, model: m, opts: o, params: graph.NewParams(G.NewGraph(), o.Dtype),
		update: graph.Update{Opt: o.Outer, Schedule: o.Schedule, ClipNorm: o.ClipNorm}}
	if s, ok := o.Outer.(graph.LRSetter); ok {
		b.update.Base = s.GetLR()
	} else if o.Schedule != nil {
		return nil, fmt.Errorf("%s: learning-rate schedule %s: the outer optimizer %s has no rate to set", name, o.Schedule, o.Outer.Name())
	}
	if o.ClipNorm < 0 {
		return nil, fmt.Errorf("%s: clip norm %g: want 0 (no clipping) or more", name, o.ClipNorm)
	}
	if err := m.Init(b.params, o.Seed); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, p := range b.params.List {
		b.modelNames = append(b.modelNames, p.Name)
	}
	for _, n := range o.ZeroHead {
		if b.params.Get(n) == nil {
			return nil, fmt.Errorf("%s: zero head: model %s has no weight %q", name, m.Name(), n)
		}
	}
	b.zeroHead()
	return b, nil
}

// Name identifies the algorithm, e.g. "maml" or "fomaml".
func (b *base) Name() string { return b.name }

// Model returns the meta-learned network.
func (b *base) Model() models.Model { return b.model }

// Params returns the meta-parameters.
func (b *base) Params() *graph.Params { return b.params }

// Optimizer returns the outer optimizer.
func (b *base) Optimizer() graph.Optimizer { return b.opts.Outer }

// outerStep takes the outer optimizer's step on the meta-gradient grads
// (for Reptile, the move θ − mean θ̃) at the rate the schedule gives the
// learner's step count, after clipping grads to Options.ClipNorm, and
// counts it (graph.Update).
func (b *base) outerStep(grads []*tensor.Dense) error { return b.outerSteps(grads, 1) }

// outerSteps is outerStep for one step that counts n: the metric
// learners' step on a meta-batch of n episodes, whose schedules count
// episodes. The step takes the schedule's rate at the learner's count,
// which then advances by n (and the optimizer shows the rate there).
func (b *base) outerSteps(grads []*tensor.Dense, n int) error {
	if err := b.update.Step(b.steps, b.params.Values(), grads); err != nil {
		return err
	}
	b.setSteps(b.steps + n)
	return nil
}

// setSteps puts the learner after steps outer steps (after resuming from
// a checkpoint): the schedule goes on from there, and the optimizer shows
// the rate of the next step.
func (b *base) setSteps(steps int) {
	b.steps = steps
	b.update.SetStep(steps)
}

// Schedule returns the learning-rate schedule of the outer optimizer, the
// rate of whose step t is Schedule().Rate(base, t) with base its rate at
// construction; nil when the rate is left alone.
func (b *base) Schedule() graph.Schedule { return b.update.Schedule }

// SaveState saves nothing: a learner whose only state beyond its
// parameters and optimizer is its count of outer steps takes one per
// meta-iteration, and LoadState gets that number.
func (b *base) SaveState(*graph.Checkpoint) {}

// LoadState puts the learner after iterations outer steps, the schedule's
// place.
func (b *base) LoadState(_ *graph.Checkpoint, iterations int) error {
	b.setSteps(iterations)
	return nil
}

// zeroHead sets the Options.ZeroHead weights to zero.
func (b *base) zeroHead() {
	for _, n := range b.opts.ZeroHead {
		switch d := b.params.Get(n).Value.Data().(type) {
		case []float64:
			clear(d)
		case []float32:
			clear(d)
		}
	}
}

// mirror returns a graph of its own holding a mirror of the
// meta-parameters, for one worker goroutine.
func (b *base) mirror() (*G.ExprGraph, *graph.Params) {
	g := G.NewGraph()
	return g, b.params.Mirror(g)
}

// modelWeightsOf returns the model's weights among p's (not Meta-SGD's
// rates), in model order.
func (b *base) modelWeightsOf(p *graph.Params) graph.Weights {
	all := p.Weights()
	mw := graph.Weights{}
	for _, n := range b.modelNames {
		mw.Names = append(mw.Names, n)
		mw.Nodes = append(mw.Nodes, all.Get(n))
	}
	return mw
}

// parallel runs fn(k, i) for every i in [0, n) on up to workers
// goroutines, k being the goroutine's index (so fn can use per-goroutine
// state without locks), and returns the first error. Which goroutine runs
// which i is not fixed: results must not depend on k.
func parallel(workers, n int, fn func(k, i int) error) error {
	nw := min(workers, n)
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for k := 0; k < nw; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for i := range next {
				if errs[k] == nil {
					errs[k] = fn(k, i)
				}
			}
		}(k)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// mean returns the mean of xs.
func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
