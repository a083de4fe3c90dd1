package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
)

// TestGemmMatchesGonum compares our small-matrix kernels (and the hand-off
// to gonum above smallGemm) with gonum's Dgemm/Sgemm on sparse inputs (half
// the entries zero, as in images and ReLU outputs), for every combination
// of transposes.
func TestGemmMatchesGonum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sizes := [][3]int{{1, 1, 1}, {3, 5, 7}, {10, 30, 784}, {17, 9, 300}, {64, 128, 200}}
	for _, s := range sizes {
		m, n, k := s[0], s[1], s[2]
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				a, b := make([]float64, m*k), make([]float64, k*n)
				for i := range a {
					if rng.IntN(2) == 0 {
						a[i] = rng.NormFloat64()
					}
				}
				for i := range b {
					b[i] = rng.NormFloat64()
				}
				got, want := make([]float64, m*n), make([]float64, m*n)
				gemm64(tA, tB, m, n, k, a, b, got)
				lda, ldb := k, n
				if tA {
					lda = m
				}
				if tB {
					ldb = k
				}
				ta, tb := blas.NoTrans, blas.NoTrans
				if tA {
					ta = blas.Trans
				}
				if tB {
					tb = blas.Trans
				}
				gemmImpl.Dgemm(ta, tb, m, n, k, 1, a, lda, b, ldb, 0, want, n)
				a32, b32 := make([]float32, len(a)), make([]float32, len(b))
				for i := range a {
					a32[i] = float32(a[i])
				}
				for i := range b {
					b32[i] = float32(b[i])
				}
				got32 := make([]float32, m*n)
				gemm32(tA, tB, m, n, k, a32, b32, got32)
				name := fmt.Sprintf("%dx%dx%d tA=%v tB=%v", m, n, k, tA, tB)
				for i := range want {
					if d := math.Abs(got[i] - want[i]); d > 1e-12*math.Max(1, math.Abs(want[i])) {
						t.Fatalf("%s float64: c[%d] = %v, gonum %v", name, i, got[i], want[i])
					}
					if d := math.Abs(float64(got32[i]) - want[i]); d > 1e-3*math.Max(1, math.Abs(want[i])) {
						t.Fatalf("%s float32: c[%d] = %v, gonum float64 %v", name, i, got32[i], want[i])
					}
				}
			}
		}
	}
}
