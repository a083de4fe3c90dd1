package models

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// StepNorm makes a network's batch norm depend on the inner-loop step, as
// MAML++ does (Antoniou, Edwards & Storkey, "How to train your MAML",
// ICLR 2019, §4):
//
//   - per-step batch-norm weights and biases (BNWB, Weights): every inner
//     step has its own scale and shift in each batch-norm layer, learnt by
//     the outer loop and left alone by the inner loop (the paper's code
//     does not adapt batch-norm parameters);
//   - per-step batch-norm running statistics (BNRS, Running): every step
//     has its own running mean and variance in each layer, averaged in
//     meta-training over the batches that step's forward passes normalise,
//     and used in evaluation mode in place of the batch's statistics.
//
// Inner step s (0-based) uses set min(s, Steps−1): both the support pass
// that computes the s-th update and the query pass that measures its
// result, as in the paper's code (the query before any step uses set 0).
//
// The paper's code collects the per-step statistics but normalises with
// the batch's in evaluation too (F.batch_norm with training=True); Running
// does what the paper describes, and Running = false is that code's
// behaviour (and MAML's transductive batch norm).
type StepNorm struct {
	// Steps is the number of sets: the inner steps of meta-training
	// (evaluation with more steps uses the last set for the rest). 0: batch
	// norm does not depend on the step, and Weights and Running are false.
	Steps int
	// Weights gives every step its own scale and shift (BNWB); false
	// shares one, as a plain network does.
	Weights bool
	// Running keeps running statistics per step and normalises with them
	// in evaluation mode (BNRS); false normalises each batch with its own
	// statistics in both modes.
	Running bool
	// Momentum is the running averages' weight on each new batch; 0 means
	// 0.1 (PyTorch's default and the paper's code).
	Momentum float64
}

// Enabled reports whether batch norm depends on the step.
func (sn StepNorm) Enabled() bool { return sn.Steps > 0 }

// check reports a configuration that means nothing.
func (sn StepNorm) check() error {
	switch {
	case sn.Steps < 0:
		return fmt.Errorf("step norm: %d steps", sn.Steps)
	case sn.Steps == 0 && (sn.Weights || sn.Running || sn.Momentum != 0):
		return fmt.Errorf("step norm: per-step weights or statistics need a number of steps")
	case sn.Steps > 0 && !sn.Weights && !sn.Running:
		return fmt.Errorf("step norm: %d steps, but neither per-step weights nor running statistics", sn.Steps)
	case sn.Momentum < 0 || sn.Momentum > 1:
		return fmt.Errorf("step norm: momentum %g, want (0, 1]", sn.Momentum)
	}
	return nil
}

// momentum returns Momentum with its default.
func (sn StepNorm) momentum() float64 {
	if sn.Momentum == 0 {
		return 0.1
	}
	return sn.Momentum
}

// set returns the set inner step s uses.
func (sn StepNorm) set(s int) int { return max(min(s, sn.Steps-1), 0) }

// suffix names the configuration in a model's name.
func (sn StepNorm) suffix() string {
	if !sn.Enabled() {
		return ""
	}
	s := fmt.Sprintf("-bn%dsteps", sn.Steps)
	if sn.Weights {
		s += "-weights"
	}
	if sn.Running {
		s += "-running"
		if sn.Momentum != 0 {
			s += fmt.Sprintf("%g", sn.Momentum)
		}
	}
	return s
}

// Stepped is a Model whose forward pass can depend on the inner-loop step
// (StepNorm). The optimization-based learners call ForwardStep with the
// step of each pass; Forward is ForwardStep at step 0 in training mode.
type Stepped interface {
	Model
	// StepNorm returns the model's configuration (Steps 0: none).
	StepNorm() StepNorm
	// WithStepNorm returns a copy of the model with batch norm per step as
	// sn says.
	WithStepNorm(sn StepNorm) (Model, error)
	// ForwardStep builds the output of inner step s (0-based) in mode n.
	// In evaluation mode with StepNorm.Running, w also holds the running
	// statistics of step s's set, under the names RunningStats gives.
	ForwardStep(w graph.Weights, x *G.Node, s int, n Norm) *G.Node
	// StepWeights names the weights of step s's set (scales and shifts),
	// in the same order for every s; none without StepNorm.Weights.
	StepWeights(s int) []string
	// RunningStats lists the running statistics of step s's set, in the
	// same order for every s; none without StepNorm.Running.
	RunningStats(s int) []Stat
}

// Stat is one running statistic: a per-channel mean or variance.
type Stat struct {
	Name  string
	Shape []int
	// Init is its value before any batch: 0 for means, 1 for variances.
	Init float64
}

// Norm is the mode of a Stepped model's batch norm.
type Norm struct {
	// Eval normalises with the running statistics (evaluation mode), read
	// from the weights; without StepNorm.Running it changes nothing: every
	// batch is normalised with its own statistics.
	Eval bool
	// Record, when not nil, is called in training mode with StepNorm.Running
	// for every batch norm as ForwardStep builds it, with the batch
	// statistics that its running statistics are to take in
	// (RunningStats.Update).
	Record func(BatchStat)
}

// BatchStat is what one batch norm saw in one forward pass: the batch's
// per-channel mean and biased variance as graph nodes, and the running
// statistics they update.
type BatchStat struct {
	// Mean and Var name the running statistics.
	Mean, Var string
	// BatchMean and BatchVar are the batch's statistics, of shape (C).
	BatchMean, BatchVar *G.Node
	// Count is the number of values per channel (N·H·W).
	Count int
}

// RunningStats holds a Stepped model's running statistics: state that no
// gradient reaches (they are not meta-parameters) but that moves with
// every training batch and that checkpoints keep.
type RunningStats struct {
	// Names and Values are the statistics in the model's order: every
	// set's, set 0 first.
	Names    []string
	Values   []*tensor.Dense
	momentum float64
	index    map[string]int
}

// NewRunningStats returns m's running statistics at their initial values
// (means 0, variances 1), of element type dt; nil when m keeps none.
func NewRunningStats(m Stepped, dt tensor.Dtype) *RunningStats {
	sn := m.StepNorm()
	if !sn.Running {
		return nil
	}
	r := &RunningStats{momentum: sn.momentum(), index: map[string]int{}}
	for s := 0; s < sn.Steps; s++ {
		for _, st := range m.RunningStats(s) {
			v := tensor.New(tensor.Of(dt), tensor.WithShape(st.Shape...))
			graph.Constant{Value: st.Init}.Fill(v)
			r.index[st.Name] = len(r.Names)
			r.Names = append(r.Names, st.Name)
			r.Values = append(r.Values, v)
		}
	}
	return r
}

// Get returns the statistic named name, or nil.
func (r *RunningStats) Get(name string) *tensor.Dense {
	if i, ok := r.index[name]; ok {
		return r.Values[i]
	}
	return nil
}

// Update folds one batch's statistics into the running averages, as
// PyTorch's batch norm does in training mode:
//
//	running ← (1 − momentum)·running + momentum·batch
//
// with the batch's mean, and its unbiased variance σ²·M/(M − 1) for the
// running variance (M = b.Count values per channel).
func (r *RunningStats) Update(b BatchStat, mean, variance []float64) error {
	for _, u := range []struct {
		name string
		v    []float64
		f    float64
	}{{b.Mean, mean, 1}, {b.Var, variance, float64(b.Count) / float64(max(b.Count-1, 1))}} {
		t := r.Get(u.name)
		if t == nil {
			return fmt.Errorf("running statistics: no %q", u.name)
		}
		cur := make([]float64, t.Shape().TotalSize())
		if len(u.v) != len(cur) {
			return fmt.Errorf("running statistics: %s has %d values, the batch's %d", u.name, len(cur), len(u.v))
		}
		graph.ToFloat64s(cur, t)
		for i := range cur {
			cur[i] = (1-r.momentum)*cur[i] + r.momentum*u.v[i]*u.f
		}
		graph.SetFloat64s(t, cur)
	}
	return nil
}
