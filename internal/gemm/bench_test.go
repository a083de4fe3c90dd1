package gemm

import (
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShapes are the products that dominate our models: conv layers as
// im2col products (64 filters, 3·3·64 = 576 patch length, 6272 = 8·28·28
// output pixels) and the seed MLP's layers.
var benchShapes = []struct {
	name    string
	tA, tB  bool
	m, n, k int
	reps    int // products per op (the small MAML tasks come 25 at a time)
}{
	{"convFwd_64x6272x576", false, false, 64, 6272, 576, 1},
	{"convWGrad_ABt_64x576x6272", false, true, 64, 576, 6272, 1},
	{"convXGrad_AtB_576x6272x64", true, false, 576, 6272, 64, 1},
	{"mlp_10x30x784", false, false, 10, 30, 784, 1},
	{"tasks25_10x40x40", false, false, 10, 40, 40, 25},
	{"square_2048", false, false, 2048, 2048, 2048, 1},
}

// benchKernels are the kernel sets the benchmarks of this package's own
// products run with, each as a sub-benchmark named after it: the one
// METAGON_GEMM_KERNEL selects if it is set, else every assembly set this
// machine has (the generic one only where there is none), so one run
// compares them.
func benchKernels() []kernelSet {
	if os.Getenv(kernelEnv) != "" {
		return []kernelSet{chooseKernels(availableKernels(), os.Getenv(kernelEnv))}
	}
	var ks []kernelSet
	for _, k := range availableKernels() {
		if k.name != genericKernels.name || len(ks) == 0 {
			ks = append(ks, k)
		}
	}
	return ks
}

// withKernels runs bench once per benchKernels set, as a sub-benchmark
// named after it, and restores the selected kernels afterwards.
func withKernels(b *testing.B, bench func(b *testing.B)) {
	defer selectKernels()
	for _, ks := range benchKernels() {
		useKernels(ks)
		b.Run(ks.name, bench)
	}
}

func benchmark[T float](b *testing.B, call func(tA, tB bool, m, n, k int, a []T, lda int, bb []T, ldb int, c []T, ldc int)) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			a, bb := random[T](rng, s.m*s.k), random[T](rng, s.k*s.n)
			c := make([]T, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.tA {
				lda = s.m
			}
			if s.tB {
				ldb = s.k
			}
			b.ResetTimer()
			for b.Loop() {
				for r := 0; r < s.reps; r++ {
					call(s.tA, s.tB, s.m, s.n, s.k, a, lda, bb, ldb, c, s.n)
				}
			}
			flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(s.reps)
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func tr(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

var impl gonum.Implementation

func BenchmarkDgemm(b *testing.B) {
	withKernels(b, func(b *testing.B) {
		benchmark(b, func(tA, tB bool, m, n, k int, a []float64, lda int, bb []float64, ldb int, c []float64, ldc int) {
			Dgemm(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, ldc)
		})
	})
}

func BenchmarkSgemm(b *testing.B) {
	withKernels(b, func(b *testing.B) {
		benchmark(b, func(tA, tB bool, m, n, k int, a []float32, lda int, bb []float32, ldb int, c []float32, ldc int) {
			Sgemm(tA, tB, m, n, k, 1, a, lda, bb, ldb, 0, c, ldc)
		})
	})
}

func BenchmarkGonumDgemm(b *testing.B) {
	benchmark(b, func(tA, tB bool, m, n, k int, a []float64, lda int, bb []float64, ldb int, c []float64, ldc int) {
		impl.Dgemm(tr(tA), tr(tB), m, n, k, 1, a, lda, bb, ldb, 0, c, ldc)
	})
}

func BenchmarkGonumSgemm(b *testing.B) {
	benchmark(b, func(tA, tB bool, m, n, k int, a []float32, lda int, bb []float32, ldb int, c []float32, ldc int) {
		impl.Sgemm(tr(tA), tr(tB), m, n, k, 1, a, lda, bb, ldb, 0, c, ldc)
	})
}

// BenchmarkKernel measures the microkernels alone (one core, data in L1):
// the ceiling for the whole product.
func BenchmarkKernel(b *testing.B) {
	const k = 256
	withKernels(b, func(b *testing.B) {
		b.Run("f64", func(b *testing.B) {
			kern := kernel64
			benchKernel(b, k, kern.mr, kern.nr, kern.fn)
		})
		b.Run("f32", func(b *testing.B) {
			kern := kernel32
			benchKernel(b, k, kern.mr, kern.nr, kern.fn)
		})
	})
}

func benchKernel[T float](b *testing.B, k, mr, nr int, fn microKernel[T]) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, bb, c := random[T](rng, mr*k), random[T](rng, nr*k), make([]T, mr*nr)
	for b.Loop() {
		fn(k, a, bb, nr, c, nr, 1, 1)
	}
	flops := 2 * float64(mr*nr*k)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

var _ = fmt.Sprint
