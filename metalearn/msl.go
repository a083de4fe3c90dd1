package metalearn

import (
	"math"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Multi-step loss optimisation, MSL (Antoniou, Edwards & Storkey, "How to
// train your MAML", ICLR 2019, §4): the meta-objective of a task is not
// the query loss after the last inner step alone but a weighted sum of the
// query losses after every step,
//
//	L = Σₛ vₛ · L_query(θₛ),   s = 1 … S,
//
// so that every step's weights receive a gradient directly, which the
// paper finds stabilises training and speeds it up. The importance vector
// v starts uniform and is annealed toward the last step (MultiStepWeights);
// once the annealing is over only the last step's loss remains, as in
// MAML. Gradient.stepWeights holds v for the compiled graphs.

// msMinWeight is the floor of the non-final steps' weights, times S: the
// paper's code keeps each at least 0.03/S while the multi-step loss is on.
const msMinWeight = 0.03

// MultiStepWeights returns the importance vector v of MSL's S = steps query
// losses at progress p ∈ [0, 1] through the annealing, as the paper's code
// computes it (get_per_step_loss_importance_vector, with p its epoch over
// multi_step_loss_num_epochs):
//
//	vₛ = max(1/S − p/S, 0.03/S)                     for s < S,
//	v_S = min(1/S + p·(S−1)/S, 1 − (S−1)·0.03/S).
//
// At p = 0 every step weighs 1/S; the non-final weights decay linearly and
// the final one grows by what they lose, so v sums to 1 until the floor
// binds.
func MultiStepWeights(steps int, p float64) []float64 {
	v := make([]float64, steps)
	s := float64(steps)
	floor := msMinWeight / s
	for i := 0; i < steps-1; i++ {
		v[i] = math.Max(1/s-p/s, floor)
	}
	v[steps-1] = math.Min(1/s+p*(s-1)/s, 1-(s-1)*floor)
	return v
}

// multiStepLoss builds Σₛ v[s]·losses[s] in g, v read from the tensor at
// every run (a leaf that shares its value, as parameters do).
func multiStepLoss(g *G.ExprGraph, v *tensor.Dense, losses []*G.Node) *G.Node {
	w := G.NewTensor(g, v.Dtype(), 1, G.WithShape(len(losses)), G.WithName("msl.weights"), G.WithValue(v))
	stacked := make([]*G.Node, len(losses))
	for i, l := range losses {
		stacked[i] = graph.Reshape(l, 1)
	}
	return graph.Sum(graph.Mul(w, graph.Concat(0, stacked...)))
}

// multiStepAt returns MSL's importance vector for meta-iteration it, nil
// once MSL is over (or off): the vector is annealed over the first
// MultiStepIterations iterations, progress it/MultiStepIterations, as the
// paper's code anneals it over its first epochs; after them the objective
// is the last step's query loss alone, as in the paper's code.
func (o MAMLPPOptions) multiStepAt(it int) []float64 {
	if o.NoMultiStepLoss || it >= o.MultiStepIterations {
		return nil
	}
	return MultiStepWeights(o.InnerSteps, float64(it)/float64(o.MultiStepIterations))
}
