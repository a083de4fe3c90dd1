package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// InnerRule is how the inner loop moves a weight from the support
// gradient g at step s: θₛ₊₁ = θₛ − Update(θ-name, s, g). Plain SGD
// scales g by a fixed α; Meta-SGD and MAML++ learn the rates, which are
// then meta-parameters that the rule adds to the learner's Params.
//
// A rule works twice: as graph nodes inside the unrolled meta-graph
// (Update, differentiable in the rates) and on concrete tensors when a
// learner adapts outside the graph (Apply), and the two agree.
type InnerRule interface {
	// Init adds the rule's meta-parameters, if any, to p, for the given
	// adapted weights and number of inner steps (training's).
	Init(p *graph.Params, weights []string, steps int) error
	// Update returns the step subtracted from weight name at inner step s
	// (0-based) given its support gradient g; meta holds the meta-
	// parameters, the rule's included, as graph nodes.
	Update(meta graph.Weights, name string, s int, g *G.Node) *G.Node
	// Apply does θ ← θ − update on concrete tensors, reading the rule's
	// rates from p.
	Apply(p *graph.Params, name string, s int, theta, grad *tensor.Dense)
	// Describe says what the rule is, e.g. "SGD, α = 0.4".
	Describe() string
}

// SGD is the inner rule of MAML (Finn et al. 2017): θ ← θ − α∇L.
type SGD struct{ LR float64 }

func (SGD) Init(*graph.Params, []string, int) error { return nil }

func (r SGD) Update(_ graph.Weights, _ string, _ int, g *G.Node) *G.Node { return graph.Scale(g, r.LR) }

func (r SGD) Apply(_ *graph.Params, _ string, _ int, theta, grad *tensor.Dense) {
	graph.Axpy(theta, grad, -r.LR)
}

func (r SGD) Describe() string { return fmt.Sprintf("SGD, α = %g", r.LR) }

// PerParameter is Meta-SGD's rule (Li et al. 2017): θ ← θ − α ⊙ ∇L with
// one learned rate per weight element, the meta-parameter "lr.<weight>"
// (or "lr.<weight>.<step>" with PerStep, one set per inner step; steps
// beyond training's reuse the last), initialised to Init.
type PerParameter struct {
	Init0   float64
	PerStep bool
	steps   int
}

func (r *PerParameter) Init(p *graph.Params, weights []string, steps int) error {
	r.steps = 1
	if r.PerStep {
		r.steps = steps
	}
	for s := 0; s < r.steps; s++ {
		for _, n := range weights {
			if _, err := p.Add(r.rate(n, s), p.Get(n).Value.Shape(), graph.Constant{Value: r.Init0}); err != nil {
				return fmt.Errorf("learned rates: %w", err)
			}
		}
	}
	return nil
}

// rate names weight n's rate at step s.
func (r *PerParameter) rate(n string, s int) string {
	if !r.PerStep {
		return "lr." + n
	}
	return fmt.Sprintf("lr.%s.%d", n, min(s, r.steps-1)+1)
}

func (r *PerParameter) Update(meta graph.Weights, name string, s int, g *G.Node) *G.Node {
	return graph.Mul(meta.MustGet(r.rate(name, s)), g)
}

func (r *PerParameter) Apply(p *graph.Params, name string, s int, theta, grad *tensor.Dense) {
	alpha := p.Get(r.rate(name, s)).Value
	if theta.Dtype() == tensor.Float64 {
		c, g, a := theta.Float64s(), grad.Float64s(), alpha.Float64s()
		for k := range c {
			c[k] -= a[k] * g[k]
		}
		return
	}
	c, g, a := theta.Float32s(), grad.Float32s(), alpha.Float32s()
	for k := range c {
		c[k] -= a[k] * g[k]
	}
}

func (r *PerParameter) Describe() string {
	if r.PerStep {
		return fmt.Sprintf("learned per-weight α per step (from %g)", r.Init0)
	}
	return fmt.Sprintf("learned per-weight α (from %g)", r.Init0)
}

// PerLayerPerStep is MAML++'s LSLR rule (Antoniou et al., "How to train
// your MAML", ICLR 2019): one learned scalar rate per weight tensor and
// inner step, θ ← θ − αₗₛ∇L, the meta-parameter "lslr.<weight>.<step>"
// initialised to Init. Steps beyond training's reuse the last rate.
type PerLayerPerStep struct {
	Init0 float64
	steps int
}

func (r *PerLayerPerStep) Init(p *graph.Params, weights []string, steps int) error {
	r.steps = steps
	for _, n := range weights {
		for s := 0; s < steps; s++ {
			if _, err := p.Add(r.rate(n, s), []int{1}, graph.Constant{Value: r.Init0}); err != nil {
				return fmt.Errorf("per-layer per-step rates: %w", err)
			}
		}
	}
	return nil
}

func (r *PerLayerPerStep) rate(n string, s int) string {
	return fmt.Sprintf("lslr.%s.%d", n, min(s, r.steps-1)+1)
}

func (r *PerLayerPerStep) Update(meta graph.Weights, name string, s int, g *G.Node) *G.Node {
	return graph.Mul(g, meta.MustGet(r.rate(name, s)))
}

func (r *PerLayerPerStep) Apply(p *graph.Params, name string, s int, theta, grad *tensor.Dense) {
	var a float64
	if v := p.Get(r.rate(name, s)).Value; v.Dtype() == tensor.Float64 {
		a = v.Float64s()[0]
	} else {
		a = float64(v.Float32s()[0])
	}
	graph.Axpy(theta, grad, -a)
}

func (r *PerLayerPerStep) Describe() string {
	return fmt.Sprintf("learned α per weight tensor and step (from %g)", r.Init0)
}
