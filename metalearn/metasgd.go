package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MetaSGD is Meta-SGD (Li, Zhou, Chen & Li, "Meta-SGD: Learning to Learn
// Quickly for Few-Shot Learning", 2017): MAML whose inner learning rate is
// itself meta-learned, one rate per weight element, θ' = θ − α ⊙ ∇L. The
// rates are meta-parameters named "lr.<weight>" (or "lr.<weight>.<step>"
// with PerStep), initialised to Options.InnerLR and trained with θ by the
// same second-order meta-gradient.
type MetaSGD struct {
	*engine
	perStep bool
	rates   [][]string // rates[s][i]: the rate parameter of weight i at step s
}

// MetaSGDOptions configures Meta-SGD.
type MetaSGDOptions struct {
	Options
	// PerStep learns separate rates for each inner step.
	PerStep bool
}

// NewMetaSGD returns a Meta-SGD learner for model m.
func NewMetaSGD(m models.Model, o MetaSGDOptions) (*MetaSGD, error) {
	e, err := newEngine("metasgd", m, o.Options)
	if err != nil {
		return nil, err
	}
	l := &MetaSGD{engine: e, perStep: o.PerStep}
	steps := 1
	if o.PerStep {
		steps = e.opts.InnerSteps
	}
	for s := 0; s < steps; s++ {
		var names []string
		for _, n := range e.modelNames {
			rn := "lr." + n
			if o.PerStep {
				rn = fmt.Sprintf("lr.%s.%d", n, s+1)
			}
			if _, err := e.params.Add(rn, e.params.Get(n).Value.Shape(), graph.Constant{Value: e.opts.InnerLR}); err != nil {
				return nil, fmt.Errorf("metasgd: %w", err)
			}
			names = append(names, rn)
		}
		l.rates = append(l.rates, names)
	}
	e.buildMeta = l.buildMeta
	e.innerStep = l.innerStep
	return l, nil
}

// rate returns the name of weight i's rate at step s.
func (l *MetaSGD) rate(i, s int) string {
	if !l.perStep {
		s = 0
	}
	if s >= len(l.rates) {
		s = len(l.rates) - 1 // adapting longer than trained reuses the last rates
	}
	return l.rates[s][i]
}

func (l *MetaSGD) buildMeta(w *worker) (loss, out *G.Node, grads []*G.Node, err error) {
	all := w.p.Weights()
	adapted, err := l.unroll(w.modelWeights(), w.sup, l.opts.InnerSteps, func(i, s int, g *G.Node) *G.Node {
		return graph.Mul(all.MustGet(l.rate(i, s)), g)
	}, false)
	if err != nil {
		return nil, nil, nil, err
	}
	out = l.model.Forward(adapted, w.qry.x)
	loss = l.opts.Spec.loss(out, w.qry.y)
	grads, err = graph.Grad(loss, w.p.Nodes()...)
	return loss, out, grads, err
}

// innerStep is θ ← θ − α ⊙ g with the learned rates.
func (l *MetaSGD) innerStep(cur, grads []*tensor.Dense, s int) {
	for i := range cur {
		alpha := l.params.Get(l.rate(i, s)).Value
		if cur[i].Dtype() == tensor.Float64 {
			c, g, a := cur[i].Float64s(), grads[i].Float64s(), alpha.Float64s()
			for k := range c {
				c[k] -= a[k] * g[k]
			}
		} else {
			c, g, a := cur[i].Float32s(), grads[i].Float32s(), alpha.Float32s()
			for k := range c {
				c[k] -= a[k] * g[k]
			}
		}
	}
}

// MetaStep takes one meta-gradient step on θ and the rates.
func (l *MetaSGD) MetaStep(tasks []Task) (Stats, error) { return l.metaStep(tasks) }
