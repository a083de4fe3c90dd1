package gemm

import (
	"slices"
	"testing"
)

// stored is a Source over a stored op(B), packed as gemm packs it.
type stored[T float] struct {
	tB  bool
	b   []T
	ldb int
}

func (s stored[T]) Pack(dst []T, p0, j0, kb, nb, nr int) {
	packB(dst, s.tB, s.b, s.ldb, p0, j0, kb, nb, nr)
}

// TestSourceBitIdentical checks that a product whose B comes from a Source
// is bit-identical to the same product on the stored matrix, for every
// test case (both transposes of the stored B, serial and parallel sizes).
func TestSourceBitIdentical(t *testing.T) {
	for _, tc := range cases() {
		sourceCase[float64](t, tc, DgemmSource, Dgemm)
		sourceCase[float32](t, tc, SgemmSource, Sgemm)
	}
}

func sourceCase[T float](t *testing.T, tc testCase,
	viaSource func(tA bool, m, n, k int, alpha T, a []T, lda int, b Source[T], beta T, c []T, ldc int),
	plain func(tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int)) {
	t.Helper()
	a, b, c, lda, ldb, ldc := operands[T](tc)
	want := slices.Clone(c)
	plain(tc.tA, tc.tB, tc.m, tc.n, tc.k, T(tc.alpha), a, lda, b, ldb, T(tc.beta), want, ldc)
	got := slices.Clone(c)
	viaSource(tc.tA, tc.m, tc.n, tc.k, T(tc.alpha), a, lda, stored[T]{tc.tB, b, ldb}, T(tc.beta), got, ldc)
	for i := range want {
		if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
			t.Fatalf("%v: c[%d] = %v through a Source, %v stored", tc, i, got[i], want[i])
		}
	}
}

// TestFlops checks that Flops grows by 2·m·n·k per product, counting a
// parallel product once and an empty one not at all.
func TestFlops(t *testing.T) {
	for _, tc := range []testCase{{m: 3, n: 5, k: 7, alpha: 1}, {m: 130, n: 2100, k: 530, alpha: 1}, {m: 4, n: 0, k: 3, alpha: 1, pad: 1}} {
		a, b, c, lda, ldb, ldc := operands[float32](tc)
		before := Flops()
		Sgemm(false, false, tc.m, tc.n, tc.k, 1, a, lda, b, ldb, 0, c, ldc)
		if got, want := Flops()-before, int64(2*tc.m*tc.n*tc.k); got != want {
			t.Errorf("%v: Flops grew by %d, want 2·m·n·k = %d", tc, got, want)
		}
	}
}
