package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// smallestOp marks the k smallest entries along the last axis of x with
// one-hot rows: for x of shape (..., N) the output has shape (..., k, N),
// and row j of each block is 1 at the position of the (j+1)-th smallest
// entry of the matching row of x and 0 elsewhere. Ties go to the lower
// position; NaN counts as larger than every number, so a NaN entry is
// marked only when fewer than k entries are numbers.
//
// Derivative: the output is piecewise constant in x (it changes only where
// two entries swap places), so no gradient flows through it, as through
// Step or max-pool's choice of its maximum. A model that multiplies by it
// (MANN's least-used memory slots, Santoro et al. 2016) treats the marked
// positions as constants chosen in the forward pass.
type smallestOp struct {
	base
	k, n int
}

// SmallestK returns one-hot rows marking the k smallest entries of x along
// its last axis, in increasing order: shape x.Shape()[:-1] + (k, N). See
// smallestOp. It panics with a *ShapeError unless 1 ≤ k ≤ N.
func SmallestK(x *G.Node, k int) *G.Node {
	dt := sameDtype("smallest", x)
	s := x.Shape()
	if len(s) == 0 {
		panic(shapeErrorf("smallest: needs at least one axis, got a scalar"))
	}
	n := s[len(s)-1]
	if k < 1 || k > n {
		panic(shapeErrorf("smallest: k = %d for rows of %d entries: want 1 ≤ k ≤ %d", k, n, n))
	}
	out := append(append(tensor.Shape{}, s[:len(s)-1]...), k, n)
	o := &smallestOp{base: newBase("smallest", fmt.Sprint(k), dt, out, []*G.Node{x}), k: k, n: n}
	return apply(o, x)
}

func (o *smallestOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *smallestOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		smallestKernel(o.k, o.n, data[float64](out), data[float64](in[0]))
	} else {
		smallestKernel(o.k, o.n, data[float32](out), data[float32](in[0]))
	}
}

// backward: the marks are constant where they are differentiable at all.
func (o *smallestOp) backward([]*G.Node, *G.Node, *G.Node) []*G.Node { return []*G.Node{nil} }

// smallestKernel writes, for each row of n entries of x, k one-hot rows of
// n entries into out. It selects k times the least entry after the one
// selected before in the order of before (O(k·n) per row, no allocation).
func smallestKernel[T Float](k, n int, out, x []T) {
	clear(out)
	for r := 0; r < len(x)/n; r++ {
		row := x[r*n : (r+1)*n]
		block := out[r*k*n : (r+1)*k*n]
		prev := -1
		for j := 0; j < k; j++ {
			pick := -1
			for i := range row {
				if (prev < 0 || before(row, prev, i)) && (pick < 0 || before(row, i, pick)) {
					pick = i
				}
			}
			block[j*n+pick] = 1
			prev = pick
		}
	}
}

// before reports whether entry a of row comes before entry b in the order
// SmallestK marks: by value, NaN after every number, ties by position.
func before[T Float](row []T, a, b int) bool {
	va, vb := float64(row[a]), float64(row[b])
	switch na, nb := math.IsNaN(va), math.IsNaN(vb); {
	case na && nb:
		return a < b
	case na || nb:
		return nb
	case va != vb:
		return va < vb
	}
	return a < b
}
