package models

import (
	"github.com/metagon/metagon/graph"
	"gorgonia.org/tensor"
)

// GradNorms returns the L2 norm of each parameter's gradient as the last
// Step computed it (also a step refused for a non-finite loss, where they
// tell most), in the order of Params.List: the layer-by-layer view that
// shows gradients vanishing or exploding. It returns nil before the first
// Step. It costs one pass over the gradients, and nothing unless called.
func (t *Trainer) GradNorms() []float64 {
	if t.last == nil {
		return nil
	}
	norms := make([]float64, len(t.last.gradVals))
	for i, g := range t.last.gradVals {
		norms[i] = graph.GradNorm([]*tensor.Dense{g})
	}
	return norms
}
