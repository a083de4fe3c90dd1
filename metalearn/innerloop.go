package metalearn

import (
	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// stepFunc returns the update subtracted from weight i at inner step s,
// given the support gradient g: α·g for MAML, α_i ⊙ g for Meta-SGD.
type stepFunc func(i, s int, g *G.Node) *G.Node

// unroll builds the inner loop as one graph:
//
//	θ₀ = θ,  θₛ = θₛ₋₁ − step(∇ L_support(θₛ₋₁)),  s = 1..S
//
// and returns θ_S. Only the weights adapt reports true for move; the
// others stay the same node throughout. With firstOrder, each inner
// gradient is wrapped in StopGradient, so differentiating through θ_S
// ignores the second-order terms (first-order MAML).
func (e *engine) unroll(w graph.Weights, sup setNodes, steps int, step stepFunc, firstOrder bool) (graph.Weights, error) {
	cur := graph.Weights{Names: w.Names, Nodes: append([]*G.Node(nil), w.Nodes...)}
	var idx []int
	for i, n := range cur.Names {
		if e.isAdapted(n) {
			idx = append(idx, i)
		}
	}
	for s := 0; s < steps; s++ {
		loss := e.opts.Spec.loss(e.model.Forward(cur, sup.x), sup.y)
		moving := make([]*G.Node, len(idx))
		for k, i := range idx {
			moving[k] = cur.Nodes[i]
		}
		grads, err := graph.Grad(loss, moving...)
		if err != nil {
			return graph.Weights{}, err
		}
		next := graph.Weights{Names: cur.Names, Nodes: append([]*G.Node(nil), cur.Nodes...)}
		for k, i := range idx {
			g := grads[k]
			if firstOrder {
				g = graph.StopGradient(g)
			}
			next.Nodes[i] = graph.Sub(cur.Nodes[i], step(i, s, g))
		}
		cur = next
	}
	return cur, nil
}

// modelWeights returns the worker's model weights (not Meta-SGD's rates).
func (w *worker) modelWeights() graph.Weights {
	all := w.p.Weights()
	mw := graph.Weights{}
	for _, n := range w.e.modelNames {
		mw.Names = append(mw.Names, n)
		mw.Nodes = append(mw.Nodes, all.Get(n))
	}
	return mw
}
