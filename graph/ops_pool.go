package graph

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Max-pooling over 2×2 windows with stride 2 is built from an adjoint pair of
// linear ops that both take an index reference ref (N, C, H, W):
//
//	poolGather(h, ref)[n, c, i, j] = h[n, c, a(i, j)]
//	poolScatter(g, ref)            = zeros shaped like ref, with g[n, c, i, j]
//	                                 added at h's position a(i, j)
//
// where a(i, j) is the position of the largest element of ref's window
// (2i..2i+1, 2j..2j+1) in channel (n, c). MaxPool2(x) is poolGather(x, x).
//
// Why the pair is closed under differentiation: the argmax positions are
// piecewise constant in ref, so ref gets no gradient (nil), and for a fixed
// ref both ops are linear in their first input and are each other's
// transpose. The derivative of gather with respect to h is therefore
// scatter(gy, ref), and the derivative of scatter with respect to g is
// gather(gy, ref): max-pool's backward pass is linear in the incoming
// gradient with a constant mask, and differentiating it again only ever
// produces more gathers and scatters with the same ref. (Gorgonia's own
// MaxPool2D has no such rule and panics when its gradient is differentiated.)
//
// Odd heights and widths are floored, as in PyTorch's default: the last row
// or column is dropped. Ties go to the first maximum in row-major window
// order (top-left, top-right, bottom-left, bottom-right); a NaN in a window
// wins, so a diverged input stays visible.

// poolGeom is the geometry shared by the two pooling ops.
type poolGeom struct {
	h, w, ho, wo int
}

func newPoolGeom(opName string, ref tensor.Shape) poolGeom {
	if len(ref) != 4 {
		panic(shapeErrorf("%s: want an image batch (N, C, H, W), got shape %v", opName, ref))
	}
	if ref[2] < 2 || ref[3] < 2 {
		panic(shapeErrorf("%s: 2×2 pooling needs H, W ≥ 2, got shape %v", opName, ref))
	}
	return poolGeom{h: ref[2], w: ref[3], ho: ref[2] / 2, wo: ref[3] / 2}
}

// poolGatherOp picks h's element at the argmax of each of ref's 2×2 windows.
// Derivative: poolScatter(gy, ref) for h, none for ref.
type poolGatherOp struct {
	base
	p poolGeom
}

// MaxPool2 returns the maximum of each 2×2 window of x (N, C, H, W), stride
// 2: out (N, C, ⌊H/2⌋, ⌊W/2⌋). See poolGatherOp for its derivative rule.
func MaxPool2(x *G.Node) *G.Node { return poolGather(x, x) }

func poolGather(h, ref *G.Node) *G.Node {
	dt := sameDtype("poolgather", h, ref)
	p := newPoolGeom("poolgather", ref.Shape())
	if !h.Shape().Eq(ref.Shape()) {
		panic(shapeErrorf("poolgather: values %v and reference %v differ in shape", h.Shape(), ref.Shape()))
	}
	rs := ref.Shape()
	out := tensor.Shape{rs[0], rs[1], p.ho, p.wo}
	o := &poolGatherOp{base: newBase("poolgather", "", dt, out, []*G.Node{h, ref}), p: p}
	return apply(o, h, ref)
}

func (o *poolGatherOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *poolGatherOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		poolKernel(o.p, data[float64](out), data[float64](in[0]), data[float64](in[1]), false)
	} else {
		poolKernel(o.p, data[float32](out), data[float32](in[0]), data[float32](in[1]), false)
	}
}

func (o *poolGatherOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{poolScatter(g, in[1]), nil}
}

// poolScatterOp is the adjoint of poolGatherOp: zeros shaped like ref with
// g[n, c, i, j] added at the argmax of ref's window (i, j).
// Derivative: poolGather(gy, ref) for g, none for ref.
type poolScatterOp struct {
	base
	p poolGeom
}

func poolScatter(g, ref *G.Node) *G.Node {
	dt := sameDtype("poolscatter", g, ref)
	p := newPoolGeom("poolscatter", ref.Shape())
	rs, gs := ref.Shape(), g.Shape()
	if len(gs) != 4 || gs[0] != rs[0] || gs[1] != rs[1] || gs[2] != p.ho || gs[3] != p.wo {
		panic(shapeErrorf("poolscatter: values %v do not fit the pooled reference %v", gs, rs))
	}
	o := &poolScatterOp{base: newBase("poolscatter", "", dt, rs, []*G.Node{g, ref}), p: p}
	return apply(o, g, ref)
}

func (o *poolScatterOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *poolScatterOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		poolKernel(o.p, data[float64](in[0]), data[float64](out), data[float64](in[1]), true)
	} else {
		poolKernel(o.p, data[float32](in[0]), data[float32](out), data[float32](in[1]), true)
	}
}

func (o *poolScatterOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{poolGather(g, in[1]), nil}
}

// poolKernel moves values between the pooled tensor small (planes × Ho × Wo)
// and the full-size tensor big (planes × H × W) at the argmax positions of
// ref's windows. With toBig it scatters (big is zeroed first), else it
// gathers into small.
func poolKernel[T Float](p poolGeom, small, big, ref []T, toBig bool) {
	if toBig {
		clear(big)
	}
	plane, pooled := p.h*p.w, p.ho*p.wo
	for q := 0; q*pooled < len(small); q++ {
		r := ref[q*plane:][:plane]
		b := big[q*plane:][:plane]
		s := small[q*pooled:][:pooled]
		for i := 0; i < p.ho; i++ {
			for j := 0; j < p.wo; j++ {
				k := 2*i*p.w + 2*j
				best, bv := k, r[k]
				for _, c := range [3]int{k + 1, k + p.w, k + p.w + 1} {
					if v := r[c]; v > bv || (v != v && bv == bv) {
						best, bv = c, v
					}
				}
				if toBig {
					b[best] += s[i*p.wo+j]
				} else {
					s[i*p.wo+j] = b[best]
				}
			}
		}
	}
}
