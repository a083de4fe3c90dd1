package metalearn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// MAMLPPOptions configures MAML++. Each of the paper's changes to MAML is
// a switch that is on unless its No… field is set, so that every one can
// be ablated: the zero value is the paper's method.
type MAMLPPOptions struct {
	// Options are MAML's. InnerSteps 0 means 5 (the paper's); InnerLR is
	// where the learned rates start (or MAML's fixed α with NoLSLR).
	Options
	// Iterations is the length of the run: CA anneals the outer learning
	// rate over it, and MSL's and DA's periods default to parts of it. If
	// zero, 50,000 (the paper's code: 100 epochs of 500 iterations).
	Iterations int

	// NoMultiStepLoss turns MSL off (msl.go): the meta-objective is the
	// query loss after the last inner step only, as in MAML.
	NoMultiStepLoss bool
	// MultiStepIterations is how long MSL lasts: over it the steps' weights
	// go from uniform toward the last step (MultiStepWeights); after it
	// only the last step's loss counts. If zero, Iterations/10 (the
	// paper's code: 10 of 100 epochs on Omniglot), at least 1.
	MultiStepIterations int

	// NoDerivativeAnnealing turns DA off (da.go): second-order
	// meta-gradients from the first iteration, as in MAML.
	NoDerivativeAnnealing bool
	// FirstOrderIterations is how long DA keeps the meta-gradient first
	// order. If zero, Iterations/2 (the paper's 50 epochs, of 100), at
	// least 1.
	FirstOrderIterations int

	// NoBNWeights turns BNWB off and NoBNStats BNRS off (per-step
	// batch-norm weights and biases, per-step running statistics;
	// models.StepNorm). They apply to models whose batch norm can be made
	// per-step (models.Stepped, such as Conv-4): the learner asks the
	// model for InnerSteps sets. A model without batch norm has nothing
	// to switch; one already configured per-step is taken as it is.
	NoBNWeights, NoBNStats bool

	// NoLSLR turns LSLR off (PerLayerPerStep, inner.go): the inner loop
	// steps with a fixed α = InnerLR, as in MAML, instead of learned
	// per-layer per-step rates.
	NoLSLR bool

	// NoCosineAnnealing turns CA off (ca.go): the outer learning rate
	// stays at the optimizer's. Options.Schedule, when set, replaces CA
	// whatever this says.
	NoCosineAnnealing bool
	// MinOuterLR is where CA ends. If zero, 1e-5 (the paper's code on
	// Omniglot).
	MinOuterLR float64
}

// withDefaults fills the zero fields with their documented defaults.
func (o MAMLPPOptions) withDefaults() MAMLPPOptions {
	if o.InnerSteps == 0 {
		o.InnerSteps = 5
	}
	o.Options = o.Options.withDefaults()
	if o.Iterations == 0 {
		o.Iterations = 50000
	}
	if o.MultiStepIterations == 0 {
		o.MultiStepIterations = max(o.Iterations/10, 1)
	}
	if o.FirstOrderIterations == 0 {
		o.FirstOrderIterations = max(o.Iterations/2, 1)
	}
	if o.MinOuterLR == 0 {
		o.MinOuterLR = 1e-5
	}
	return o
}

// MAMLPP is MAML++ (Antoniou, Edwards & Storkey, "How to train your
// MAML", ICLR 2019): MAML with five changes that stabilise its training
// and improve its accuracy, each a switch of MAMLPPOptions:
//
//   - MSL, multi-step loss: the query loss after every inner step, weighted,
//     the weights annealed toward the last step (msl.go);
//   - DA, derivative-order annealing: first-order meta-gradients first,
//     second-order after (da.go);
//   - BNWB and BNRS, per-step batch-norm weights and biases and per-step
//     running statistics (models.StepNorm, stepnorm.go);
//   - LSLR, learned per-layer per-step inner learning rates
//     (PerLayerPerStep);
//   - CA, cosine annealing of the outer learning rate (ca.go).
//
// It is a Gradient learner whose configuration follows the meta-iteration:
// MSL's weights and CA's rate are set before every meta-step, and the
// meta-graphs are rebuilt when MSL ends or DA turns second order. It keeps
// the iteration (and the running statistics) in checkpoints.
type MAMLPP struct {
	*Gradient
	o MAMLPPOptions
	// msl holds MSL's importance vector, which the meta-graphs read while
	// MSL lasts (Gradient.stepWeights points at it).
	msl *tensor.Dense
}

// NewMAMLPP returns MAML++ for model m, named "mamlpp". With BNWB or BNRS
// on and a model whose batch norm can be made per-step, the learner's
// model is m with InnerSteps sets (Model returns it).
func NewMAMLPP(m models.Model, o MAMLPPOptions) (*MAMLPP, error) {
	o = o.withDefaults()
	switch {
	case o.Iterations < 0 || o.MultiStepIterations < 0 || o.FirstOrderIterations < 0:
		return nil, fmt.Errorf("mamlpp: negative iterations (%d, MSL %d, DA %d)", o.Iterations, o.MultiStepIterations, o.FirstOrderIterations)
	case o.MinOuterLR < 0:
		return nil, fmt.Errorf("mamlpp: minimum outer learning rate %g", o.MinOuterLR)
	}
	if s, ok := m.(models.Stepped); ok && !s.StepNorm().Enabled() && (!o.NoBNWeights || !o.NoBNStats) {
		var err error
		if m, err = s.WithStepNorm(models.StepNorm{Steps: o.InnerSteps, Weights: !o.NoBNWeights, Running: !o.NoBNStats}); err != nil {
			return nil, fmt.Errorf("mamlpp: %w", err)
		}
	}
	var rule InnerRule
	if !o.NoLSLR {
		rule = &PerLayerPerStep{Init0: o.InnerLR}
	}
	if _, ok := o.Outer.(graph.LRSetter); ok && o.Schedule == nil {
		o.Schedule = o.cosineAnnealing()
	}
	g, err := NewGradient("mamlpp", m, GradientOptions{Options: o.Options, Rule: rule})
	if err != nil {
		return nil, err
	}
	l := &MAMLPP{Gradient: g, o: o, msl: tensor.New(tensor.Of(o.Dtype), tensor.WithShape(o.InnerSteps))}
	l.SetIteration(0)
	return l, nil
}

// Options returns the resolved options (defaults filled in).
func (l *MAMLPP) Options() MAMLPPOptions { return l.o }

// Iteration returns the number of meta-steps taken.
func (l *MAMLPP) Iteration() int { return l.steps }

// SetIteration puts the learner at meta-iteration it of its schedules
// (after resuming from a checkpoint): MSL's weights, the derivative order
// and the outer learning rate become those of iteration it.
func (l *MAMLPP) SetIteration(it int) {
	l.setSteps(it)
	firstOrder := l.o.firstOrderAt(it)
	v := l.o.multiStepAt(it)
	if firstOrder != l.firstOrder || (v != nil) != (l.stepWeights != nil) {
		l.firstOrder = firstOrder
		l.stepWeights = nil
		if v != nil {
			l.stepWeights = l.msl
		}
		l.dropMetaGraphs()
	}
	if v != nil {
		graph.SetFloat64s(l.msl, v)
	}
}

// MetaStep takes one meta-gradient step on the batch of tasks at the
// current iteration's configuration, then moves to the next iteration.
// Its Stats report the query loss and accuracy after the last inner step,
// as MAML's do, whatever the multi-step loss weighs.
func (l *MAMLPP) MetaStep(tasks []Task) (Stats, error) {
	st, err := l.metaStep(tasks)
	if err != nil {
		return st, err
	}
	l.SetIteration(l.steps)
	return st, nil
}

// SaveState saves the iteration ("mamlpp.iteration") and the running
// statistics of per-step batch norm.
func (l *MAMLPP) SaveState(ck *graph.Checkpoint) {
	l.engine.SaveState(ck)
	ck.Meta["mamlpp.iteration"] = strconv.Itoa(l.steps)
}

// LoadState restores what SaveState saved.
func (l *MAMLPP) LoadState(ck *graph.Checkpoint, iterations int) error {
	if err := l.engine.LoadState(ck, iterations); err != nil {
		return err
	}
	it, err := counterOf(ck, "mamlpp.iteration", iterations)
	if err != nil {
		return fmt.Errorf("mamlpp: %w", err)
	}
	l.SetIteration(it)
	return nil
}

// Describe says which of MAML++'s changes are on, and their schedules.
func (l *MAMLPP) Describe() string {
	o := l.o
	parts := []string{fmt.Sprintf("%s, %s", plural(o.InnerSteps, "inner step"), l.rule.Describe())}
	if sn := l.describeStepNorm(); sn != "" {
		parts = append(parts, sn)
	}
	if !o.NoMultiStepLoss {
		parts = append(parts, "multi-step loss annealed over "+plural(o.MultiStepIterations, "iteration"))
	}
	if !o.NoDerivativeAnnealing {
		parts = append(parts, "first order for "+plural(o.FirstOrderIterations, "iteration"))
	}
	return strings.Join(append(parts, outer(l.base, "iteration")), "; ")
}

// mamlppSwitches are MAML++'s changes to MAML, as its registration lists
// them (LearnerEntry.Switches) for Config.Without.
var mamlppSwitches = []Switch{
	{"msl", "multi-step loss: the query loss after every inner step, annealed toward the last"},
	{"da", "derivative-order annealing: first-order meta-gradients for the first half of the run"},
	{"bnwb", "per-step batch-norm weights and biases"},
	{"bnrs", "per-step batch-norm running statistics, used in evaluation"},
	{"lslr", "learned per-layer per-step inner learning rates"},
	{"ca", "cosine annealing of the outer learning rate"},
}

// mamlppWithout turns off the switches named in without.
func mamlppWithout(o MAMLPPOptions, without []string) MAMLPPOptions {
	for _, w := range without {
		switch w {
		case "msl":
			o.NoMultiStepLoss = true
		case "da":
			o.NoDerivativeAnnealing = true
		case "bnwb":
			o.NoBNWeights = true
		case "bnrs":
			o.NoBNStats = true
		case "lslr":
			o.NoLSLR = true
		case "ca":
			o.NoCosineAnnealing = true
		}
	}
	return o
}
