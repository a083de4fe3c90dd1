package graph

import (
	G "gorgonia.org/gorgonia"
)

// SquaredDistances returns the matrix of squared Euclidean distances between
// the rows of a (n, d) and the rows of b (m, d):
//
//	out[i, j] = ‖a_i − b_j‖² = |a_i|² + |b_j|² − 2 a_i·b_j     (n, m)
//
// Prototypical Networks use −SquaredDistances(queries, prototypes) as
// logits. The expansion costs one matrix product instead of n·m·d
// differences; in exchange, rounding can leave entries a few ulps below
// zero when a_i ≈ b_j, which is harmless for logits (clamping would put a
// kink into the derivative).
//
// Derivative: it is composed of Square, SumKeep, Transpose, MatMulT, Add,
// Sub and Scale, each with its own rule, so it is differentiable to any
// order. It panics with a *ShapeError unless a and b are matrices with the
// same number of columns.
func SquaredDistances(a, b *G.Node) *G.Node {
	as, bs := a.Shape(), b.Shape()
	if len(as) != 2 || len(bs) != 2 || as[1] != bs[1] {
		panic(shapeErrorf("squared distances: want a (n, d) and b (m, d), got %v and %v", as, bs))
	}
	sameDtype("squared distances", a, b)
	aa := SumKeep(Square(a), 1)            // (n, 1)
	bb := Transpose(SumKeep(Square(b), 1)) // (1, m)
	ab := MatMulT(a, b, false, true)       // (n, m)
	return Sub(Add(aa, bb), Scale(ab, 2))
}
