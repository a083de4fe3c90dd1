package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// packShapes are block sizes around the fast paths' edges: chunks of 16
// rows, whole and partial slivers, and the blocking sizes themselves.
var packShapes = []int{1, 2, 5, 6, 7, 8, 12, 15, 16, 17, 31, 32, 33, 47, 64, 72, 100, 256}

// packCheck runs pack and ref on the same source and on buffers filled
// with the same sentinel, and fails unless every element of the buffers,
// including any the packing should not touch, agrees.
func packCheck[T float](t *testing.T, name string, n int, pack, ref func(dst []T)) {
	t.Helper()
	got, want := make([]T, n), make([]T, n)
	for i := range got {
		got[i], want[i] = -7777, -7777
	}
	pack(got)
	ref(want)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: dst[%d] = %v, want %v", name, i, got[i], want[i])
		}
	}
}

func testPackMatchesRef[T float](t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const off = 3 // i0/j0 and p0 inside the source
	for _, tr := range []bool{false, true} {
		for _, mn := range packShapes {
			for _, kb := range packShapes {
				for _, pad := range []int{0, 5} {
					// A source big enough for either layout with offsets.
					rows, cols := off+max(mn, kb), off+max(mn, kb)+pad
					src := make([]T, rows*cols)
					for i := range src {
						src[i] = T(rng.NormFloat64())
					}
					ld := cols
					for _, mr := range []int{6, 4} {
						n := roundUp(mn, mr)*kb + 40
						packCheck(t, fmt.Sprintf("packA tA=%v mb=%d kb=%d mr=%d pad=%d", tr, mn, kb, mr, pad), n,
							func(d []T) { packA(d, tr, src, ld, off, off-1, mn, kb, mr) },
							func(d []T) { packARef(d, tr, src, ld, off, off-1, mn, kb, mr) })
					}
					for _, nr := range []int{8, 16, 32, 12} {
						n := roundUp(mn, nr)*kb + 40
						packCheck(t, fmt.Sprintf("packB tB=%v nb=%d kb=%d nr=%d pad=%d", tr, mn, kb, nr, pad), n,
							func(d []T) { packB(d, tr, src, ld, off-1, off, kb, mn, nr) },
							func(d []T) { packBRef(d, tr, src, ld, off-1, off, kb, mn, nr) })
					}
				}
			}
		}
	}
}

// TestPackMatchesRef checks that the unrolled packing routines write
// exactly what the plain loops they replaced wrote.
func TestPackMatchesRef(t *testing.T) {
	t.Run("float64", testPackMatchesRef[float64])
	t.Run("float32", testPackMatchesRef[float32])
}

// BenchmarkPack compares the packing routines with the plain loops they
// replaced on the float32 AVX-512 conv-layer blocks (MR = 6, NR = 32).
func BenchmarkPack(b *testing.B) {
	src := make([]float32, 6272*600)
	dst := make([]float32, kc*nc)
	for i := range src {
		src[i] = float32(i)
	}
	type fn func(dst []float32)
	cases := []struct {
		name     string
		new, old fn
	}{
		{"A_64x256", // convFwd, convWGrad_ABt: A untransposed
			func(d []float32) { packA(d, false, src, 576, 0, 0, 64, 256, 6) },
			func(d []float32) { packARef(d, false, src, 576, 0, 0, 64, 256, 6) }},
		{"At_72x64", // convXGrad_AtB: A transposed
			func(d []float32) { packA(d, true, src, 576, 0, 0, 72, 64, 6) },
			func(d []float32) { packARef(d, true, src, 576, 0, 0, 72, 64, 6) }},
		{"Bt_256x576", // convWGrad_ABt: B transposed
			func(d []float32) { packB(d, true, src, 6272, 0, 0, 256, 576, 32) },
			func(d []float32) { packBRef(d, true, src, 6272, 0, 0, 256, 576, 32) }},
		{"B_256x2048", // convFwd: B untransposed
			func(d []float32) { packB(d, false, src, 6272, 0, 0, 256, 2048, 32) },
			func(d []float32) { packBRef(d, false, src, 6272, 0, 0, 256, 2048, 32) }},
	}
	for _, c := range cases {
		b.Run(c.name+"/new", func(b *testing.B) {
			for b.Loop() {
				c.new(dst)
			}
		})
		b.Run(c.name+"/old", func(b *testing.B) {
			for b.Loop() {
				c.old(dst)
			}
		})
	}
}
