package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/internal/gemm"
	"gorgonia.org/tensor"
)

// BenchmarkConvProducts times a Conv-4 layer's three products in float32,
// fused (the windows packed straight from the image) beside the stored
// column matrix they replace (im2col, then a plain GEMM; col2im after it
// for the input gradient), on the shapes of a 600-image Omniglot episode.
//
//	go test -run '^$' -bench ConvProducts ./graph/
func BenchmarkConvProducts(b *testing.B) {
	for _, c := range []struct{ n, ch, hw int }{{600, 1, 28}, {600, 64, 14}, {600, 64, 7}, {600, 64, 3}} {
		g := newConvGeom("bench", tensor.Shape{c.n, c.ch, c.hw, c.hw}, 3, 3, 1)
		const f = 64
		kk, n := g.c*9, g.n*g.ho*g.wo
		rng := rand.New(rand.NewPCG(1, 2))
		x, w, gy := randFloats32(rng, g.n*g.c*g.h*g.w), randFloats32(rng, f*kk), randFloats32(rng, f*n)
		out, cols, dw := make([]float32, f*n), make([]float32, kk*n), make([]float32, f*kk)
		dx := make([]float32, len(x))
		name := fmt.Sprintf("%dx%dx%dx%d", c.n, c.ch, c.hw, c.hw)
		b.Run(name+"/forward/fused", func(b *testing.B) {
			for b.Loop() {
				gemm.SgemmSource(false, f, n, kk, 1, w, kk, newIm2colSource(g, x, false), 0, out, n)
			}
		})
		b.Run(name+"/forward/im2col", func(b *testing.B) {
			for b.Loop() {
				im2colKernel(g, cols, x, false)
				gemm.Sgemm(false, false, f, n, kk, 1, w, kk, cols, n, 0, out, n)
			}
		})
		b.Run(name+"/filters/fused", func(b *testing.B) {
			for b.Loop() {
				gemm.SgemmSource(false, f, kk, n, 1, gy, n, newIm2colSource(g, x, true), 0, dw, kk)
			}
		})
		b.Run(name+"/filters/im2col", func(b *testing.B) {
			for b.Loop() {
				im2colKernel(g, cols, x, false)
				gemm.Sgemm(false, true, f, kk, n, 1, gy, n, cols, n, 0, dw, kk)
			}
		})
		if c.ch == 1 {
			continue // a first layer's input gradient is never needed
		}
		back := convGeom{n: g.n, c: f, h: g.ho, w: g.wo, kh: 3, kw: 3, p: 1, ho: g.h, wo: g.w, cmajor: true}
		wf := make([]float32, len(w))
		flipTKernel(f, g.c, 3, 3, wf, w)
		b.Run(name+"/input/fused", func(b *testing.B) {
			for b.Loop() {
				gemm.SgemmSource(false, g.c, g.n*g.h*g.w, f*9, 1, wf, f*9, newIm2colSource(back, gy, false), 0, dx, g.n*g.h*g.w)
			}
		})
		b.Run(name+"/input/col2im", func(b *testing.B) {
			for b.Loop() {
				gemm.Sgemm(true, false, kk, n, f, 1, w, kk, gy, n, 0, cols, n)
				im2colKernel(g, cols, dx, true)
			}
		})
	}
}
