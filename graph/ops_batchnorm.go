package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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
// Computation: two fused ops, st = bnStats(x) (per-channel μ and 1/√(σ²+ε),
// two passes over x) and y = bnApply(x, st, scale, shift) (one pass). The
// backward pass is two more fused ops, bnSums (Σ g and Σ g·x̂ per channel,
// which are also the gradients of shift and scale) and bnGradX (dx, one
// pass):
//
//	dx = scale/√(σ²+ε) · (g − mean(g) − x̂ · mean(g ⊙ x̂)),  x̂ = (x − μ)/√(σ²+ε).
//
// Derivative: st is a cache of a function of x, so the ops that read it
// return no gradient for it and account for x's whole influence
// themselves (as max-pool's reference input does). bnApply's rule is the
// fused formula above; bnSums and bnGradX take theirs from a composition of
// MeanKeep, Sub, Square, Affine, Sqrt, Div and Mul (see partials), so every
// gradient is exact and differentiable again to any order. Gorgonia's own
// BatchNorm drops a term at second order and keeps running state.
//
// It panics with a *ShapeError for other ranks, mismatched scale or shift
// shapes, or eps < 0.
func BatchNorm(x, scale, shift *G.Node, eps float64) *G.Node {
	y, _ := batchNorm(x, scale, shift, eps)
	return y
}

// batchNorm is BatchNorm; it also returns the statistics node st =
// bnStats(x) that y reads (see BatchNormStats).
func batchNorm(x, scale, shift *G.Node, eps float64) (y, st *G.Node) {
	if eps == 0 {
		eps = DefaultBatchNormEps
	}
	if eps < 0 {
		panic(shapeErrorf("batchnorm: eps %g < 0", eps))
	}
	sameDtype("batchnorm", x)
	g := newBNGeom("batchnorm", x.Shape(), eps)
	for _, p := range []struct {
		name string
		n    *G.Node
	}{{"scale", scale}, {"shift", shift}} {
		if p.n == nil {
			continue
		}
		sameDtype("batchnorm", x, p.n)
		if ps := p.n.Shape(); len(ps) != 1 || ps[0] != g.c {
			panic(shapeErrorf("batchnorm: %s has shape %v; want (%d) for x %v", p.name, ps, g.c, x.Shape()))
		}
	}
	st = bnStats(g, x)
	return bnApply(g, x, st, scale, shift), st
}

// bnGeom views x as (outer, c, inner): (N, C, H·W) for images, (N, F, 1)
// for rows; the statistics are per index of the middle axis.
type bnGeom struct {
	outer, c, inner int
	eps             float64
	shape           tensor.Shape // x's shape
}

func newBNGeom(opName string, xs tensor.Shape, eps float64) bnGeom {
	switch len(xs) {
	case 4:
		return bnGeom{outer: xs[0], c: xs[1], inner: xs[2] * xs[3], eps: eps, shape: xs.Clone()}
	case 2:
		return bnGeom{outer: xs[0], c: xs[1], inner: 1, eps: eps, shape: xs.Clone()}
	}
	panic(shapeErrorf("%s: want x (N, C, H, W) or (N, F), got shape %v", opName, xs))
}

// count is the number of values per channel.
func (g bnGeom) count() float64 { return float64(g.outer * g.inner) }

// String prints the parameters that determine the ops' results, for the
// op hash.
func (g bnGeom) String() string { return fmt.Sprintf("x=%v,eps=%g", g.shape, g.eps) }

// axes are the reduced axes of x, paramShape the shape a per-channel
// vector broadcasts against x with.
func (g bnGeom) axes() []int {
	if len(g.shape) == 4 {
		return []int{0, 2, 3}
	}
	return []int{0}
}

func (g bnGeom) paramShape() []int {
	if len(g.shape) == 4 {
		return []int{1, g.c, 1, 1}
	}
	return []int{1, g.c}
}

// forChannels runs fn on ranges of channels, in parallel for big tensors.
func (g bnGeom) forChannels(fn func(lo, hi int)) {
	if !bigEnough(g.outer * g.c * g.inner) {
		fn(0, g.c)
		return
	}
	parallelFor(g.c, grainFor(g.outer*g.inner), fn)
}

// --- bnStats -------------------------------------------------------------

// bnStatsOp computes per-channel statistics of x into a (2, C) tensor: row
// 0 holds μ, row 1 holds 1/√(σ² + ε).
// Derivative: that of its composition (bnStatsComposed). The fused ops
// that read the statistics return no gradient for them, so in a BatchNorm
// graph this rule is never used.
type bnStatsOp struct {
	base
	g bnGeom
}

func bnStats(g bnGeom, x *G.Node) *G.Node {
	dt := sameDtype("bnstats", x)
	o := &bnStatsOp{base: newBase("bnstats", g.String(), dt, tensor.Shape{2, g.c}, []*G.Node{x}), g: g}
	return apply(o, x)
}

func (o *bnStatsOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *bnStatsOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		bnStatsKernel(o.g, data[float64](out), data[float64](in[0]))
	} else {
		bnStatsKernel(o.g, data[float32](out), data[float32](in[0]))
	}
}

func (o *bnStatsOp) backward(in []*G.Node, _, gy *G.Node) []*G.Node {
	return partials(bnStatsComposed(o.g, in[0]), gy, in, nil)
}

// bnStatsKernel computes the mean and then the variance about it, both in
// float64, channel by channel.
func bnStatsKernel[T Float](g bnGeom, st, x []T) {
	m := g.count()
	g.forChannels(func(lo, hi int) {
		for c := lo; c < hi; c++ {
			var s float64
			for n := 0; n < g.outer; n++ {
				s += sumF64(x[(n*g.c+c)*g.inner:][:g.inner])
			}
			mean := s / m
			var v float64
			for n := 0; n < g.outer; n++ {
				v += sqDevF64(x[(n*g.c+c)*g.inner:][:g.inner], mean)
			}
			st[c] = T(mean)
			st[g.c+c] = T(1 / math.Sqrt(v/m+g.eps))
		}
	})
}

// --- bnApply -------------------------------------------------------------

// bnApplyOp normalises x with the statistics st = bnStats(x), then scales
// and shifts: y = (x − μ)·(1/√(σ²+ε))·scale + shift. Its inputs are x, st
// and then scale and shift when present.
// Derivative: dx = bnGradX(g, x, st, sums, scale), dscale = sums[1],
// dshift = sums[0] with sums = bnSums(g, x, st); none for st (a cache of x,
// whose influence dx includes).
type bnApplyOp struct {
	base
	g                  bnGeom
	hasScale, hasShift bool
}

func bnApply(g bnGeom, x, st, scale, shift *G.Node) *G.Node {
	dt := sameDtype("bnapply", x, st)
	in := []*G.Node{x, st}
	if scale != nil {
		in = append(in, scale)
	}
	if shift != nil {
		in = append(in, shift)
	}
	params := fmt.Sprintf("%v,scale=%v,shift=%v", g, scale != nil, shift != nil)
	o := &bnApplyOp{base: newBase("bnapply", params, dt, g.shape, in), g: g, hasScale: scale != nil, hasShift: shift != nil}
	return apply(o, in...)
}

func (o *bnApplyOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *bnApplyOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		bnApplyKernel(o, data[float64](out), in, data[float64])
	} else {
		bnApplyKernel(o, data[float32](out), in, data[float32])
	}
}

// bnApplyKernel writes y = (x − μ)·a + b with a = scale/√(σ²+ε), b = shift.
func bnApplyKernel[T Float](o *bnApplyOp, y []T, in []*tensor.Dense, get func(*tensor.Dense) []T) {
	g := o.g
	x, st := get(in[0]), get(in[1])
	var scale, shift []T
	k := 2
	if o.hasScale {
		scale = get(in[k])
		k++
	}
	if o.hasShift {
		shift = get(in[k])
	}
	g.forChannels(func(lo, hi int) {
		for c := lo; c < hi; c++ {
			mean, a, b := st[c], st[g.c+c], T(0)
			if scale != nil {
				a *= scale[c]
			}
			if shift != nil {
				b = shift[c]
			}
			for n := 0; n < g.outer; n++ {
				off := (n*g.c + c) * g.inner
				xs, ys := x[off:off+g.inner], y[off:off+g.inner]
				for i, v := range xs {
					ys[i] = (v-mean)*a + b
				}
			}
		}
	})
}

func (o *bnApplyOp) backward(in []*G.Node, _, gy *G.Node) []*G.Node {
	x, st := in[0], in[1]
	var scale *G.Node
	if o.hasScale {
		scale = in[2]
	}
	sums := bnSums(o.g, gy, x, st)
	out := []*G.Node{bnGradX(o.g, gy, x, st, sums, scale), nil}
	if o.hasScale {
		out = append(out, Reshape(Slice(sums, 0, 1, 2), o.g.c))
	}
	if o.hasShift {
		out = append(out, Reshape(Slice(sums, 0, 0, 1), o.g.c))
	}
	return out
}

// --- bnSums --------------------------------------------------------------

// bnSumsOp computes, per channel, Σ g (row 0) and Σ g ⊙ x̂ (row 1) into a
// (2, C) tensor, where x̂ is x normalised with st = bnStats(x): the
// gradients of BatchNorm's shift and scale. Inputs: g, x, st.
// Derivative: that of its composition (bnSumsComposed), for g and x; none
// for st.
type bnSumsOp struct {
	base
	g bnGeom
}

func bnSums(g bnGeom, gy, x, st *G.Node) *G.Node {
	dt := sameDtype("bnsums", gy, x, st)
	o := &bnSumsOp{base: newBase("bnsums", g.String(), dt, tensor.Shape{2, g.c}, []*G.Node{gy, x, st}), g: g}
	return apply(o, gy, x, st)
}

func (o *bnSumsOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *bnSumsOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		bnSumsKernel(o.g, data[float64](out), data[float64](in[0]), data[float64](in[1]), data[float64](in[2]))
	} else {
		bnSumsKernel(o.g, data[float32](out), data[float32](in[0]), data[float32](in[1]), data[float32](in[2]))
	}
}

func bnSumsKernel[T Float](g bnGeom, sums, gy, x, st []T) {
	g.forChannels(func(lo, hi int) {
		for c := lo; c < hi; c++ {
			mean := float64(st[c])
			var s, d float64
			for n := 0; n < g.outer; n++ {
				off := (n*g.c + c) * g.inner
				s1, d1 := sumDotDevF64(gy[off:off+g.inner], x[off:off+g.inner], mean)
				s += s1
				d += d1
			}
			sums[c] = T(s)
			sums[g.c+c] = T(d * float64(st[g.c+c]))
		}
	})
}

// backward: bnSums is linear in g, and its adjoint is a bnApply with the
// rows of gy as shift and scale (gy[0] + gy[1]·x̂, fused); x's partial comes
// from the composition.
func (o *bnSumsOp) backward(in []*G.Node, _, gy *G.Node) []*G.Node {
	out := partials(bnSumsComposed(o.g, in[0], in[1]), gy, in, []bool{false, true, false})
	u0, u1 := Reshape(Slice(gy, 0, 0, 1), o.g.c), Reshape(Slice(gy, 0, 1, 2), o.g.c)
	out[0] = bnApply(o.g, in[1], in[2], u1, u0)
	return out
}

// --- bnGradX -------------------------------------------------------------

// bnGradXOp is BatchNorm's gradient with respect to x,
//
//	dx = k · (g − Σg/M − x̂ · Σ(g ⊙ x̂)/M),   k = scale/√(σ²+ε),
//
// computed in one pass from st = bnStats(x) and sums = bnSums(g, x, st).
// Inputs: g, x, st, sums and scale when present.
// Derivative: that of its composition (bnGradXComposed), for g, x and
// scale; none for st and sums (caches of g and x).
type bnGradXOp struct {
	base
	g        bnGeom
	hasScale bool
}

func bnGradX(g bnGeom, gy, x, st, sums, scale *G.Node) *G.Node {
	dt := sameDtype("bngradx", gy, x, st, sums)
	in := []*G.Node{gy, x, st, sums}
	if scale != nil {
		in = append(in, scale)
	}
	params := fmt.Sprintf("%v,scale=%v", g, scale != nil)
	o := &bnGradXOp{base: newBase("bngradx", params, dt, g.shape, in), g: g, hasScale: scale != nil}
	return apply(o, in...)
}

func (o *bnGradXOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *bnGradXOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		bnGradXKernel(o, data[float64](out), in, data[float64])
	} else {
		bnGradXKernel(o, data[float32](out), in, data[float32])
	}
}

// bnGradXKernel writes dx = g·k + (x − μ)·b + c per channel, with
// k = scale/√(σ²+ε), b = −k/√(σ²+ε)·Σ(g⊙x̂)/M and c = −k·Σg/M.
func bnGradXKernel[T Float](o *bnGradXOp, dx []T, in []*tensor.Dense, get func(*tensor.Dense) []T) {
	g := o.g
	gy, x, st, sums := get(in[0]), get(in[1]), get(in[2]), get(in[3])
	var scale []T
	if o.hasScale {
		scale = get(in[4])
	}
	m := g.count()
	g.forChannels(func(lo, hi int) {
		for c := lo; c < hi; c++ {
			inv := float64(st[g.c+c])
			k := inv
			if scale != nil {
				k *= float64(scale[c])
			}
			mean := st[c]
			kt := T(k)
			bt := T(-k * inv * float64(sums[g.c+c]) / m)
			ct := T(-k * float64(sums[c]) / m)
			for n := 0; n < g.outer; n++ {
				off := (n*g.c + c) * g.inner
				gs, xs, ds := gy[off:off+g.inner], x[off:off+g.inner], dx[off:off+g.inner]
				for i, v := range xs {
					ds[i] = gs[i]*kt + (v-mean)*bt + ct
				}
			}
		}
	})
}

// backward: bnGradX is linear in g with a symmetric matrix (a per-channel
// factor times the projection I − 11ᵀ/M − x̂x̂ᵀ/M), so g's partial is
// bnGradX of gy itself (fused); x's and scale's come from the composition.
func (o *bnGradXOp) backward(in []*G.Node, _, gy *G.Node) []*G.Node {
	var scale *G.Node
	diff := []bool{false, true, false, false}
	if o.hasScale {
		scale = in[4]
		diff = append(diff, true)
	}
	out := partials(bnGradXComposed(o.g, in[0], in[1], scale), gy, in, diff)
	out[0] = bnGradX(o.g, gy, in[1], in[2], bnSums(o.g, gy, in[1], in[2]), scale)
	return out
}

// --- compositions ---------------------------------------------------------

// bnNormComposed returns x̂ = (x − μ)/√(σ²+ε) and √(σ²+ε) (broadcastable
// against x) built from elementary ops.
func bnNormComposed(g bnGeom, x *G.Node) (xhat, std *G.Node) {
	centred := Sub(x, MeanKeep(x, g.axes()...))
	std = Sqrt(Affine(MeanKeep(Square(centred), g.axes()...), 1, g.eps))
	return Div(centred, std), std
}

// bnStatsComposed is bnStats built from elementary ops.
func bnStatsComposed(g bnGeom, x *G.Node) *G.Node {
	_, std := bnNormComposed(g, x)
	mean := Reshape(MeanKeep(x, g.axes()...), 1, g.c)
	inv := Reshape(Div(OnesLike(std), std), 1, g.c)
	return Concat(0, mean, inv)
}

// bnSumsComposed is bnSums built from elementary ops.
func bnSumsComposed(g bnGeom, gy, x *G.Node) *G.Node {
	xhat, _ := bnNormComposed(g, x)
	s := Reshape(SumKeep(gy, g.axes()...), 1, g.c)
	d := Reshape(SumKeep(Mul(gy, xhat), g.axes()...), 1, g.c)
	return Concat(0, s, d)
}

// bnGradXComposed is bnGradX built from elementary ops.
func bnGradXComposed(g bnGeom, gy, x, scale *G.Node) *G.Node {
	xhat, std := bnNormComposed(g, x)
	t := Sub(Sub(gy, MeanKeep(gy, g.axes()...)), Mul(xhat, MeanKeep(Mul(gy, xhat), g.axes()...)))
	t = Div(t, std)
	if scale != nil {
		t = Mul(t, Reshape(scale, g.paramShape()...))
	}
	return t
}

// --- float64 accumulation -------------------------------------------------

// sumF64 returns Σ s in float64, with four interleaved accumulators.
func sumF64[T Float](s []T) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		s0 += float64(s[i])
		s1 += float64(s[i+1])
		s2 += float64(s[i+2])
		s3 += float64(s[i+3])
	}
	for ; i < len(s); i++ {
		s0 += float64(s[i])
	}
	return (s0 + s1) + (s2 + s3)
}

// sqDevF64 returns Σ (s − mean)² in float64.
func sqDevF64[T Float](s []T, mean float64) float64 {
	var s0, s1, s2, s3 float64
	i := 0
	for ; i+4 <= len(s); i += 4 {
		d0, d1, d2, d3 := float64(s[i])-mean, float64(s[i+1])-mean, float64(s[i+2])-mean, float64(s[i+3])-mean
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
	}
	for ; i < len(s); i++ {
		d := float64(s[i]) - mean
		s0 += d * d
	}
	return (s0 + s1) + (s2 + s3)
}

// sumDotDevF64 returns Σ g and Σ g·(x − mean) in float64.
func sumDotDevF64[T Float](g, x []T, mean float64) (float64, float64) {
	x = x[:len(g)]
	var s0, s1, d0, d1 float64
	i := 0
	for ; i+2 <= len(g); i += 2 {
		g0, g1 := float64(g[i]), float64(g[i+1])
		s0 += g0
		s1 += g1
		d0 += g0 * (float64(x[i]) - mean)
		d1 += g1 * (float64(x[i+1]) - mean)
	}
	for ; i < len(g); i++ {
		gi := float64(g[i])
		s0 += gi
		d0 += gi * (float64(x[i]) - mean)
	}
	return s0 + s1, d0 + d1
}
