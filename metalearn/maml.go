package metalearn

import (
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
)

// MAML is Model-Agnostic Meta-Learning (Finn, Abbeel & Levine, "Model-
// Agnostic Meta-Learning for Fast Adaptation of Deep Networks", ICML 2017).
//
// For each task the inner loop takes S gradient steps on the support loss,
// θ'ₛ = θ'ₛ₋₁ − α∇L_support(θ'ₛ₋₁), built as one unrolled graph; the
// meta-gradient is the gradient of the query loss L_query(θ'_S) with
// respect to θ, through the whole unrolled loop (second order). With
// FirstOrder set, the inner gradients are treated as constants (FOMAML),
// and the meta-gradient is the query gradient at the adapted weights.
type MAML struct {
	*engine
	// FirstOrder drops the second-order terms (FOMAML).
	FirstOrder bool
}

// MAMLOptions configures MAML.
type MAMLOptions struct {
	Options
	// FirstOrder selects first-order MAML.
	FirstOrder bool
}

// NewMAML returns a MAML learner for model m.
func NewMAML(m models.Model, o MAMLOptions) (*MAML, error) {
	name := "maml"
	if o.FirstOrder {
		name = "fomaml"
	}
	e, err := newEngine(name, m, o.Options)
	if err != nil {
		return nil, err
	}
	l := &MAML{engine: e, FirstOrder: o.FirstOrder}
	e.buildMeta = l.buildMeta
	return l, nil
}

// buildMeta is MAML's meta-objective for one task.
func (l *MAML) buildMeta(w *worker) (loss, out *G.Node, grads []*G.Node, err error) {
	theta := w.modelWeights()
	alpha := l.opts.InnerLR
	adapted, err := l.unroll(theta, w.sup, l.opts.InnerSteps, func(_, _ int, g *G.Node) *G.Node {
		return graph.Scale(g, alpha)
	}, l.FirstOrder)
	if err != nil {
		return nil, nil, nil, err
	}
	out = l.model.Forward(adapted, w.qry.x)
	loss = l.opts.Spec.loss(out, w.qry.y)
	grads, err = graph.Grad(loss, w.p.Nodes()...)
	return loss, out, grads, err
}

// Name returns "maml", or "fomaml" for first-order MAML.
func (e *engine) Name() string { return e.name }

// Model returns the meta-learned network.
func (e *engine) Model() models.Model { return e.model }

// Params returns the meta-parameters.
func (e *engine) Params() *graph.Params { return e.params }

// Optimizer returns the outer optimizer.
func (e *engine) Optimizer() graph.Optimizer { return e.opts.Outer }

// MetaStep takes one meta-gradient step on the batch of tasks.
func (l *MAML) MetaStep(tasks []Task) (Stats, error) { return l.metaStep(tasks) }
