package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// softmaxOp is softmax (or log-softmax) over the last axis. The forward
// kernel subtracts the row maximum for stability; the derivative rules are
// written with graph ops, so they differentiate again:
//
//	y = softmax(x):     dx = y ⊙ (g − Σⱼ gⱼ yⱼ)
//	y = logsoftmax(x):  dx = g − eʸ ⊙ Σⱼ gⱼ
type softmaxOp struct {
	base
	log   bool
	inner int
}

// Softmax returns exp(x) normalised to sum to one over the last axis.
func Softmax(x *G.Node) *G.Node { return softmax(x, false) }

// LogSoftmax returns x − log Σ exp(x) over the last axis.
func LogSoftmax(x *G.Node) *G.Node { return softmax(x, true) }

func softmax(x *G.Node, log bool) *G.Node {
	name := "softmax"
	if log {
		name = "logsoftmax"
	}
	dt := sameDtype(name, x)
	s := x.Shape()
	if len(s) == 0 {
		panic(shapeErrorf("%s: needs at least one axis, got a scalar", name))
	}
	o := &softmaxOp{base: newBase(name, "", dt, s, []*G.Node{x}), log: log, inner: s[len(s)-1]}
	return apply(o, x)
}

func (o *softmaxOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *softmaxOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		softmaxKernel(o.log, o.inner, data[float64](out), data[float64](in[0]))
	} else {
		softmaxKernel(o.log, o.inner, data[float32](out), data[float32](in[0]))
	}
}

func (o *softmaxOp) backward(in []*G.Node, y, g *G.Node) []*G.Node {
	last := len(y.Shape()) - 1
	if o.log {
		return []*G.Node{Sub(g, Mul(Exp(y), SumKeep(g, last)))}
	}
	return []*G.Node{Mul(y, Sub(g, SumKeep(Mul(g, y), last)))}
}

// softmaxKernel computes (log-)softmax over rows of length inner, in
// parallel chunks of rows for big tensors.
func softmaxKernel[T Float](log bool, inner int, out, x []T) {
	rows := len(x) / max(inner, 1)
	if !bigEnough(len(x)) {
		softmaxRows(log, inner, out, x)
		return
	}
	parallelFor(rows, grainFor(inner), func(lo, hi int) {
		softmaxRows(log, inner, out[lo*inner:hi*inner], x[lo*inner:hi*inner])
	})
}

func softmaxRows[T Float](log bool, inner int, out, x []T) {
	for r := 0; r+inner <= len(x); r += inner {
		row, o := x[r:r+inner], out[r:r+inner]
		m := math.Inf(-1)
		for _, v := range row {
			m = math.Max(m, float64(v))
		}
		var s float64
		for j, v := range row {
			e := math.Exp(float64(v) - m)
			s += e
			if !log {
				o[j] = T(e)
			}
		}
		if log {
			lse := m + math.Log(s)
			for j, v := range row {
				o[j] = T(float64(v) - lse)
			}
		} else {
			inv := 1 / s
			for j := range o {
				o[j] = T(float64(o[j]) * inv)
			}
		}
	}
}

// pickOp gathers one element per row: out[i] = x[i, labels[i]] for x of
// shape (N, C) and labels of shape (N) holding class indices. Its adjoint,
// scatterOp, writes a vector back into zeros at the same places; each is the
// other's derivative. Labels are indices and get no gradient.
type pickOp struct {
	base
	classes int
}

// Pick returns x[i, labels[i]] for each row i. labels holds class indices
// (0 ≤ label < C) stored as floats of x's type.
func Pick(x, labels *G.Node) *G.Node {
	dt := sameDtype("pick", x, labels)
	xs, ls := x.Shape(), labels.Shape()
	if len(xs) != 2 || len(ls) != 1 || ls[0] != xs[0] {
		panic(shapeErrorf("pick: want x (N, C) and labels (N), got %v and %v", xs, ls))
	}
	o := &pickOp{base: newBase("pick", "", dt, tensor.Shape{xs[0]}, []*G.Node{x, labels}), classes: xs[1]}
	return apply(o, x, labels)
}

func (o *pickOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *pickOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		pickKernel(o.classes, data[float64](out), data[float64](in[0]), data[float64](in[1]), false)
	} else {
		pickKernel(o.classes, data[float32](out), data[float32](in[0]), data[float32](in[1]), false)
	}
}

func (o *pickOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{scatter(g, in[1], o.classes), nil}
}

// scatterOp is the adjoint of pickOp: out (N, C) is zero except
// out[i, labels[i]] = v[i].
type scatterOp struct {
	base
	classes int
}

func scatter(v, labels *G.Node, classes int) *G.Node {
	dt := sameDtype("scatter", v, labels)
	n := v.Shape()[0]
	o := &scatterOp{base: newBase("scatter", fmt.Sprint(classes), dt, tensor.Shape{n, classes}, []*G.Node{v, labels}), classes: classes}
	return apply(o, v, labels)
}

func (o *scatterOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *scatterOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		pickKernel(o.classes, data[float64](in[0]), data[float64](out), data[float64](in[1]), true)
	} else {
		pickKernel(o.classes, data[float32](in[0]), data[float32](out), data[float32](in[1]), true)
	}
}

func (o *scatterOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{Pick(g, in[1]), nil}
}

// pickKernel moves values between vec[i] and mat[i, labels[i]]; with toMat
// it writes mat (zeroing it first), else vec. Labels out of range leave the
// entry at zero: the Runner validates labels before it runs.
func pickKernel[T Float](classes int, vec, mat, labels []T, toMat bool) {
	if toMat {
		clear(mat)
	}
	for i, l := range labels {
		c := int(l)
		if c < 0 || c >= classes {
			if !toMat {
				vec[i] = T(math.NaN())
			}
			continue
		}
		if toMat {
			mat[i*classes+c] = vec[i]
		} else {
			vec[i] = mat[i*classes+c]
		}
	}
}
