package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// binKind selects the arithmetic of a binaryOp.
type binKind int

const (
	binAdd binKind = iota
	binSub
	binMul
	binDiv
)

var binNames = [...]string{"add", "sub", "mul", "div"}

// binaryOp is elementwise a ∘ b with numpy broadcasting: shapes align at
// their last axis and axes of size 1 stretch (a bias of shape (F) over rows
// (N, F); a per-channel (1, C, 1, 1) over NCHW).
type binaryOp struct {
	base
	kind   binKind
	la, lb *layout
}

func binop(kind binKind, a, b *G.Node) *G.Node {
	name := binNames[kind]
	dt := sameDtype(name, a, b)
	shape, ok := broadcastShape(a.Shape(), b.Shape())
	if !ok {
		panic(shapeErrorf("%s: shapes %v and %v do not broadcast", name, a.Shape(), b.Shape()))
	}
	o := &binaryOp{base: newBase(name, "", dt, shape, []*G.Node{a, b}), kind: kind,
		la: newLayout(shape, a.Shape()), lb: newLayout(shape, b.Shape())}
	return apply(o, a, b)
}

// Add returns a + b (broadcasting).
func Add(a, b *G.Node) *G.Node { return binop(binAdd, a, b) }

// Sub returns a − b (broadcasting).
func Sub(a, b *G.Node) *G.Node { return binop(binSub, a, b) }

// Mul returns the elementwise product a ⊙ b (broadcasting).
func Mul(a, b *G.Node) *G.Node { return binop(binMul, a, b) }

// Div returns the elementwise quotient a / b (broadcasting).
func Div(a, b *G.Node) *G.Node { return binop(binDiv, a, b) }

func (o *binaryOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *binaryOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		binKernel(o.kind, o.la, o.lb, data[float64](out), data[float64](in[0]), data[float64](in[1]))
	} else {
		binKernel(o.kind, o.la, o.lb, data[float32](out), data[float32](in[0]), data[float32](in[1]))
	}
}

// backward: d(a+b) = (g, g); d(a−b) = (g, −g); d(a⊙b) = (g⊙b, g⊙a);
// d(a/b) = (g/b, −g⊙y/b) with y = a/b. Each is summed back over the axes
// that input was broadcast along.
func (o *binaryOp) backward(in []*G.Node, y, g *G.Node) []*G.Node {
	a, b := in[0], in[1]
	var ga, gb *G.Node
	switch o.kind {
	case binAdd:
		ga, gb = g, g
	case binSub:
		ga, gb = g, Neg(g)
	case binMul:
		ga, gb = Mul(g, b), Mul(g, a)
	case binDiv:
		ga, gb = Div(g, b), Neg(Div(Mul(g, y), b))
	}
	return []*G.Node{SumTo(ga, a.Shape()), SumTo(gb, b.Shape())}
}

// binKernel computes out = a ∘ b with a and b broadcast by their layouts;
// big tensors are split into parallel chunks of whole rows.
func binKernel[T Float](kind binKind, la, lb *layout, out, a, b []T) {
	if la.same && lb.same {
		if !bigEnough(len(out)) {
			binRow(kind, out, a, 1, b, 1)
			return
		}
		parallelFor(len(out), parallelGrain, func(lo, hi int) {
			binRow(kind, out[lo:hi], a[lo:hi], 1, b[lo:hi], 1)
		})
		return
	}
	inner := la.inner
	if la.same {
		inner = lb.inner
	}
	rows := len(out) / max(inner, 1)
	if !bigEnough(len(out)) {
		binRows(kind, la, lb, inner, 0, rows, out, a, b)
		return
	}
	parallelFor(rows, grainFor(inner), func(lo, hi int) {
		binRows(kind, la, lb, inner, lo, hi, out, a, b)
	})
}

// binRows computes rows lo..hi−1 of a broadcasting binKernel.
func binRows[T Float](kind binKind, la, lb *layout, inner, lo, hi int, out, a, b []T) {
	for r := lo; r < hi; r++ {
		o := out[r*inner : (r+1)*inner]
		var ar, br []T
		sa, sb := 1, 1
		if la.same {
			ar = a[r*inner:]
		} else {
			ar, sa = a[la.rowOff[r]:], la.step
		}
		if lb.same {
			br = b[r*inner:]
		} else {
			br, sb = b[lb.rowOff[r]:], lb.step
		}
		binRow(kind, o, ar, sa, br, sb)
	}
}

// binRow computes out[j] = a[j*sa] ∘ b[j*sb] with sa, sb ∈ {0, 1}.
func binRow[T Float](kind binKind, out, a []T, sa int, b []T, sb int) {
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:len(out)], b[:len(out)]
		switch kind {
		case binAdd:
			for j := range out {
				out[j] = a[j] + b[j]
			}
		case binSub:
			for j := range out {
				out[j] = a[j] - b[j]
			}
		case binMul:
			for j := range out {
				out[j] = a[j] * b[j]
			}
		case binDiv:
			for j := range out {
				out[j] = a[j] / b[j]
			}
		}
	case sa == 1: // b is constant along the row
		a = a[:len(out)]
		s := b[0]
		switch kind {
		case binAdd:
			for j := range out {
				out[j] = a[j] + s
			}
		case binSub:
			for j := range out {
				out[j] = a[j] - s
			}
		case binMul:
			for j := range out {
				out[j] = a[j] * s
			}
		case binDiv:
			for j := range out {
				out[j] = a[j] / s
			}
		}
	default: // a is constant along the row (b may or may not be)
		s := a[0]
		for j := range out {
			v := b[j*sb]
			switch kind {
			case binAdd:
				out[j] = s + v
			case binSub:
				out[j] = s - v
			case binMul:
				out[j] = s * v
			case binDiv:
				out[j] = s / v
			}
		}
	}
}

// broadcastToOp stretches x to a larger shape (numpy rules). Its adjoint,
// and so its derivative, is sumToOp back to x's shape.
type broadcastToOp struct {
	base
	l *layout
}

// BroadcastTo returns x stretched to shape (numpy broadcasting rules).
func BroadcastTo(x *G.Node, shape tensor.Shape) *G.Node {
	if sameShape(x.Shape(), shape) {
		return x
	}
	if b, ok := broadcastShape(x.Shape(), shape); !ok || !b.Eq(shape) {
		panic(shapeErrorf("broadcast: cannot stretch %v to %v", x.Shape(), shape))
	}
	dt := sameDtype("broadcast", x)
	o := &broadcastToOp{base: newBase("broadcast", fmt.Sprint(shape), dt, shape, []*G.Node{x}), l: newLayout(shape, x.Shape())}
	return apply(o, x)
}

func (o *broadcastToOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *broadcastToOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		expand(o.l, data[float64](out), data[float64](in[0]))
	} else {
		expand(o.l, data[float32](out), data[float32](in[0]))
	}
}

func (o *broadcastToOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{SumTo(g, in[0].Shape())}
}

// sumToOp sums x down to a smaller shape that broadcasts back to x's: the
// adjoint of broadcastToOp, and the gradient of any broadcast input.
type sumToOp struct {
	base
	l *layout
}

// SumTo sums x over the axes along which shape would be broadcast to x's
// shape, returning a tensor of the given shape.
func SumTo(x *G.Node, shape tensor.Shape) *G.Node {
	if sameShape(x.Shape(), shape) {
		return x
	}
	if b, ok := broadcastShape(x.Shape(), shape); !ok || !b.Eq(x.Shape()) {
		panic(shapeErrorf("sumto: %v does not broadcast to %v", shape, x.Shape()))
	}
	dt := sameDtype("sumto", x)
	o := &sumToOp{base: newBase("sumto", fmt.Sprint(shape), dt, shape, []*G.Node{x}), l: newLayout(x.Shape(), shape)}
	return apply(o, x)
}

func (o *sumToOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *sumToOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		reduce(o.l, data[float64](out), data[float64](in[0]))
	} else {
		reduce(o.l, data[float32](out), data[float32](in[0]))
	}
}

func (o *sumToOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{BroadcastTo(g, in[0].Shape())}
}
