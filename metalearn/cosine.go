package metalearn

import (
	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// cosine returns the cosine similarities of the rows of a (n × D) with the
// rows of b (m × D), an (n × m) matrix; for batches (B × n × D and
// B × m × D) it does so in each, giving B × n × m. Each norm is
// √(‖x‖² + 10⁻¹²), so that an all-zero row (a ReLU network's embedding, a
// memory slot never written) has similarity 0 rather than NaN. Matching
// Networks attend with it; MANN's heads address memory with it.
func cosine(a, b *G.Node) *G.Node {
	unit := func(x *G.Node) *G.Node {
		last := len(x.Shape()) - 1
		return graph.Div(x, graph.Sqrt(graph.Affine(graph.SumKeep(graph.Square(x), last), 1, 1e-12)))
	}
	return graph.MatMulT(unit(a), unit(b), false, true)
}
