package metalearn

import (
	"fmt"
	"strings"
)

// Describer is a Learner that says in one line how it meta-learns, for
// banners and reports, e.g. "1 inner SGD step, α = 0.4; outer adam, lr
// 0.001". Every learner of this package is one.
type Describer interface {
	Describe() string
}

// Describe says how a Gradient learner (MAML, FOMAML, Meta-SGD, ANIL)
// adapts and meta-learns.
func (l *Gradient) Describe() string {
	inner := fmt.Sprintf("%s, %s", plural(l.opts.InnerSteps, "inner step"), l.rule.Describe())
	if l.adapted != nil {
		inner += " on " + strings.Join(l.adapting, ", ") + " only"
	}
	if l.firstOrder {
		inner += ", first order"
	}
	if sn := l.describeStepNorm(); sn != "" {
		inner += "; " + sn
	}
	return inner + "; " + outer(l.base)
}

// Describe says how Reptile trains its tasks and moves toward them.
func (l *Reptile) Describe() string {
	kind := "SGD"
	if l.opts.InnerAdam {
		kind = "Adam (fresh per task)"
		if l.opts.CarryAdam {
			kind = "Adam (carried from task to task)"
		}
	}
	inner := fmt.Sprintf("%s of %s, lr %g", plural(l.opts.InnerSteps, "inner step"), kind, l.opts.InnerLR)
	if l.opts.InnerBatch > 0 {
		inner += fmt.Sprintf(", batches of %d", l.opts.InnerBatch)
	}
	eps := fmt.Sprintf("ε = %g", l.opts.OuterLR)
	if l.opts.Iterations > 0 {
		eps += fmt.Sprintf(" annealed to 0 over %d iterations", l.opts.Iterations)
	}
	return inner + "; " + eps
}

// Describe says how a metric learner classifies (its head's Describe,
// if it has one): it has no inner loop.
func (l *Metric) Describe() string {
	how := l.name
	if d, ok := l.head.(Describer); ok {
		how = d.Describe()
	}
	s := fmt.Sprintf("no inner steps: %s; %s", how, outer(l.base))
	if l.mopts.LRHalvingEvery > 0 {
		s += fmt.Sprintf(", halved every %d episodes", l.mopts.LRHalvingEvery)
	}
	return s
}

// outer names the meta-optimizer and its learning rate.
func outer(e *base) string {
	st := e.opts.Outer.State()
	return fmt.Sprintf("outer %s, lr %g", e.opts.Outer.Name(), st.LR)
}

// plural writes "1 inner step" or "5 inner steps".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
