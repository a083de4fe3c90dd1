package graph

import (
	G "gorgonia.org/gorgonia"
)

// DefaultBatchNormEps is the ε BatchNorm adds to the variance when it is
// given eps == 0 (PyTorch's default).
const DefaultBatchNormEps = 1e-5

// BatchNorm normalises x with the statistics of the current batch and then
// scales and shifts it:
//
//	y = scale · (x − μ) / √(σ² + eps) + shift
//
// The statistics depend on the rank of x:
//   - x (N, C, H, W): μ and σ² are per channel, over the N·H·W values of that
//     channel; scale and shift have shape (C).
//   - x (N, F): μ and σ² are per feature, over the N rows; scale and shift
//     have shape (F).
//
// σ² is the biased variance (divided by the count, not count − 1), as in
// the normalisation step of PyTorch and TensorFlow. eps == 0 means
// DefaultBatchNormEps. scale or shift may be nil to leave that step out.
//
// There are no running statistics: MAML (Finn et al. 2017) and its usual
// reimplementations normalise with the current batch at meta-training and
// meta-test time alike (transductive batch norm), so BatchNorm keeps no
// state and the same graph serves both.
//
// Derivative: BatchNorm is composed of MeanKeep, Sub, Square, Affine, Sqrt,
// Div, Mul and Add, each with its own rule, so its gradients (including the
// terms through μ and σ² that a fused kernel's hand-written backward must
// get right) are exact, and differentiable again to any order. Gorgonia's
// own BatchNorm drops a term at second order and keeps running state.
//
// It panics with a *ShapeError for other ranks, mismatched scale or shift
// shapes, or eps < 0.
func BatchNorm(x, scale, shift *G.Node, eps float64) *G.Node {
	if eps == 0 {
		eps = DefaultBatchNormEps
	}
	if eps < 0 {
		panic(shapeErrorf("batchnorm: eps %g < 0", eps))
	}
	sameDtype("batchnorm", x)
	xs := x.Shape()
	var axes []int
	var paramShape []int // scale and shift as they broadcast against x
	switch len(xs) {
	case 4:
		axes, paramShape = []int{0, 2, 3}, []int{1, xs[1], 1, 1}
	case 2:
		axes, paramShape = []int{0}, []int{1, xs[1]}
	default:
		panic(shapeErrorf("batchnorm: want x (N, C, H, W) or (N, F), got shape %v", xs))
	}
	for _, p := range []struct {
		name string
		n    *G.Node
	}{{"scale", scale}, {"shift", shift}} {
		if p.n == nil {
			continue
		}
		sameDtype("batchnorm", x, p.n)
		if ps := p.n.Shape(); len(ps) != 1 || ps[0] != xs[1] {
			panic(shapeErrorf("batchnorm: %s has shape %v; want (%d) for x %v", p.name, ps, xs[1], xs))
		}
	}
	centred := Sub(x, MeanKeep(x, axes...))
	variance := MeanKeep(Square(centred), axes...)
	y := Div(centred, Sqrt(Affine(variance, 1, eps)))
	if scale != nil {
		y = Mul(y, Reshape(scale, paramShape...))
	}
	if shift != nil {
		y = Add(y, Reshape(shift, paramShape...))
	}
	return y
}
