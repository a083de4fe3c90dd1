package graph

import (
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reluGradOp is ReLU's backward pass in one kernel: out = g where ref > 0,
// else 0 (ref is ReLU's input or, equivalently, its output). It replaces
// Mul(g, Step(ref)), which took two passes and a temporary.
// Derivative: linear in g with a mask that is piecewise constant in ref,
// so dg = reluGrad(gy, ref) and ref gets none (zero almost everywhere).
type reluGradOp struct{ base }

func reluGrad(g, ref *G.Node) *G.Node {
	dt := sameDtype("relugrad", g, ref)
	if !g.Shape().Eq(ref.Shape()) {
		panic(shapeErrorf("relugrad: gradient %v and reference %v differ in shape", g.Shape(), ref.Shape()))
	}
	return apply(&reluGradOp{newBase("relugrad", "", dt, g.Shape(), []*G.Node{g, ref})}, g, ref)
}

func (o *reluGradOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *reluGradOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		reluGradKernel(data[float64](out), data[float64](in[0]), data[float64](in[1]))
	} else {
		reluGradKernel(data[float32](out), data[float32](in[0]), data[float32](in[1]))
	}
}

func (o *reluGradOp) backward(in []*G.Node, _, gy *G.Node) []*G.Node {
	return []*G.Node{reluGrad(gy, in[1]), nil}
}

func reluGradKernel[T Float](out, g, ref []T) {
	if !bigEnough(len(out)) {
		reluGradRange(out, g, ref)
		return
	}
	parallelFor(len(out), parallelGrain, func(lo, hi int) {
		reluGradRange(out[lo:hi], g[lo:hi], ref[lo:hi])
	})
}

func reluGradRange[T Float](out, g, ref []T) { maskPositive(out, g, ref) }

// maskPositive writes out[i] = v[i] where ref[i] > 0, else +0 (NaN in ref
// counts as not positive). It selects with a bit mask instead of a branch:
// the sign of activations is unpredictable, and a mispredicted branch per
// element made ReLU and its gradient six times slower.
func maskPositive[T Float](out, v, ref []T) {
	switch o := any(out).(type) {
	case []float32:
		v, ref := any(v).([]float32)[:len(o)], any(ref).([]float32)[:len(o)]
		for i, r := range ref {
			var m uint32
			if r > 0 {
				m = ^uint32(0)
			}
			o[i] = math.Float32frombits(math.Float32bits(v[i]) & m)
		}
	case []float64:
		v, ref := any(v).([]float64)[:len(o)], any(ref).([]float64)[:len(o)]
		for i, r := range ref {
			var m uint64
			if r > 0 {
				m = ^uint64(0)
			}
			o[i] = math.Float64frombits(math.Float64bits(v[i]) & m)
		}
	}
}
