package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// naive computes C = alpha·op(A)·op(B) + beta·C with a triple loop in
// float64 (beta 0 overwrites).
func naive[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv T
				if tA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if tB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			r := float64(alpha) * s
			if beta != 0 {
				r += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = T(r)
		}
	}
}

type testCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float64
	pad         int // extra leading-dimension padding
}

func (tc testCase) String() string {
	return fmt.Sprintf("tA=%v tB=%v m=%d n=%d k=%d alpha=%v beta=%v pad=%d",
		tc.tA, tc.tB, tc.m, tc.n, tc.k, tc.alpha, tc.beta, tc.pad)
}

// cases samples the space of shapes, transposes, scalars and paddings.
func cases() []testCase {
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{1, 2, 3, 5, 7, 13, 17, 31, 33, 63, 65, 100, 257, 300}
	scalars := []float64{0, 1, 0.5, -2}
	var cs []testCase
	// Every size in every dimension at least once, with the others random.
	for _, s := range sizes {
		for dim := 0; dim < 3; dim++ {
			d := [3]int{sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))], sizes[rng.IntN(len(sizes))]}
			d[dim] = s
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					cs = append(cs, testCase{tA: tA, tB: tB, m: d[0], n: d[1], k: d[2],
						alpha: scalars[rng.IntN(4)], beta: scalars[rng.IntN(4)], pad: rng.IntN(3) * 3})
				}
			}
		}
	}
	// Every alpha/beta pair on one awkward shape.
	for _, al := range scalars {
		for _, be := range scalars {
			cs = append(cs, testCase{tA: rng.IntN(2) == 0, tB: rng.IntN(2) == 0, m: 13, n: 33, k: 65, alpha: al, beta: be, pad: 1})
		}
	}
	// Larger than one block in every dimension (mc, kc, nc) and parallel.
	cs = append(cs,
		testCase{m: 130, n: 2100, k: 530, alpha: 1, beta: 0},
		testCase{tA: true, tB: true, m: 301, n: 70, k: 600, alpha: -2, beta: 0.5, pad: 2},
		testCase{tB: true, m: 64, n: 100, k: 1000, alpha: 0.5, beta: 1})
	return cs
}

func random[T float](rng *rand.Rand, n int) []T {
	x := make([]T, n)
	for i := range x {
		x[i] = T(rng.NormFloat64())
	}
	return x
}

// check runs one case through gemm (via call) and the naive loop and
// compares them with relative tolerance tol·k against the magnitude of the
// terms.
func check[T float](t *testing.T, tc testCase, tol float64,
	call func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	t.Helper()
	rng := rand.New(rand.NewPCG(uint64(tc.m*1000+tc.n), uint64(tc.k)))
	ar, ac := tc.m, tc.k
	if tc.tA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.tB {
		br, bc = bc, br
	}
	lda, ldb, ldc := ac+tc.pad, bc+tc.pad, tc.n+tc.pad
	a := random[T](rng, ar*lda)
	b := random[T](rng, br*ldb)
	c := random[T](rng, tc.m*ldc)
	if tc.beta == 0 { // beta 0 must overwrite NaNs
		for i := range c {
			if i%3 == 0 {
				c[i] = T(math.NaN())
			}
		}
	}
	want := append([]T(nil), c...)
	naive(tc.tA, tc.tB, tc.m, tc.n, tc.k, T(tc.alpha), a, lda, b, ldb, T(tc.beta), want, ldc)
	got := append([]T(nil), c...)
	call(tc.tA, tc.tB, tc.m, tc.n, tc.k, T(tc.alpha), a, lda, b, ldb, T(tc.beta), got, ldc)
	for i := 0; i < tc.m; i++ {
		for j := 0; j < ldc; j++ {
			g, w := float64(got[i*ldc+j]), float64(want[i*ldc+j])
			if j >= tc.n { // padding must be untouched
				if math.Float64bits(g) != math.Float64bits(float64(c[i*ldc+j])) && !(math.IsNaN(g) && math.IsNaN(float64(c[i*ldc+j]))) {
					t.Fatalf("%v: padding c[%d,%d] changed", tc, i, j)
				}
				continue
			}
			// Terms are products of unit normals: scale ~ √k.
			lim := tol * float64(max(tc.k, 1)) * (1 + math.Abs(w) + math.Sqrt(float64(tc.k)))
			if math.IsNaN(g) || math.Abs(g-w) > lim {
				t.Fatalf("%v: c[%d,%d] = %v, want %v", tc, i, j, g, w)
			}
		}
	}
}

func TestDgemm(t *testing.T) {
	for _, tc := range cases() {
		check(t, tc, 1e-12, Dgemm)
	}
}

func TestSgemm(t *testing.T) {
	for _, tc := range cases() {
		check(t, tc, 1e-4/8, Sgemm) // 1e-4 relative on the result, k-scaled loosely
	}
}

// TestGeneric forces the pure-Go microkernels and checks that they give
// the same semantics, on a subset of the cases.
func TestGeneric(t *testing.T) {
	useGeneric(true)
	defer useGeneric(false)
	for i, tc := range cases() {
		if i%3 != 0 {
			continue
		}
		check(t, tc, 1e-12, Dgemm)
		check(t, tc, 1e-4/8, Sgemm)
	}
}

// TestKernelsAgree compares the assembly and Go microkernels directly,
// including beta 0 over NaNs and a NaN-free beta path.
func TestKernelsAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 64, 257} {
		for _, beta := range []float64{0, 1, -2} {
			a, b := random[float64](rng, 6*k), random[float64](rng, 8*k)
			c0 := random[float64](rng, 6*10)
			c0[0] = math.NaN()
			if beta != 0 {
				c0[0] = 1
			}
			c1, c2 := append([]float64(nil), c0...), append([]float64(nil), c0...)
			kernel64.fn(k, a, b, 8, c1, 10, 0.5, beta)
			dkernelGo(k, a, b, 8, c2, 10, 0.5, beta)
			for i := range c1 {
				if math.Abs(c1[i]-c2[i]) > 1e-12*float64(k)*(1+math.Abs(c2[i])) {
					t.Fatalf("float64 k=%d beta=%v: c[%d] = %v, Go kernel %v", k, beta, i, c1[i], c2[i])
				}
			}
			as, bs := random[float32](rng, 6*k), random[float32](rng, 16*k)
			s0 := random[float32](rng, 6*20)
			s0[0] = float32(math.NaN())
			if beta != 0 {
				s0[0] = 1
			}
			s1, s2 := append([]float32(nil), s0...), append([]float32(nil), s0...)
			kernel32.fn(k, as, bs, 16, s1, 20, 0.5, float32(beta))
			skernelGo(k, as, bs, 16, s2, 20, 0.5, float32(beta))
			for i := range s1 {
				if math.Abs(float64(s1[i]-s2[i])) > 1e-5*float64(k)*(1+math.Abs(float64(s2[i]))) {
					t.Fatalf("float32 k=%d beta=%v: c[%d] = %v, Go kernel %v", k, beta, i, s1[i], s2[i])
				}
			}
		}
	}
}

// TestConcurrent runs several large (parallel) and small products at once
// from different goroutines: buffers must not be shared.
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			m, n, k := 40+g*7, 300+g*13, 100+g*11
			if g%2 == 1 {
				m, n, k = 5+g, 9, 17
			}
			a, b := random[float64](rng, m*k), random[float64](rng, k*n)
			want := make([]float64, m*n)
			naive(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
			for rep := 0; rep < 5; rep++ {
				got := make([]float64, m*n)
				Dgemm(false, false, m, n, k, 1, a, k, b, n, 0, got, n)
				for i := range got {
					if math.Abs(got[i]-want[i]) > 1e-10*(1+math.Abs(want[i])) {
						errs <- fmt.Sprintf("goroutine %d: c[%d] = %v, want %v", g, i, got[i], want[i])
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}

func TestPanics(t *testing.T) {
	a := make([]float64, 6)
	for _, f := range []func(){
		func() { Dgemm(false, false, -1, 2, 3, 1, a, 3, a, 2, 0, a, 2) },
		func() { Dgemm(false, false, 2, 2, 3, 1, a, 2, a, 2, 0, a, 2) },    // lda < k
		func() { Dgemm(false, false, 2, 3, 3, 1, a, 3, a, 3, 0, a, 3) },    // b too short
		func() { Dgemm(true, false, 2, 2, 3, 1, a, 2, a[:5], 2, 0, a, 2) }, // b too short
		func() { Dgemm(false, false, 2, 2, 3, 1, a, 3, a, 2, 0, a, 1) },    // ldc < n
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		}()
	}
	// Zero sizes are fine and touch nothing.
	Dgemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1)
	c := []float64{math.NaN(), 2}
	Dgemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0, c, 2) // k = 0: C = beta·C
	if c[0] != 0 || c[1] != 0 {
		t.Errorf("k=0, beta=0: c = %v", c)
	}
}
