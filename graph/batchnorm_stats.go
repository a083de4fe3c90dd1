package graph

import G "gorgonia.org/gorgonia"

// Batch norm with running statistics: what a network needs to normalise an
// evaluation batch with the statistics it collected in training (Ioffe &
// Szegedy, "Batch Normalization", ICML 2015, §3.1), and, per inner step,
// what MAML++'s per-step running statistics need (Antoniou, Edwards &
// Storkey, "How to train your MAML", ICLR 2019, §4, BNRS). Both functions
// are compositions of differentiable ops, so they differentiate to any
// order like the rest of the package.

// BatchNormStats is BatchNorm (training mode: the batch's own statistics)
// that also returns those statistics, per channel: the mean μ and the
// biased variance σ² (shape (C)), which a caller folds into running
// averages after each run. They are read from the fused statistics op
// BatchNorm computes anyway (σ² = 1/(1/√(σ²+ε))² − ε), so they cost
// nothing beyond a few per-channel values. y is exactly BatchNorm's.
//
// It panics with a *ShapeError where BatchNorm does.
func BatchNormStats(x, scale, shift *G.Node, eps float64) (y, mean, variance *G.Node) {
	if eps == 0 {
		eps = DefaultBatchNormEps
	}
	y, st := batchNorm(x, scale, shift, eps)
	c := st.Shape()[1]
	mean = Reshape(Slice(st, 0, 0, 1), c)
	inv := Reshape(Slice(st, 0, 1, 2), c)
	variance = Affine(Div(OnesLike(inv), Square(inv)), 1, -eps)
	return y, mean, variance
}

// BatchNormWith normalises x with given per-channel statistics (evaluation
// mode: running averages of training batches) instead of the batch's, then
// scales and shifts:
//
//	y = scale · (x − mean) / √(variance + eps) + shift
//
// x is (N, C, H, W) or (N, F) as for BatchNorm; mean, variance, scale and
// shift are (C) (scale or shift may be nil). eps == 0 means
// DefaultBatchNormEps. Unlike BatchNorm, each output depends on its own
// input only, so the network's output for one example does not depend on
// the rest of the batch.
//
// Derivative: that of the composition (Sub, Mul, Add with broadcasting,
// Affine, Sqrt, Div), with respect to every input, the statistics
// included, and differentiable again.
//
// It panics with a *ShapeError for other ranks of x, statistics or
// parameters not of shape (C), or eps < 0.
func BatchNormWith(x, mean, variance, scale, shift *G.Node, eps float64) *G.Node {
	if eps == 0 {
		eps = DefaultBatchNormEps
	}
	if eps < 0 {
		panic(shapeErrorf("batchnorm with statistics: eps %g < 0", eps))
	}
	g := newBNGeom("batchnorm with statistics", x.Shape(), eps)
	for _, p := range []struct {
		name string
		n    *G.Node
	}{{"mean", mean}, {"variance", variance}, {"scale", scale}, {"shift", shift}} {
		if p.n == nil {
			if p.name == "mean" || p.name == "variance" {
				panic(shapeErrorf("batchnorm with statistics: no %s", p.name))
			}
			continue
		}
		sameDtype("batchnorm with statistics", x, p.n)
		if ps := p.n.Shape(); len(ps) != 1 || ps[0] != g.c {
			panic(shapeErrorf("batchnorm with statistics: %s has shape %v; want (%d) for x %v", p.name, ps, g.c, x.Shape()))
		}
	}
	ps := g.paramShape()
	// a = scale/√(σ²+ε), per channel, then y = (x − μ)·a + shift
	a := Div(OnesLike(variance), Sqrt(Affine(variance, 1, eps)))
	if scale != nil {
		a = Mul(scale, a)
	}
	y := Mul(Sub(x, Reshape(mean, ps...)), Reshape(a, ps...))
	if shift != nil {
		y = Add(y, Reshape(shift, ps...))
	}
	return y
}
