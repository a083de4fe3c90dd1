package graph

import (
	G "gorgonia.org/gorgonia"
)

// Fused ops whose derivative rule would be long to write by hand (the
// backward kernels of batch norm) define their value a second time as a
// composition of simpler ops, and take their derivative from that
// composition: partials differentiates it by the same rules Grad uses. The
// fused kernel serves the fast first-order pass; the composition, slower
// but exact, serves the higher orders.

// partials returns ∂(Σ gy ⊙ f)/∂in[i] for every i with diff[i] (every i
// if diff is nil), where f is an expression built from the nodes in, each
// treated as an independent variable (the traversal stops at all of them,
// even when one depends on another). A nil entry means f does not depend
// on in[i] or it was not asked for; a node listed twice gets its whole
// gradient at its first position.
func partials(f, gy *G.Node, in []*G.Node, diff []bool) []*G.Node {
	stop := make(map[*G.Node]bool, len(in))
	target := make(map[*G.Node]bool, len(in))
	for i, n := range in {
		stop[n] = true
		if diff == nil || diff[i] {
			target[n] = true
		}
	}
	total, err := reverse(f, gy, target, stop)
	if err != nil {
		panic(err)
	}
	out := make([]*G.Node, len(in))
	for i, n := range in {
		if !target[n] {
			continue
		}
		out[i] = total[n]
		delete(total, n) // a node listed twice gets its gradient once
	}
	return out
}
