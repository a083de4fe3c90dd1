package graph

import (
	"fmt"
	"math/rand/v2"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Dropout returns inverted dropout of x at rate p (Srivastava et al.,
// "Dropout: A Simple Way to Prevent Neural Networks from Overfitting",
// JMLR 2014, with the scaling moved to training time):
//
//	y = x ⊙ mask / (1 − p)
//
// mask has x's shape and holds 1 for the units kept and 0 for those
// dropped; FillDropoutMask draws it. The mask is an input of the graph,
// not drawn by the op: whoever runs the graph fills it before each run
// (models.Masks does, from a seeded generator), so a run is reproducible
// and the forward pass, its gradient and the gradient's own derivatives
// all see the same mask. Scaling by 1/(1 − p) keeps every unit's expected
// value, so evaluation uses x itself: leave the op out there.
//
// Derivative: y is linear in x with a constant diagonal, so dx =
// Dropout(gy, mask, p), again differentiable to any order; the mask gets
// no gradient (it is data, like labels).
//
// It panics with a *ShapeError when mask's shape differs from x's, the
// element types differ, or p is outside [0, 1).
func Dropout(x, mask *G.Node, p float64) *G.Node {
	dt := sameDtype("dropout", x, mask)
	if !(p >= 0 && p < 1) {
		panic(shapeErrorf("dropout: rate %g; want 0 ≤ p < 1", p))
	}
	if !x.Shape().Eq(mask.Shape()) {
		panic(shapeErrorf("dropout: mask of shape %v for x of shape %v", mask.Shape(), x.Shape()))
	}
	o := &dropoutOp{base: newBase("dropout", fmt.Sprintf("%g", p), dt, x.Shape(), []*G.Node{x, mask}), p: p, scale: 1 / (1 - p)}
	return apply(o, x, mask)
}

// dropoutOp computes x ⊙ mask · scale with scale = 1/(1 − p).
type dropoutOp struct {
	base
	p, scale float64
}

func (o *dropoutOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *dropoutOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		dropoutKernel(data[float64](out), data[float64](in[0]), data[float64](in[1]), o.scale)
	} else {
		dropoutKernel(data[float32](out), data[float32](in[0]), data[float32](in[1]), float32(o.scale))
	}
}

// backward: dx = gy ⊙ mask/(1 − p), the same op on gy; none for the mask.
func (o *dropoutOp) backward(in []*G.Node, _, gy *G.Node) []*G.Node {
	return []*G.Node{Dropout(gy, in[1], o.p), nil}
}

func dropoutKernel[T Float](out, x, mask []T, scale T) {
	x, mask = x[:len(out)], mask[:len(out)]
	for i, v := range x {
		out[i] = v * mask[i] * scale
	}
}

// FillDropoutMask fills mask (float64 or float32) with a Bernoulli draw
// per element from rng: 0 (dropped) with probability p, else 1, in
// row-major order, one rng.Float64() per element. The same generator
// state gives the same mask.
func FillDropoutMask(mask *tensor.Dense, p float64, rng *rand.Rand) {
	_, set := elementAccess(mask)
	for i := range mask.DataSize() {
		if rng.Float64() < p {
			set(i, 0)
		} else {
			set(i, 1)
		}
	}
}
