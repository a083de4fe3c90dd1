package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/metagon/metagon/internal/gemm"
)

// A convolution's matrix product, Wmat · im2col(x), without the column
// matrix: the GEMM packs the windows of x straight from the image (an
// im2colSource), so the C·kh·kw × N·Ho·Wo columns are never stored (for a
// 64-filter layer on 600 images of 14×14 that is 271 MB in float32) and
// are read once instead of written and read back.
//
// Three ops close the algebra under differentiation:
//
//	convMM(W, x)     = W · im2col(x)            (F, N·Ho·Wo)
//	convWGrad(g, x)  = g · im2col(x)ᵀ           (F, C·kh·kw)
//	inputGrad(W, g)  = col2im(Wᵀ · g)           (the shape of x)
//
// with the rules
//
//	convMM:    dW = convWGrad(g, x),   dx = inputGrad(W, g)
//	convWGrad: dg = convMM(H, x),      dx = inputGrad(H, g)
//
// and inputGrad, for a square kernel with p ≤ kh−1, is itself a
// convolution: the gradient image g (F, N, Ho, Wo) correlated with the
// filters flipped in space and with F and C swapped, padded by kh−1−p,
//
//	dx[n,c,u,v] = Σ_{f,a,b} w[f,c,kh−1−a,kw−1−b] · g[n,f,u+a−(kh−1−p),v+b−(kh−1−p)],
//
// i.e. convMM(flipT(W), g) with g read as a channel-major image. Every
// derivative is again one of these ops, so the convolution is
// differentiable to any order. Other kernels and paddings take col2im of a
// stored Wᵀ·g.

// The layout of an image batch a convGeom reads: x (N, C, H, W), or
// channel-major x (C, N, H, W), the layout of a conv's output before its
// transpose and so of the gradient that flows back into it.
func (g convGeom) strides() (sN, sC int) {
	if g.cmajor {
		return g.h * g.w, g.n * g.h * g.w
	}
	return g.c * g.h * g.w, g.h * g.w
}

// imageShape is the shape of the image batch in g's layout.
func (g convGeom) imageShape() tensor.Shape {
	if g.cmajor {
		return tensor.Shape{g.c, g.n, g.h, g.w}
	}
	return tensor.Shape{g.n, g.c, g.h, g.w}
}

// convMMOp is W · im2col(x): W (F, C·kh·kw), x an image batch in the
// geometry's layout, out (F, N·Ho·Wo).
// Derivative: dW = convWGrad(g, x), dx = inputGrad(W, g).
type convMMOp struct {
	base
	g    convGeom
	f, k int // filters, C·kh·kw
}

func convMM(w, x *G.Node, g convGeom) *G.Node {
	dt := sameDtype("conv", w, x)
	k := g.c * g.kh * g.kw
	if ws := w.Shape(); len(ws) != 2 || ws[1] != k || !x.Shape().Eq(g.imageShape()) {
		panic(shapeErrorf("conv: filters %v and image %v do not fit %v", w.Shape(), x.Shape(), g))
	}
	f := w.Shape()[0]
	o := &convMMOp{base: newBase("convmm", g.String(), dt, tensor.Shape{f, g.n * g.ho * g.wo}, []*G.Node{w, x}), g: g, f: f, k: k}
	return apply(o, w, x)
}

func (o *convMMOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *convMMOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	n := o.g.n * o.g.ho * o.g.wo
	if is64(out) {
		src := newIm2colSource(o.g, data[float64](in[1]), false)
		gemm.DgemmSource(false, o.f, n, o.k, 1, data[float64](in[0]), max(o.k, 1), src, 0, data[float64](out), n)
		src.release()
	} else {
		src := newIm2colSource(o.g, data[float32](in[1]), false)
		gemm.SgemmSource(false, o.f, n, o.k, 1, data[float32](in[0]), max(o.k, 1), src, 0, data[float32](out), n)
		src.release()
	}
}

func (o *convMMOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{convWGrad(g, in[1], o.g), inputGrad(in[0], g, o.g)}
}

// convWGradOp is g · im2col(x)ᵀ: g (F, N·Ho·Wo), x an image batch, out
// (F, C·kh·kw), the filters' gradient of convMM.
// Derivative: dg = convMM(H, x), dx = inputGrad(H, g).
type convWGradOp struct {
	base
	g    convGeom
	f, k int
}

func convWGrad(gy, x *G.Node, g convGeom) *G.Node {
	dt := sameDtype("conv filter gradient", gy, x)
	n := g.n * g.ho * g.wo
	if gs := gy.Shape(); len(gs) != 2 || gs[1] != n || !x.Shape().Eq(g.imageShape()) {
		panic(shapeErrorf("conv filter gradient: gradient %v and image %v do not fit %v", gy.Shape(), x.Shape(), g))
	}
	f, k := gy.Shape()[0], g.c*g.kh*g.kw
	o := &convWGradOp{base: newBase("convwgrad", g.String(), dt, tensor.Shape{f, k}, []*G.Node{gy, x}), g: g, f: f, k: k}
	return apply(o, gy, x)
}

func (o *convWGradOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *convWGradOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	n := o.g.n * o.g.ho * o.g.wo
	if is64(out) {
		src := newIm2colSource(o.g, data[float64](in[1]), true)
		gemm.DgemmSource(false, o.f, o.k, n, 1, data[float64](in[0]), max(n, 1), src, 0, data[float64](out), max(o.k, 1))
		src.release()
	} else {
		src := newIm2colSource(o.g, data[float32](in[1]), true)
		gemm.SgemmSource(false, o.f, o.k, n, 1, data[float32](in[0]), max(n, 1), src, 0, data[float32](out), max(o.k, 1))
		src.release()
	}
}

func (o *convWGradOp) backward(in []*G.Node, _, h *G.Node) []*G.Node {
	return []*G.Node{convMM(h, in[1], o.g), inputGrad(h, in[0], o.g)}
}

// inputGrad returns col2im(Wᵀ·gy) for the image x of geometry g, as a
// convolution of gy with the flipped filters where the kernel allows (see
// the top of this file).
func inputGrad(w, gy *G.Node, g convGeom) *G.Node {
	f := w.Shape()[0]
	if g.kh != g.kw || g.p > g.kh-1 {
		if g.cmajor {
			panic(shapeErrorf("conv input gradient: no channel-major path for %v", g))
		}
		return col2im(MatMulT(w, gy, true, false), g)
	}
	// gy (F, N·Ho·Wo) is the channel-major image (F, N, Ho, Wo).
	back := convGeom{n: g.n, c: f, h: g.ho, w: g.wo, kh: g.kh, kw: g.kw, p: g.kh - 1 - g.p, cmajor: true}
	back.ho, back.wo = g.h, g.w
	dx := convMM(flipT(w, f, g.c, g.kh, g.kw), Reshape(gy, f, g.n, g.ho, g.wo), back) // (C, N·H·W)
	if g.cmajor {
		return Reshape(dx, g.c, g.n, g.h, g.w)
	}
	return Transpose(Reshape(dx, g.c, g.n, g.h, g.w), 1, 0, 2, 3)
}

// flipTOp rearranges filters W (F, C·kh·kw) into (C, F·kh·kw), flipped in
// space: out[c, (f·kh+a)·kw+b] = W[f, (c·kh+kh−1−a)·kw+kw−1−b]. It is a
// permutation, so its derivative is the inverse permutation, which is
// flipT with F and C swapped.
type flipTOp struct {
	base
	f, c, kh, kw int
}

func flipT(w *G.Node, f, c, kh, kw int) *G.Node {
	dt := sameDtype("flip filters", w)
	if ws := w.Shape(); len(ws) != 2 || ws[0] != f || ws[1] != c*kh*kw {
		panic(shapeErrorf("flip filters: %v is not (%d, %d·%d·%d)", w.Shape(), f, c, kh, kw))
	}
	o := &flipTOp{base: newBase("flipT", fmt.Sprintf("%d,%d,%d,%d", f, c, kh, kw), dt, tensor.Shape{c, f * kh * kw}, []*G.Node{w}),
		f: f, c: c, kh: kh, kw: kw}
	return apply(o, w)
}

func (o *flipTOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *flipTOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		flipTKernel(o.f, o.c, o.kh, o.kw, data[float64](out), data[float64](in[0]))
	} else {
		flipTKernel(o.f, o.c, o.kh, o.kw, data[float32](out), data[float32](in[0]))
	}
}

func (o *flipTOp) backward(_ []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{flipT(g, o.c, o.f, o.kh, o.kw)}
}

func flipTKernel[T Float](f, c, kh, kw int, out, w []T) {
	kk := kh * kw
	for fi := 0; fi < f; fi++ {
		for ci := 0; ci < c; ci++ {
			src := w[(fi*c+ci)*kk:][:kk]
			dst := out[(ci*f+fi)*kk:][:kk]
			for t := range dst {
				dst[t] = src[kk-1-t] // (a, b) ← (kh−1−a, kw−1−b)
			}
		}
	}
}
