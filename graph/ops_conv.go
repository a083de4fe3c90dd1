package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// A 2-D convolution (stride 1, zero padding p) is one matrix product once the
// input is unrolled into columns:
//
//	cols    = im2col(x)          (C·kh·kw, N·Ho·Wo)
//	out2d   = Wmat · cols        (F, N·Ho·Wo),   Wmat = w reshaped to (F, C·kh·kw)
//	out     = out2d reshaped to (F, N, Ho, Wo), axes 0 and 1 swapped
//
// with Ho = H + 2p − kh + 1 and Wo = W + 2p − kw + 1. im2col is linear, and
// its adjoint col2im sums columns back into an image; each is the other's
// derivative, so the pair is closed under differentiation. Conv2d computes
// the product without storing cols (ops_convmm.go packs the windows into
// the GEMM straight from the image); the im2col/col2im ops remain for the
// input gradient of kernels the fused path does not cover.

// convGeom is the geometry shared by im2col and col2im.
type convGeom struct {
	n, c, h, w int // image shape (N, C, H, W)
	kh, kw, p  int // kernel size and zero padding
	ho, wo     int // output spatial size
	// cmajor: the image is stored channel-major, (C, N, H, W) (only the
	// fused convolution reads that layout; see ops_convmm.go).
	cmajor bool
}

func newConvGeom(opName string, img tensor.Shape, kh, kw, pad int) convGeom {
	if len(img) != 4 {
		panic(shapeErrorf("%s: want an image batch (N, C, H, W), got shape %v", opName, img))
	}
	if kh < 1 || kw < 1 || pad < 0 {
		panic(shapeErrorf("%s: kernel %d×%d with padding %d: want a kernel of at least 1×1 and padding ≥ 0", opName, kh, kw, pad))
	}
	g := convGeom{n: img[0], c: img[1], h: img[2], w: img[3], kh: kh, kw: kw, p: pad}
	g.ho, g.wo = g.h+2*pad-kh+1, g.w+2*pad-kw+1
	if g.ho < 1 || g.wo < 1 {
		panic(shapeErrorf("%s: kernel %d×%d does not fit image %d×%d with padding %d", opName, kh, kw, g.h, g.w, pad))
	}
	return g
}

// colsShape is the shape of the column matrix, (C·kh·kw, N·Ho·Wo).
func (g convGeom) colsShape() tensor.Shape {
	return tensor.Shape{g.c * g.kh * g.kw, g.n * g.ho * g.wo}
}

// String prints every parameter that determines the ops' results, for the
// op hash: the image shape, the kernel size and the padding.
func (g convGeom) String() string {
	layout := ""
	if g.cmajor {
		layout = ",CNHW"
	}
	return fmt.Sprintf("img=%dx%dx%dx%d,k=%dx%d,p=%d%s", g.n, g.c, g.h, g.w, g.kh, g.kw, g.p, layout)
}

// im2colOp unrolls the kh×kw windows of x (N, C, H, W), zero-padded by p,
// into columns: cols[(c·kh + ki)·kw + kj, (n·Ho + i)·Wo + j] =
// x[n, c, i+ki−p, j+kj−p] (zero outside the image).
// Derivative: col2im of the gradient (its adjoint).
type im2colOp struct {
	base
	g convGeom
}

func im2col(x *G.Node, kh, kw, pad int) *G.Node {
	dt := sameDtype("im2col", x)
	g := newConvGeom("im2col", x.Shape(), kh, kw, pad)
	o := &im2colOp{base: newBase("im2col", g.String(), dt, g.colsShape(), []*G.Node{x}), g: g}
	return apply(o, x)
}

func (o *im2colOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *im2colOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		im2colKernel(o.g, data[float64](out), data[float64](in[0]), false)
	} else {
		im2colKernel(o.g, data[float32](out), data[float32](in[0]), false)
	}
}

func (o *im2colOp) backward(_ []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{col2im(g, o.g)}
}

// col2imOp is the adjoint of im2colOp: it adds every column entry back onto
// the image pixel it was copied from (entries that came from the zero
// padding are dropped), giving an image (N, C, H, W).
// Derivative: im2col of the gradient.
type col2imOp struct {
	base
	g convGeom
}

func col2im(cols *G.Node, g convGeom) *G.Node {
	dt := sameDtype("col2im", cols)
	if !cols.Shape().Eq(g.colsShape()) {
		panic(shapeErrorf("col2im: columns %v do not fit %v (want %v)", cols.Shape(), g, g.colsShape()))
	}
	img := tensor.Shape{g.n, g.c, g.h, g.w}
	o := &col2imOp{base: newBase("col2im", g.String(), dt, img, []*G.Node{cols}), g: g}
	return apply(o, cols)
}

func (o *col2imOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *col2imOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		im2colKernel(o.g, data[float64](in[0]), data[float64](out), true)
	} else {
		im2colKernel(o.g, data[float32](in[0]), data[float32](out), true)
	}
}

func (o *col2imOp) backward(_ []*G.Node, _, g *G.Node) []*G.Node {
	return []*G.Node{im2col(g, o.g.kh, o.g.kw, o.g.p)}
}

// im2colKernel moves data between the column matrix and the image. With
// toImage it is col2im: every pixel of img is overwritten with the sum of
// its in-image column entries; otherwise it is im2col: cols is
// overwritten. Big batches are processed in parallel, image by image (each
// image owns its pixels and its columns).
func im2colKernel[T Float](g convGeom, cols, img []T, toImage bool) {
	if !bigEnough(len(cols)) {
		im2colImages(g, 0, g.n, cols, img, toImage)
		return
	}
	parallelFor(g.n, grainFor(g.c*g.kh*g.kw*g.ho*g.wo), func(lo, hi int) {
		im2colImages(g, lo, hi, cols, img, toImage)
	})
}

// im2colImages is im2colKernel on images lo ≤ n < hi.
func im2colImages[T Float](g convGeom, lo, hi int, cols, img []T, toImage bool) {
	if toImage {
		clear(img[lo*g.c*g.h*g.w : hi*g.c*g.h*g.w])
	}
	width := g.n * g.ho * g.wo
	for c := 0; c < g.c; c++ {
		for ki := 0; ki < g.kh; ki++ {
			for kj := 0; kj < g.kw; kj++ {
				row := cols[((c*g.kh+ki)*g.kw+kj)*width:][:width]
				// output columns j whose input column j+kj−p lies in [0, W)
				jlo := min(max(0, g.p-kj), g.wo)
				jhi := max(min(g.wo, g.w+g.p-kj), jlo)
				shift := kj - g.p
				for n := lo; n < hi; n++ {
					for i := 0; i < g.ho; i++ {
						seg := row[(n*g.ho+i)*g.wo:][:g.wo]
						ii := i + ki - g.p
						if ii < 0 || ii >= g.h {
							if !toImage {
								clear(seg)
							}
							continue
						}
						src := img[((n*g.c+c)*g.h+ii)*g.w:][:g.w]
						if toImage {
							dst := src[jlo+shift : jhi+shift]
							for j, v := range seg[jlo:jhi] {
								dst[j] += v
							}
							continue
						}
						clear(seg[:jlo])
						copy(seg[jlo:jhi], src[jlo+shift:jhi+shift])
						clear(seg[jhi:])
					}
				}
			}
		}
	}
}

// Conv2d returns the 2-D cross-correlation (what deep-learning libraries call
// convolution) of x (N, C, H, W) with filters w (F, C, kh, kw), stride 1 and
// zero padding pad on every side: out (N, F, H+2·pad−kh+1, W+2·pad−kw+1),
//
//	out[n, f, i, j] = Σ_{c, ki, kj} w[f, c, ki, kj] · x[n, c, i+ki−pad, j+kj−pad].
//
// Add a bias of shape (1, F, 1, 1) with Add. It panics with a *ShapeError if
// the ranks, channel counts or sizes do not fit.
//
// Derivative: Conv2d is Reshape, the fused product Wmat · im2col(x) (see
// ops_convmm.go), Reshape and Transpose, each with its own rule, so its
// gradients with respect to x and w are again graphs of the same ops and
// can be differentiated again.
func Conv2d(x, w *G.Node, pad int) *G.Node {
	xs, ws := x.Shape(), w.Shape()
	if len(xs) != 4 || len(ws) != 4 {
		panic(shapeErrorf("conv2d: want x (N, C, H, W) and w (F, C, kh, kw), got %v and %v", xs, ws))
	}
	if xs[1] != ws[1] {
		panic(shapeErrorf("conv2d: x %v has %d channels but filters %v expect %d", xs, xs[1], ws, ws[1]))
	}
	sameDtype("conv2d", x, w)
	f, c, kh, kw := ws[0], ws[1], ws[2], ws[3]
	g := newConvGeom("conv2d", xs, kh, kw, pad)
	out2d := convMM(Reshape(w, f, c*kh*kw), x, g) // (F, N·Ho·Wo)
	// With one image, (F, 1, Ho, Wo) and (1, F, Ho, Wo) share a memory
	// layout, so a reshape does the transpose's work.
	if g.n == 1 {
		return Reshape(out2d, 1, f, g.ho, g.wo)
	}
	return Transpose(Reshape(out2d, f, g.n, g.ho, g.wo), 1, 0, 2, 3)
}
