package metalearn

import (
	"fmt"
	"slices"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// UnrollOptions configures Unroll.
type UnrollOptions struct {
	// Steps is the number of inner steps S.
	Steps int
	// Rule moves the weights; nil means SGD with α = 0.01.
	Rule InnerRule
	// Adapt names the weights that move (ANIL: the head); nil means all.
	Adapt []string
	// FirstOrder treats each inner gradient as a constant (StopGradient),
	// so that differentiating through the result drops the second-order
	// terms (first-order MAML).
	FirstOrder bool
}

// Unroll builds the inner loop of optimization-based meta-learning as one
// graph (Finn et al. 2017, Algorithm 2, lines 5-7):
//
//	θ₀ = theta,   θₛ = θₛ₋₁ − Rule.Update(∇ L_support(θₛ₋₁)),   s = 1..S
//
// and returns every weight set θ₀ … θ_S. supportLoss builds the support
// loss of a weight set; meta holds the meta-parameters as nodes (the
// learned rates of Meta-SGD or MAML++ among them), which the rule reads.
// Weights that do not adapt are the same node in every θₛ.
//
// MAML's meta-objective for one task is then the query loss at θ_S, and
// its meta-gradient graph.Grad of it with respect to the meta-parameters:
// differentiable through the whole loop, to any order.
func Unroll(theta, meta graph.Weights, supportLoss func(graph.Weights) *G.Node, o UnrollOptions) ([]graph.Weights, error) {
	return UnrollAt(theta, meta, func(w graph.Weights, _ int) *G.Node { return supportLoss(w) }, o)
}

// UnrollAt is Unroll whose support loss is told the inner step s
// (0-based) it is taken at, for networks whose forward pass depends on
// the step, such as MAML++'s per-step batch norm (models.Stepped): θₛ₊₁
// moves along the gradient of supportLoss(θₛ, s).
func UnrollAt(theta, meta graph.Weights, supportLoss func(w graph.Weights, s int) *G.Node, o UnrollOptions) ([]graph.Weights, error) {
	rule := o.Rule
	if rule == nil {
		rule = SGD{LR: 0.01}
	}
	var idx []int
	if o.Adapt == nil {
		for i := range theta.Names {
			idx = append(idx, i)
		}
	} else {
		for _, n := range o.Adapt {
			i := slices.Index(theta.Names, n)
			if i < 0 {
				return nil, fmt.Errorf("unroll: adapted weight %q is not among %v", n, theta.Names)
			}
			idx = append(idx, i)
		}
	}
	cur := graph.Weights{Names: theta.Names, Nodes: append([]*G.Node(nil), theta.Nodes...)}
	out := []graph.Weights{cur}
	for s := 0; s < o.Steps; s++ {
		loss := supportLoss(cur, s)
		moving := make([]*G.Node, len(idx))
		for k, i := range idx {
			moving[k] = cur.Nodes[i]
		}
		grads, err := graph.Grad(loss, moving...)
		if err != nil {
			return nil, err
		}
		next := graph.Weights{Names: cur.Names, Nodes: append([]*G.Node(nil), cur.Nodes...)}
		for k, i := range idx {
			g := grads[k]
			if o.FirstOrder {
				g = graph.StopGradient(g)
			}
			next.Nodes[i] = graph.Sub(cur.Nodes[i], rule.Update(meta, cur.Names[i], s, g))
		}
		cur = next
		out = append(out, cur)
	}
	return out, nil
}
