package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// fillOp is a tensor of x's shape filled with one value. It reads x only for
// its shape, so no gradient flows back.
type fillOp struct {
	base
	v float64
}

// FillLike returns a tensor shaped like x with every element v.
func FillLike(x *G.Node, v float64) *G.Node {
	dt := sameDtype("fill", x)
	return apply(&fillOp{newBase("fill", fmt.Sprint(v), dt, x.Shape(), []*G.Node{x}), v}, x)
}

// OnesLike returns a tensor of ones shaped like x.
func OnesLike(x *G.Node) *G.Node { return FillLike(x, 1) }

// ZerosLike returns a tensor of zeros shaped like x.
func ZerosLike(x *G.Node) *G.Node { return FillLike(x, 0) }

func (o *fillOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *fillOp) forward(out *tensor.Dense, _ []*tensor.Dense) {
	if is64(out) {
		fill(data[float64](out), o.v)
	} else {
		fill(data[float32](out), float32(o.v))
	}
}

func (o *fillOp) backward([]*G.Node, *G.Node, *G.Node) []*G.Node { return []*G.Node{nil} }

func fill[T Float](s []T, v T) {
	for i := range s {
		s[i] = v
	}
}

// stopGradientOp is the identity in the forward pass and blocks gradients:
// first-order MAML stops the gradient of the inner-loop gradient with it.
type stopGradientOp struct{ base }

// StopGradient returns x, treated as a constant by differentiation.
func StopGradient(x *G.Node) *G.Node {
	dt := sameDtype("stopgrad", x)
	return apply(&stopGradientOp{newBase("stopgrad", "", dt, x.Shape(), []*G.Node{x})}, x)
}

func (o *stopGradientOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *stopGradientOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		copy(data[float64](out), data[float64](in[0]))
	} else {
		copy(data[float32](out), data[float32](in[0]))
	}
}

func (o *stopGradientOp) backward([]*G.Node, *G.Node, *G.Node) []*G.Node { return []*G.Node{nil} }
