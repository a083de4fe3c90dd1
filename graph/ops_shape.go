package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// reshapeOp gives x a new shape with the same number of elements.
// Derivative: reshape the gradient back.
type reshapeOp struct{ base }

// Reshape returns x with a new shape of the same total size.
func Reshape(x *G.Node, shape ...int) *G.Node {
	s := tensor.Shape(shape)
	if sameShape(x.Shape(), s) {
		return x
	}
	if size(s) != size(x.Shape()) {
		panic(shapeErrorf("reshape: cannot reshape %v (%d elements) to %v", x.Shape(), size(x.Shape()), s))
	}
	dt := sameDtype("reshape", x)
	return apply(&reshapeOp{newBase("reshape", fmt.Sprint(s), dt, s, []*G.Node{x})}, x)
}

// sameShape reports whether a and b have the same axes. (tensor.Shape.Eq
// also calls (1, n), (n, 1) and (n) equal, which a reshape must not.)
func sameShape(a, b tensor.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// size is the number of elements of a shape; 1 for the 0-d shape ().
func size(s tensor.Shape) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

func (o *reshapeOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *reshapeOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		copy(data[float64](out), data[float64](in[0]))
	} else {
		copy(data[float32](out), data[float32](in[0]))
	}
}

func (o *reshapeOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{Reshape(g, in[0].Shape()...)}
}

// transposeOp permutes the axes of x: out axis i is x's axis perm[i].
// Derivative: permute the gradient by the inverse permutation.
type transposeOp struct {
	base
	perm   []int
	strIn  []int // x's strides, reordered to out's axes
	outShp tensor.Shape
}

// Transpose permutes the axes of x (out axis i is x's axis perm[i]); with
// no perm it reverses them, so a matrix is transposed.
func Transpose(x *G.Node, perm ...int) *G.Node {
	xs := x.Shape()
	n := len(xs)
	if len(perm) == 0 {
		perm = make([]int, n)
		for i := range perm {
			perm[i] = n - 1 - i
		}
	}
	if len(perm) != n {
		panic(shapeErrorf("transpose: permutation %v for a %d-d tensor", perm, n))
	}
	seen := make([]bool, n)
	identity := true
	for i, p := range perm {
		if p < 0 || p >= n || seen[p] {
			panic(shapeErrorf("transpose: %v is not a permutation of %d axes", perm, n))
		}
		seen[p] = true
		identity = identity && p == i
	}
	if identity {
		return x
	}
	dt := sameDtype("transpose", x)
	out := make(tensor.Shape, n)
	stride := make([]int, n)
	acc := 1
	for i := n - 1; i >= 0; i-- {
		stride[i] = acc
		acc *= xs[i]
	}
	o := &transposeOp{perm: append([]int(nil), perm...), strIn: make([]int, n)}
	for i, p := range perm {
		out[i] = xs[p]
		o.strIn[i] = stride[p]
	}
	o.outShp = out
	o.base = newBase("transpose", fmt.Sprint(perm), dt, out, []*G.Node{x})
	return apply(o, x)
}

func (o *transposeOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *transposeOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		permute(o.outShp, o.strIn, data[float64](out), data[float64](in[0]))
	} else {
		permute(o.outShp, o.strIn, data[float32](out), data[float32](in[0]))
	}
}

func (o *transposeOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	inv := make([]int, len(o.perm))
	for i, p := range o.perm {
		inv[p] = i
	}
	return []*G.Node{Transpose(g, inv...)}
}

// permute writes out[i0, i1, ...] = x[Σ ik·str[k]] in row-major order of
// out. Big tensors are split into parallel chunks of out's rows (its last
// axis).
func permute[T Float](shape tensor.Shape, str []int, out, x []T) {
	last := shape[len(shape)-1]
	rows := len(out) / max(last, 1)
	if !bigEnough(len(out)) {
		permuteRows(shape, str, 0, rows, out, x)
		return
	}
	parallelFor(rows, grainFor(last), func(lo, hi int) {
		permuteRows(shape, str, lo, hi, out, x)
	})
}

// permuteRows is permute on out's rows lo ≤ r < hi.
func permuteRows[T Float](shape tensor.Shape, str []int, lo, hi int, out, x []T) {
	n := len(shape)
	last, ls := shape[n-1], str[n-1]
	idx := make([]int, n-1)
	for k, r := n-2, lo; k >= 0; k-- { // the index of row lo
		idx[k] = r % shape[k]
		r /= shape[k]
	}
	for o := lo * last; o < hi*last; o += last {
		off := 0
		for k := 0; k < n-1; k++ {
			off += idx[k] * str[k]
		}
		row := out[o : o+last]
		if ls == 1 {
			copy(row, x[off:off+last])
		} else {
			for j := range row {
				row[j] = x[off+j*ls]
			}
		}
		for k := n - 2; k >= 0; k-- {
			idx[k]++
			if idx[k] < shape[k] {
				break
			}
			idx[k] = 0
		}
	}
}

// sliceOp takes x[..., start:end, ...] along one axis. Its adjoint, padOp,
// puts a tensor back into zeros at the same place; each is the other's
// derivative, so the pair is closed under differentiation.
type sliceOp struct {
	base
	axis, outer, full, start, width, inner int
}

// Slice returns x restricted to start ≤ i < end along axis.
func Slice(x *G.Node, axis, start, end int) *G.Node {
	xs := x.Shape()
	if axis < 0 || axis >= len(xs) || start < 0 || end > xs[axis] || start >= end {
		panic(shapeErrorf("slice: [%d:%d] on axis %d of shape %v", start, end, axis, xs))
	}
	if start == 0 && end == xs[axis] {
		return x
	}
	dt := sameDtype("slice", x)
	out := xs.Clone()
	out[axis] = end - start
	o := &sliceOp{axis: axis, outer: size(xs[:axis]), full: xs[axis], start: start, width: end - start, inner: size(xs[axis+1:])}
	o.base = newBase("slice", fmt.Sprintf("%d,%d,%d", axis, start, end), dt, out, []*G.Node{x})
	return apply(o, x)
}

func (o *sliceOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *sliceOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		moveBlocks(o.outer, o.full, o.start, o.width, o.inner, data[float64](out), data[float64](in[0]), false)
	} else {
		moveBlocks(o.outer, o.full, o.start, o.width, o.inner, data[float32](out), data[float32](in[0]), false)
	}
}

func (o *sliceOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{Pad(g, o.axis, o.start, o.full)}
}

// padOp places x into a zero tensor whose axis has length full, starting at
// start: the adjoint of sliceOp.
type padOp struct {
	base
	axis, outer, full, start, width, inner int
}

// Pad returns a tensor of zeros with axis of length full, holding x at
// positions start ≤ i < start+len along that axis.
func Pad(x *G.Node, axis, start, full int) *G.Node {
	xs := x.Shape()
	if axis < 0 || axis >= len(xs) || start < 0 || start+xs[axis] > full {
		panic(shapeErrorf("pad: %v at %d into length %d on axis %d", xs, start, full, axis))
	}
	if xs[axis] == full {
		return x
	}
	dt := sameDtype("pad", x)
	out := xs.Clone()
	out[axis] = full
	o := &padOp{axis: axis, outer: size(xs[:axis]), full: full, start: start, width: xs[axis], inner: size(xs[axis+1:])}
	o.base = newBase("pad", fmt.Sprintf("%d,%d,%d", axis, start, full), dt, out, []*G.Node{x})
	return apply(o, x)
}

func (o *padOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *padOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		moveBlocks(o.outer, o.full, o.start, o.width, o.inner, data[float64](in[0]), data[float64](out), true)
	} else {
		moveBlocks(o.outer, o.full, o.start, o.width, o.inner, data[float32](in[0]), data[float32](out), true)
	}
}

func (o *padOp) backward(_ []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{Slice(g, o.axis, o.start, o.start+o.width)}
}

// moveBlocks copies between a narrow tensor (outer × width × inner) and the
// window [start, start+width) of a wide one (outer × full × inner). With
// toWide it writes the wide tensor (zeroing it first), else the narrow one.
func moveBlocks[T Float](outer, full, start, width, inner int, narrow, wide []T, toWide bool) {
	if toWide {
		clear(wide)
	}
	n := width * inner
	for o := 0; o < outer; o++ {
		w := wide[(o*full+start)*inner : (o*full+start)*inner+n]
		s := narrow[o*n : (o+1)*n]
		if toWide {
			copy(w, s)
		} else {
			copy(s, w)
		}
	}
}

// Concat joins xs along axis; its derivative slices the gradient back apart.
func Concat(axis int, xs ...*G.Node) *G.Node {
	if len(xs) == 0 {
		panic(shapeErrorf("concat: no inputs"))
	}
	if len(xs) == 1 {
		return xs[0]
	}
	// A sum of zero-padded inputs: each pad is linear and closed under
	// differentiation, so Concat needs no rule of its own.
	first := xs[0].Shape()
	if axis < 0 || axis >= len(first) {
		panic(shapeErrorf("concat: axis %d of shape %v", axis, first))
	}
	total := 0
	for _, x := range xs {
		s := x.Shape()
		if len(s) != len(first) {
			panic(shapeErrorf("concat: shapes %v and %v differ in rank", first, s))
		}
		for i := range s {
			if i != axis && s[i] != first[i] {
				panic(shapeErrorf("concat on axis %d: shapes %v and %v differ on axis %d", axis, first, s, i))
			}
		}
		total += s[axis]
	}
	var sum *G.Node
	at := 0
	for _, x := range xs {
		p := Pad(x, axis, at, total)
		at += x.Shape()[axis]
		if sum == nil {
			sum = p
		} else {
			sum = Add(sum, p)
		}
	}
	return sum
}
