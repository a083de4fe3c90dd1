package graph

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/internal/gemm"
	"gorgonia.org/tensor"
)

// TestIm2colSourceBitIdentical checks that the fused products (convMM's
// W·im2col(x) and convWGrad's g·im2col(x)ᵀ) are bit-identical to the same
// products on the stored column matrix, on shapes big enough to use several
// k blocks and both goroutines, in both layouts.
func TestIm2colSourceBitIdentical(t *testing.T) {
	for _, c := range []struct {
		img          [4]int // N, C, H, W in NCHW order
		k, p, f      int
		channelMajor bool
	}{
		{[4]int{7, 3, 14, 14}, 3, 1, 64, false},
		{[4]int{5, 32, 7, 7}, 3, 1, 16, false},
		{[4]int{9, 4, 3, 3}, 3, 1, 8, true},
		{[4]int{4, 2, 9, 5}, 2, 0, 5, false},
		{[4]int{3, 5, 6, 6}, 3, 2, 7, true},
		{[4]int{40, 64, 3, 3}, 3, 1, 64, false}, // 3×3 images: runs of 3 pixels
	} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			sh := tensor.Shape{c.img[0], c.img[1], c.img[2], c.img[3]}
			g := newConvGeom("test", sh, c.k, c.k, c.p)
			if c.channelMajor {
				g.cmajor = true
				g.n, g.c = c.img[1], c.img[0]
			}
			rng := rand.New(rand.NewPCG(uint64(c.img[0]), uint64(c.f)))
			x := randFloats32(rng, g.n*g.c*g.h*g.w)
			// The stored columns, read through the NCHW im2col kernel on
			// a copy of x in that layout.
			nchw := x
			if g.cmajor {
				nchw = make([]float32, len(x))
				for ci := 0; ci < g.c; ci++ {
					for ni := 0; ni < g.n; ni++ {
						copy(nchw[(ni*g.c+ci)*g.h*g.w:][:g.h*g.w], x[(ci*g.n+ni)*g.h*g.w:][:g.h*g.w])
					}
				}
			}
			plain := g
			plain.cmajor = false
			kk, n := g.c*g.kh*g.kw, g.n*g.ho*g.wo
			cols := make([]float32, kk*n)
			im2colKernel(plain, cols, nchw, false)

			w := randFloats32(rng, c.f*kk)
			want, got := make([]float32, c.f*n), make([]float32, c.f*n)
			gemm.Sgemm(false, false, c.f, n, kk, 1, w, kk, cols, n, 0, want, n)
			gemm.SgemmSource(false, c.f, n, kk, 1, w, kk, newIm2colSource(g, x, false), 0, got, n)
			identical32(t, "W·im2col(x)", got, want)

			gy := randFloats32(rng, c.f*n)
			want, got = make([]float32, c.f*kk), make([]float32, c.f*kk)
			gemm.Sgemm(false, true, c.f, kk, n, 1, gy, n, cols, n, 0, want, kk)
			gemm.SgemmSource(false, c.f, kk, n, 1, gy, n, newIm2colSource(g, x, true), 0, got, kk)
			identical32(t, "g·im2col(x)ᵀ", got, want)
		})
	}
}

func randFloats32(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func identical32(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: element %d is %v fused, %v from stored columns", what, i, got[i], want[i])
		}
	}
}
