package metalearn

import (
	"fmt"
	"strings"

	"github.com/metagon/metagon/graph"
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
	return inner + "; " + outer(l.base, "iteration")
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
	if s := l.Schedule(); s != nil {
		eps += ", " + graph.DescribeSchedule(s, "iteration")
	}
	if l.opts.ClipNorm > 0 {
		eps += fmt.Sprintf(", moves clipped to norm %g", l.opts.ClipNorm)
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
	return fmt.Sprintf("no inner steps: %s; %s", how, outer(l.base, "episode"))
}

// outer names the meta-optimizer, its learning rate (the schedule's
// initial rate, or the optimizer's when there is none) and schedule, in
// steps called unit, and the clipping of the meta-gradient.
func outer(e *base, unit string) string {
	lr := e.opts.Outer.State().LR
	if e.update.Schedule != nil {
		lr = e.update.Base
	}
	s := fmt.Sprintf("outer %s, lr %g", e.opts.Outer.Name(), lr)
	if e.update.Schedule != nil {
		if _, constant := e.update.Schedule.(graph.ConstantRate); !constant {
			s += ", " + graph.DescribeSchedule(e.update.Schedule, unit)
		}
	}
	if e.opts.ClipNorm > 0 {
		s += fmt.Sprintf(", meta-gradient clipped to norm %g", e.opts.ClipNorm)
	}
	return s
}

// plural writes "1 inner step" or "5 inner steps".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
