package metalearn

import "github.com/metagon/metagon/graph"

// Cosine annealing of the meta-optimizer's learning rate, CA (Antoniou,
// Edwards & Storkey, "How to train your MAML", ICLR 2019, §4, after
// Loshchilov & Hutter, "SGDR", ICLR 2017): the outer learning rate falls
// from its initial value β to a minimum along half a cosine over the run,
//
//	β(t) = β_min + (β − β_min)·(1 + cos(π·t/T))/2,
//
// which the paper finds lets the meta-parameters settle. The paper's code
// steps it once per epoch (PyTorch's CosineAnnealingLR over its 100
// epochs, β_min 10⁻⁵ on Omniglot); here it moves every meta-iteration, over
// MAMLPPOptions.Iterations: the schedule graph.CosineDecay without warm-up
// (graph.CosineLR), which Options.Schedule can replace.

// cosineAnnealing is CA's schedule of the outer rate, or a constant rate
// with CA off.
func (o MAMLPPOptions) cosineAnnealing() graph.Schedule {
	if o.NoCosineAnnealing {
		return graph.ConstantRate{}
	}
	return graph.CosineDecay{Steps: o.Iterations, Min: o.MinOuterLR}
}
