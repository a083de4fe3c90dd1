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

// operands draws the random A, B and C of a case, seeded by its shape,
// with their leading dimensions (padded by tc.pad).
func operands[T float](tc testCase) (a, b, c []T, lda, ldb, ldc int) {
	rng := rand.New(rand.NewPCG(uint64(tc.m*1000+tc.n), uint64(tc.k)))
	ar, ac := tc.m, tc.k
	if tc.tA {
		ar, ac = ac, ar
	}
	br, bc := tc.k, tc.n
	if tc.tB {
		br, bc = bc, br
	}
	lda, ldb, ldc = max(ac, 1)+tc.pad, max(bc, 1)+tc.pad, tc.n+tc.pad
	return random[T](rng, ar*lda), random[T](rng, br*ldb), random[T](rng, tc.m*ldc), lda, ldb, ldc
}

// check runs one case through gemm (via call) and the naive loop and
// compares them with relative tolerance tol·k against the magnitude of the
// terms.
func check[T float](t *testing.T, tc testCase, tol float64,
	call func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	t.Helper()
	a, b, c, lda, ldb, ldc := operands[T](tc)
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

// TestEachKernel runs a subset of the cases through every other kernel
// set this machine has: TestDgemm and TestSgemm check the selected one on
// all cases and TestGeneric the generic one.
func TestEachKernel(t *testing.T) {
	selected := Kernel()
	defer selectKernels()
	for _, ks := range availableKernels() {
		if ks.name == selected || ks.name == genericKernels.name {
			continue
		}
		useKernels(ks)
		for i, tc := range cases() {
			if i%3 != 1 {
				continue
			}
			check(t, tc, 1e-12, Dgemm)
			check(t, tc, 1e-4/8, Sgemm)
		}
	}
}

// TestKernelsAgree compares every available microkernel directly with the
// Go one at its tile shape: k below, at and past the unrolling by 4,
// several alphas, beta 0 (over NaNs), 1, -2, 0.3 and NaN, B read in place
// (ldb > NR) or packed, and C wider than the tile (its padding must stay
// untouched).
func TestKernelsAgree(t *testing.T) {
	for _, ks := range availableKernels() {
		kernelsAgree(t, ks.name, ks.f64, 1e-12)
		kernelsAgree(t, ks.name, ks.f32, 1e-5)
	}
}

func kernelsAgree[T float](t *testing.T, name string, kern kernel[T], tol float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	mr, nr := kern.mr, kern.nr
	alphas := []float64{1, 0.5, -1.7}
	for i, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 64, 257} {
		for j, beta := range []float64{0, 1, -2, 0.3, math.NaN()} {
			alpha := alphas[(i+j)%len(alphas)]
			ldb := nr
			if j%2 == 1 {
				ldb = nr + 3
			}
			ldc := nr + 2
			a, b := random[T](rng, mr*k), random[T](rng, (k-1)*ldb+nr)
			c0 := random[T](rng, mr*ldc)
			if beta == 0 { // must be overwritten, not read
				for p := 0; p < len(c0); p += 3 {
					c0[p] = T(math.NaN())
				}
			}
			c1, c2 := append([]T(nil), c0...), append([]T(nil), c0...)
			kern.fn(k, a, b, ldb, c1, ldc, T(alpha), T(beta))
			microGo(mr, nr, k, a, b, ldb, c2, ldc, T(alpha), T(beta))
			for p := range c1 {
				g, w := float64(c1[p]), float64(c2[p])
				if p%ldc >= nr { // padding: untouched
					g, w = float64(c1[p]), float64(c0[p])
				}
				if math.IsNaN(g) != math.IsNaN(w) || math.Abs(g-w) > tol*float64(k)*(1+math.Abs(w)) {
					t.Fatalf("%s %T %d×%d k=%d alpha=%v beta=%v ldb=%d: c[%d] = %v, Go kernel %v",
						name, c0[0], mr, nr, k, alpha, beta, ldb, p, g, w)
				}
			}
		}
	}
}

// TestAssemblyBitIdentical checks that the assembly kernel sets (AVX2 and
// AVX-512 where the CPU has both) give bit-identical products, partial
// tiles, every kc block, beta path and split over goroutines included:
// each element of C is the same chain of FMAs in every one of them.
func TestAssemblyBitIdentical(t *testing.T) {
	var asm []kernelSet
	for _, ks := range availableKernels() {
		if ks.name != genericKernels.name {
			asm = append(asm, ks)
		}
	}
	if len(asm) < 2 {
		t.Skipf("only %d assembly kernel set(s) on this CPU", len(asm))
	}
	defer selectKernels()
	rng := rand.New(rand.NewPCG(7, 8))
	sizes := []int{1, 5, 6, 7, 13, 17, 24, 31, 33, 65}
	ks := []int{0, 1, 3, 4, 5, 256, 257, 600}
	scalars := []float64{1, -0.7, 0.3, 0}
	betas := []float64{0, 1, 0.3, -2, math.NaN()}
	var cs []testCase
	for i := 0; i < 120; i++ {
		cs = append(cs, testCase{tA: i%2 == 1, tB: i%4 >= 2,
			m: sizes[rng.IntN(len(sizes))], n: sizes[rng.IntN(len(sizes))], k: ks[i%len(ks)],
			alpha: scalars[rng.IntN(len(scalars))], beta: betas[i%len(betas)], pad: i % 3})
	}
	cs = append(cs, // parallel, several kc and mc blocks, direct B
		testCase{m: 70, n: 530, k: 300, alpha: 1, beta: 0.3},
		testCase{tA: true, tB: true, m: 301, n: 45, k: 270, alpha: -2, beta: 0, pad: 1},
		testCase{m: 20, n: 1000, k: 520, alpha: 0.7, beta: 1})
	for _, tc := range cs {
		bitIdentical(t, tc, asm, Dgemm)
		bitIdentical(t, tc, asm, Sgemm)
	}
}

func bitIdentical[T float](t *testing.T, tc testCase, sets []kernelSet,
	call func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	t.Helper()
	a, b, c, lda, ldb, ldc := operands[T](tc)
	var first []T
	for _, ks := range sets {
		useKernels(ks)
		got := append([]T(nil), c...)
		call(tc.tA, tc.tB, tc.m, tc.n, tc.k, T(tc.alpha), a, lda, b, ldb, T(tc.beta), got, ldc)
		if first == nil {
			first = got
			continue
		}
		for i, g := range got {
			w := first[i]
			if math.IsNaN(float64(g)) && math.IsNaN(float64(w)) {
				continue
			}
			if g != w || math.Signbit(float64(g)) != math.Signbit(float64(w)) {
				t.Fatalf("%v %T: c[%d] = %v with %s, %v with %s",
					tc, g, i, g, ks.name, w, sets[0].name)
			}
		}
	}
}

// TestChooseKernels checks METAGON_GEMM_KERNEL: an available name is used,
// anything else falls back to the best set.
func TestChooseKernels(t *testing.T) {
	avail := availableKernels()
	best := avail[0].name
	for _, ks := range avail {
		if got := chooseKernels(avail, ks.name).name; got != ks.name {
			t.Errorf("chooseKernels(%q) = %q", ks.name, got)
		}
	}
	for _, want := range []string{"", "nonesuch", "AVX2"} {
		if got := chooseKernels(avail, want).name; got != best {
			t.Errorf("chooseKernels(%q) = %q, want the best, %q", want, got, best)
		}
	}
	t.Cleanup(selectKernels) // after the environment is restored
	t.Setenv(kernelEnv, "generic")
	selectKernels()
	if Kernel() != "generic" {
		t.Errorf("%s=generic: Kernel() = %q", kernelEnv, Kernel())
	}
	t.Setenv(kernelEnv, "nonesuch")
	selectKernels()
	if Kernel() != best {
		t.Errorf("%s=nonesuch: Kernel() = %q, want %q", kernelEnv, Kernel(), best)
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
