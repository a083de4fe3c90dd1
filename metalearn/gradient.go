package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Gradient is an optimization-based meta-learner whose meta-gradient flows
// through the unrolled inner loop (Unroll): for each task,
//
//	θ′ = Unroll(θ; support),   meta-gradient = ∇_θ L_query(θ′)
//
// averaged over the meta-batch and applied by the outer optimizer. MAML,
// first-order MAML, Meta-SGD and ANIL are configurations of it (maml.go,
// metasgd.go, anil.go): they differ only in the inner rule, which weights
// adapt, and whether second-order terms are kept.
type Gradient struct {
	*engine
	firstOrder bool
	// stepWeights, when not nil, makes the meta-objective a multi-step
	// loss (MAML++, msl.go): Σₛ v[s]·L_query(θₛ₊₁) with v its values,
	// which the compiled graphs read at every run.
	stepWeights *tensor.Dense
}

// GradientOptions configures a Gradient learner beyond Options.
type GradientOptions struct {
	Options
	// Rule is the inner update; nil means SGD with α = Options.InnerLR.
	Rule InnerRule
	// Adapt names the weights the inner loop moves; nil means all.
	Adapt []string
	// FirstOrder drops the second-order terms of the meta-gradient.
	FirstOrder bool
}

// NewGradient returns a Gradient learner named name for model m.
func NewGradient(name string, m models.Model, o GradientOptions) (*Gradient, error) {
	e, err := newEngine(name, m, o.Options, o.Rule)
	if err != nil {
		return nil, err
	}
	if o.Adapt != nil {
		if err := e.adaptOnly(o.Adapt); err != nil {
			return nil, err
		}
	}
	e.fixStepWeights()
	if err := e.rule.Init(e.params, e.adapting, e.opts.InnerSteps); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	l := &Gradient{engine: e, firstOrder: o.FirstOrder}
	e.buildMeta = func(w *worker) (*Objective, error) { return l.objective(w.g, w.p) }
	return l, nil
}

// MetaStep takes one meta-gradient step on the batch of tasks.
func (l *Gradient) MetaStep(tasks []Task) (Stats, error) { return l.metaStep(tasks) }

// Objective is one task's meta-objective as graph nodes: the support and
// query inputs, the adapted weights after each inner step, the query
// outputs and loss at θ_S, and the meta-gradient — ∂Loss/∂(each
// meta-parameter), differentiable again.
type Objective struct {
	SupportX, SupportY, QueryX, QueryY *G.Node
	// Adapted holds θ₀ (the meta-parameters) … θ_S.
	Adapted []graph.Weights
	// Outputs and QueryLoss are the query outputs and loss at θ_S.
	Outputs, QueryLoss *G.Node
	// Loss is the meta-objective: QueryLoss, or with a multi-step loss
	// (MAML++) the weighted sum of StepLosses.
	Loss *G.Node
	// StepLosses are the query losses at θ₁ … θ_S when the meta-objective
	// is a multi-step loss; nil otherwise.
	StepLosses []*G.Node
	// Params are the meta-parameters and Grads their gradients, in Params
	// order.
	Params, Grads []*G.Node

	support, query setNodes
	// batch are the batch statistics of the passes, in the order they
	// were built, for the running statistics of per-step batch norm.
	batch []models.BatchStat
}

// Feeds returns the inputs of task t, for graph.CheckGradient or a
// Runner.
func (o *Objective) Feeds(t Task) map[*G.Node][]float64 {
	return map[*G.Node][]float64{o.SupportX: t.SupportX, o.SupportY: t.SupportY, o.QueryX: t.QueryX, o.QueryY: t.QueryY}
}

// objective builds the meta-objective on g over p, a mirror of the
// meta-parameters.
func (l *Gradient) objective(g *G.ExprGraph, p *graph.Params) (*Objective, error) {
	spec := l.opts.Spec
	o := &Objective{support: spec.newSet(g, l.opts.Dtype, "support", spec.Support), query: spec.newSet(g, l.opts.Dtype, "query", spec.Query)}
	o.SupportX, o.SupportY, o.QueryX, o.QueryY = o.support.x, o.support.y, o.query.x, o.query.y
	var adapt []string
	if l.adapted != nil {
		adapt = l.adapting
	}
	var err error
	o.Adapted, err = UnrollAt(l.modelWeightsOf(p), p.Weights(), func(w graph.Weights, s int) *G.Node {
		return spec.loss(l.forward(w, o.SupportX, s, false, &o.batch), o.SupportY)
	}, UnrollOptions{Steps: l.opts.InnerSteps, Rule: l.rule, Adapt: adapt, FirstOrder: l.firstOrder})
	if err != nil {
		return nil, err
	}
	// the query at θₛ is measured with the forward pass of the step that
	// made θₛ (per-step batch norm; θ₀: step 0's)
	query := func(s int) (out, loss *G.Node) {
		out = l.forward(o.Adapted[s], o.QueryX, max(s-1, 0), false, &o.batch)
		return out, spec.loss(out, o.QueryY)
	}
	steps := len(o.Adapted) - 1
	if l.stepWeights != nil && steps > 0 {
		o.StepLosses = make([]*G.Node, steps)
		for s := 1; s <= steps; s++ {
			o.Outputs, o.StepLosses[s-1] = query(s)
		}
		o.QueryLoss = o.StepLosses[steps-1]
		o.Loss = multiStepLoss(g, l.stepWeights, o.StepLosses)
	} else {
		o.Outputs, o.QueryLoss = query(steps)
		o.Loss = o.QueryLoss
	}
	o.Params = p.Nodes()
	o.Grads, err = graph.Grad(o.Loss, o.Params...)
	return o, err
}

// Objective builds one task's meta-objective in a graph of its own, over a
// mirror of the current meta-parameters: the nodes a user composes with
// (see Unroll), checks with graph.CheckGradient, or runs with a Runner.
func (l *Gradient) Objective() (obj *Objective, err error) {
	g, p := l.mirror()
	err = graph.Build(func() {
		var e error
		if obj, e = l.objective(g, p); e != nil {
			panic(&graph.ShapeError{Msg: e.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: build objective: %w", l.name, err)
	}
	return obj, nil
}

// MetaGradient is one task's meta-objective and meta-gradient at the
// current meta-parameters.
type MetaGradient struct {
	// Loss is the query loss after the inner loop.
	Loss float64
	// Objective is the meta-objective Grads are the gradient of: Loss, or
	// a multi-step loss (MAML++).
	Objective float64
	// Grads[j] is ∂Loss/∂(meta-parameter j), in Params order, flattened.
	Grads [][]float64
}

// TaskGradient computes one task's meta-gradient ∇_θ L_query(θ′(θ))
// without changing anything: what MetaStep averages over a meta-batch.
func (l *Gradient) TaskGradient(t Task) (MetaGradient, error) {
	if err := l.opts.Spec.check(t); err != nil {
		return MetaGradient{}, fmt.Errorf("%s: %w", l.name, err)
	}
	w := l.worker(0)
	if err := w.runMeta(t); err != nil {
		return MetaGradient{}, fmt.Errorf("%s: %w", l.name, err)
	}
	mg := MetaGradient{Loss: w.run.Scalar(w.obj.QueryLoss), Objective: w.run.Scalar(w.obj.Loss)}
	for _, g := range w.obj.Grads {
		v := make([]float64, g.Shape().TotalSize())
		graph.ToFloat64s(v, w.run.Value(g))
		mg.Grads = append(mg.Grads, v)
	}
	return mg, nil
}

// AdaptedWeights runs steps inner steps on t's support set, outside the
// graph, and returns the model's weights after them, in model order (as
// Model().Init creates them): the fine-tuned network for t.
func (e *engine) AdaptedWeights(t Task, steps int) ([]*tensor.Dense, error) {
	_, a, err := e.innerLoop(e.worker(0), t, nil, []int{steps}, e.innerStep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.name, err)
	}
	out := make([]*tensor.Dense, len(a.cur))
	for i, c := range a.cur {
		out[i] = c.Clone().(*tensor.Dense)
	}
	return out, nil
}
