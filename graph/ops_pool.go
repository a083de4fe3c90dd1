package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Max-pooling over 2×2 windows with stride 2 is built from the argmax of
// each window and an adjoint pair of linear ops that move values by it:
//
//	idx = poolArgmax(ref)            (N, C, Ho, Wo): the position 0..3 of
//	                                 the largest element of ref's window
//	                                 (2i..2i+1, 2j..2j+1), row-major
//	gatherAt(h, idx)[n, c, i, j]   = h[n, c, a(i, j)]
//	scatterAt(g, idx)              = zeros shaped like ref, with g[n, c, i, j]
//	                                 at h's position a(i, j)
//
// where a(i, j) is the pixel of window (i, j) that idx names. MaxPool2(x)
// is gatherAt(x, poolArgmax(x)); poolGather(h, ref) and poolScatter(g, ref)
// are gatherAt and scatterAt with the argmax of ref. The argmax is computed
// once, in the forward pass, and both directions only move values.
//
// Why the pair is closed under differentiation: the argmax positions are
// piecewise constant in ref, so idx (and ref) get no gradient (nil), and
// for a fixed idx both ops are linear in their first input and are each
// other's transpose. The derivative of gather with respect to h is
// therefore scatter(gy, idx), and the derivative of scatter with respect to
// g is gather(gy, idx): max-pool's backward pass is linear in the incoming
// gradient with a constant mask, and differentiating it again only ever
// produces more gathers and scatters with the same idx. (Gorgonia's own
// MaxPool2D has no such rule and panics when its gradient is differentiated.)
//
// Odd heights and widths are floored, as in PyTorch's default: the last row
// or column is dropped. Ties go to the first maximum in row-major window
// order (top-left, top-right, bottom-left, bottom-right); a NaN in a window
// wins, so a diverged input stays visible.

// poolGeom is the geometry shared by the pooling ops: the full-size image
// shape (N, C, H, W) and the pooled size.
type poolGeom struct {
	n, c, h, w, ho, wo int
}

func newPoolGeom(opName string, ref tensor.Shape) poolGeom {
	if len(ref) != 4 {
		panic(shapeErrorf("%s: want an image batch (N, C, H, W), got shape %v", opName, ref))
	}
	if ref[2] < 2 || ref[3] < 2 {
		panic(shapeErrorf("%s: 2×2 pooling needs H, W ≥ 2, got shape %v", opName, ref))
	}
	return poolGeom{n: ref[0], c: ref[1], h: ref[2], w: ref[3], ho: ref[2] / 2, wo: ref[3] / 2}
}

func (p poolGeom) full() tensor.Shape   { return tensor.Shape{p.n, p.c, p.h, p.w} }
func (p poolGeom) pooled() tensor.Shape { return tensor.Shape{p.n, p.c, p.ho, p.wo} }

// String prints the full-size shape, for the op hash.
func (p poolGeom) String() string { return fmt.Sprintf("%dx%dx%dx%d", p.n, p.c, p.h, p.w) }

// forPlanes runs fn on ranges of the N·C planes, in parallel for big images.
func (p poolGeom) forPlanes(fn func(lo, hi int)) {
	planes := p.n * p.c
	if !bigEnough(planes * p.h * p.w) {
		fn(0, planes)
		return
	}
	parallelFor(planes, grainFor(p.h*p.w), fn)
}

// MaxPool2 returns the maximum of each 2×2 window of x (N, C, H, W), stride
// 2: out (N, C, ⌊H/2⌋, ⌊W/2⌋). See gatherAtOp for its derivative rule.
//
// MaxPool2(ReLU(x)) is computed as ReLU(MaxPool2(x)): the two commute (ReLU
// is non-decreasing, and the chosen window element and the derivatives are
// the same), and ReLU then runs on a quarter of the values, forwards and
// backwards.
func MaxPool2(x *G.Node) *G.Node {
	if u, ok := x.Op().(*unaryOp); ok && u.kind == uReLU {
		return ReLU(MaxPool2(inputsOf(x)[0]))
	}
	return gatherAt(x, poolArgmax(x))
}

// poolGather picks h's element at the argmax of each of ref's 2×2 windows.
func poolGather(h, ref *G.Node) *G.Node {
	if !h.Shape().Eq(ref.Shape()) {
		panic(shapeErrorf("poolgather: values %v and reference %v differ in shape", h.Shape(), ref.Shape()))
	}
	return gatherAt(h, poolArgmax(ref))
}

// poolScatter is the adjoint of poolGather: zeros shaped like ref with
// g[n, c, i, j] at the argmax of ref's window (i, j).
func poolScatter(g, ref *G.Node) *G.Node {
	return scatterAt(g, poolArgmax(ref))
}

// poolArgmaxOp finds the position (0..3, stored as a float) of the maximum
// of each 2×2 window of ref. Derivative: none (piecewise constant).
type poolArgmaxOp struct {
	base
	p poolGeom
}

func poolArgmax(ref *G.Node) *G.Node {
	dt := sameDtype("poolargmax", ref)
	p := newPoolGeom("poolargmax", ref.Shape())
	o := &poolArgmaxOp{base: newBase("poolargmax", p.String(), dt, p.pooled(), []*G.Node{ref}), p: p}
	return apply(o, ref)
}

func (o *poolArgmaxOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *poolArgmaxOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		poolArgmaxKernel(o.p, data[float64](out), data[float64](in[0]))
	} else {
		poolArgmaxKernel(o.p, data[float32](out), data[float32](in[0]))
	}
}

func (o *poolArgmaxOp) backward([]*G.Node, *G.Node, *G.Node) []*G.Node { return []*G.Node{nil} }

func poolArgmaxKernel[T Float](p poolGeom, idx, ref []T) {
	plane, pooled := p.h*p.w, p.ho*p.wo
	p.forPlanes(func(lo, hi int) {
		for q := lo; q < hi; q++ {
			r := ref[q*plane:][:plane]
			s := idx[q*pooled:][:pooled]
			for i := 0; i < p.ho; i++ {
				top, bot := r[2*i*p.w:][:2*p.wo], r[(2*i+1)*p.w:][:2*p.wo]
				for j := 0; j < p.wo; j++ {
					s[i*p.wo+j] = T(windowArgmax(top[2*j], top[2*j+1], bot[2*j], bot[2*j+1]))
				}
			}
		}
	})
}

// windowArgmax returns the position (0..3) of the first maximum of a, b,
// c, d, or of the first NaN. Without NaNs it is a branch-free tournament
// (the comparisons of activations are unpredictable, and branching on them
// cost six times as much); a window whose sum is NaN (a NaN or infinities
// of both signs) takes the sequential scan.
func windowArgmax[T Float](a, b, c, d T) int {
	if s := a + b + c + d; s != s {
		best, bv := 0, a
		for k, v := range [3]T{b, c, d} {
			if v > bv || (v != v && bv == bv) {
				best, bv = k+1, v
			}
		}
		return best
	}
	w := [4]T{a, b, c, d}
	t1 := b2i(b > a)     // first maximum of the top pair
	t2 := 2 + b2i(d > c) // and of the bottom pair
	return t1 + b2i(w[t2] > w[t1])*(t2-t1)
}

// b2i is 1 for true, 0 for false; the compiler makes it a flag move, not a
// branch.
func b2i(b bool) int {
	var i int
	if b {
		i = 1
	}
	return i
}

// gatherAtOp picks h's element at the window positions idx.
// Derivative: scatterAt(gy, idx) for h, none for idx.
type gatherAtOp struct {
	base
	p poolGeom
}

func gatherAt(h, idx *G.Node) *G.Node {
	dt := sameDtype("poolgather", h, idx)
	p := newPoolGeom("poolgather", h.Shape())
	if !idx.Shape().Eq(p.pooled()) {
		panic(shapeErrorf("poolgather: indices %v do not fit values %v", idx.Shape(), h.Shape()))
	}
	o := &gatherAtOp{base: newBase("poolgather", p.String(), dt, p.pooled(), []*G.Node{h, idx}), p: p}
	return apply(o, h, idx)
}

func (o *gatherAtOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *gatherAtOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		poolMoveKernel(o.p, data[float64](out), data[float64](in[0]), data[float64](in[1]), false)
	} else {
		poolMoveKernel(o.p, data[float32](out), data[float32](in[0]), data[float32](in[1]), false)
	}
}

func (o *gatherAtOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{scatterAt(g, in[1], o.p), nil}
}

// scatterAtOp is the adjoint of gatherAtOp: zeros of the full-size shape
// with g[n, c, i, j] at window (i, j)'s position idx[n, c, i, j].
// Derivative: gatherAt(gy, idx) for g, none for idx.
type scatterAtOp struct {
	base
	p poolGeom
}

// scatterAt scatters g into zeros shaped like the image idx was computed
// from; p gives that shape (it cannot be told from idx when H or W is odd).
func scatterAt(g, idx *G.Node, p ...poolGeom) *G.Node {
	dt := sameDtype("poolscatter", g, idx)
	var geo poolGeom
	if len(p) > 0 {
		geo = p[0]
	} else if a, ok := idx.Op().(*poolArgmaxOp); ok {
		geo = a.p
	} else {
		panic(shapeErrorf("poolscatter: the image shape of indices %v is unknown", idx.Shape()))
	}
	if !g.Shape().Eq(geo.pooled()) || !idx.Shape().Eq(geo.pooled()) {
		panic(shapeErrorf("poolscatter: values %v and indices %v do not fit the pooled shape %v", g.Shape(), idx.Shape(), geo.pooled()))
	}
	o := &scatterAtOp{base: newBase("poolscatter", geo.String(), dt, geo.full(), []*G.Node{g, idx}), p: geo}
	return apply(o, g, idx)
}

func (o *scatterAtOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *scatterAtOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		poolMoveKernel(o.p, data[float64](in[0]), data[float64](out), data[float64](in[1]), true)
	} else {
		poolMoveKernel(o.p, data[float32](in[0]), data[float32](out), data[float32](in[1]), true)
	}
}

func (o *scatterAtOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{gatherAt(g, in[1]), nil}
}

// poolMoveKernel moves values between the pooled tensor small (planes × Ho ×
// Wo) and the full-size tensor big (planes × H × W) at the window positions
// idx. With toBig it scatters (every element of big is written: the chosen
// element of each window gets its value, the rest zero), else it gathers
// into small.
func poolMoveKernel[T Float](p poolGeom, small, big, idx []T, toBig bool) {
	plane, pooled := p.h*p.w, p.ho*p.wo
	p.forPlanes(func(lo, hi int) {
		for q := lo; q < hi; q++ {
			b := big[q*plane:][:plane]
			s := small[q*pooled:][:pooled]
			ix := idx[q*pooled:][:pooled]
			if toBig && (p.h%2 != 0 || p.w%2 != 0) {
				clear(b) // the odd last row or column is in no window
			}
			for i := 0; i < p.ho; i++ {
				row := 2 * i * p.w
				for j := 0; j < p.wo; j++ {
					a := int(ix[i*p.wo+j])
					k := row + 2*j
					at := k + (a>>1)*p.w + a&1
					if toBig {
						b[k], b[k+1], b[k+p.w], b[k+p.w+1] = 0, 0, 0, 0
						b[at] = s[i*p.wo+j]
					} else {
						s[i*p.wo+j] = b[at]
					}
				}
			}
		}
	})
}
