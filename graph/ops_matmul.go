package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/metagon/metagon/internal/gemm"
)

// matMulOp is the matrix product op(A)·op(B), where op transposes its
// argument when the flag is set. Rank-3 inputs are a batch of independent
// products (the first axis is the batch). With the flags, the derivative of
// a product is again a product of the same kind, so the op is closed under
// differentiation:
//
//	y = A·B:    dA = g·Bᵀ,   dB = Aᵀ·g
//	y = A·Bᵀ:   dA = g·B,    dB = gᵀ·A
//	y = Aᵀ·B:   dA = B·gᵀ,   dB = A·g
//	y = Aᵀ·Bᵀ:  dA = Bᵀ·gᵀ,  dB = gᵀ·Aᵀ
type matMulOp struct {
	base
	tA, tB         bool
	batch, m, n, k int
}

// MatMul returns the matrix product a·b of two matrices, or of two batches
// of matrices (rank 3, batch first).
func MatMul(a, b *G.Node) *G.Node { return MatMulT(a, b, false, false) }

// BatchedMatMul is MatMul on rank-3 inputs: out[i] = a[i]·b[i].
func BatchedMatMul(a, b *G.Node) *G.Node {
	if len(a.Shape()) != 3 {
		panic(shapeErrorf("batched matmul: want rank-3 inputs, got %v and %v", a.Shape(), b.Shape()))
	}
	return MatMulT(a, b, false, false)
}

// MatMulT returns op(a)·op(b) where op transposes the (last two axes of
// the) matrix when the matching flag is set.
func MatMulT(a, b *G.Node, transA, transB bool) *G.Node {
	dt := sameDtype("matmul", a, b)
	as, bs := a.Shape(), b.Shape()
	if len(as) != len(bs) || len(as) < 2 || len(as) > 3 {
		panic(shapeErrorf("matmul: want two matrices or two batches of matrices, got %v and %v", as, bs))
	}
	o := &matMulOp{tA: transA, tB: transB, batch: 1}
	if len(as) == 3 {
		if as[0] != bs[0] {
			panic(shapeErrorf("batched matmul: batch sizes %d and %d differ", as[0], bs[0]))
		}
		o.batch, as, bs = as[0], as[1:], bs[1:]
	}
	o.m, o.k = as[0], as[1]
	if transA {
		o.m, o.k = o.k, o.m
	}
	kb, n := bs[0], bs[1]
	if transB {
		kb, n = n, kb
	}
	if kb != o.k {
		panic(shapeErrorf("matmul: inner sizes differ: %v%s · %v%s", a.Shape(), tmark(transA), b.Shape(), tmark(transB)))
	}
	o.n = n
	out := tensor.Shape{o.m, o.n}
	if len(a.Shape()) == 3 {
		out = tensor.Shape{o.batch, o.m, o.n}
	}
	o.base = newBase("matmul", fmt.Sprintf("%v,%v", transA, transB), dt, out, []*G.Node{a, b})
	return apply(o, a, b)
}

func tmark(t bool) string {
	if t {
		return "ᵀ"
	}
	return ""
}

func (o *matMulOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *matMulOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		a, b, c := data[float64](in[0]), data[float64](in[1]), data[float64](out)
		for i := 0; i < o.batch; i++ {
			ab, bb, cb := o.slices(i)
			gemm64(o.tA, o.tB, o.m, o.n, o.k, a[ab:], b[bb:], c[cb:cb+o.m*o.n])
		}
	} else {
		a, b, c := data[float32](in[0]), data[float32](in[1]), data[float32](out)
		for i := 0; i < o.batch; i++ {
			ab, bb, cb := o.slices(i)
			gemm32(o.tA, o.tB, o.m, o.n, o.k, a[ab:], b[bb:], c[cb:cb+o.m*o.n])
		}
	}
}

// slices returns where batch item i starts in a, b and the output.
func (o *matMulOp) slices(i int) (int, int, int) {
	return i * o.m * o.k, i * o.k * o.n, i * o.m * o.n
}

func (o *matMulOp) backward(in []*G.Node, _, g *G.Node) []*G.Node {
	a, b := in[0], in[1]
	switch {
	case !o.tA && !o.tB:
		return []*G.Node{MatMulT(g, b, false, true), MatMulT(a, g, true, false)}
	case !o.tA && o.tB:
		return []*G.Node{MatMulT(g, b, false, false), MatMulT(g, a, true, false)}
	case o.tA && !o.tB:
		return []*G.Node{MatMulT(b, g, false, true), MatMulT(a, g, false, false)}
	default:
		return []*G.Node{MatMulT(b, g, true, true), MatMulT(g, a, true, true)}
	}
}

// gemmImpl is gonum's BLAS, the reference the tests compare gemm64 and
// gemm32 with.
var gemmImpl gonum.Implementation

// gemm64 computes c = op(a)·op(b) for row-major matrices with the packed
// AVX2/FMA kernels of internal/gemm (parallel for large products). They
// beat both gonum's Dgemm and the former small-matrix loops (gonum axpys
// that skipped zero entries of a) at every size our models use, including
// the seed network's 10×784·784×30.
func gemm64(tA, tB bool, m, n, k int, a, b, c []float64) {
	// Leading dimensions are at least 1 (BLAS's rule), even for empty
	// matrices.
	lda, ldb := max(k, 1), max(n, 1)
	if tA {
		lda = max(m, 1)
	}
	if tB {
		ldb = max(k, 1)
	}
	gemm.Dgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, max(n, 1))
}

// gemm32 is gemm64 for float32.
func gemm32(tA, tB bool, m, n, k int, a, b, c []float32) {
	// Leading dimensions are at least 1 (BLAS's rule), even for empty
	// matrices.
	lda, ldb := max(k, 1), max(n, 1)
	if tA {
		lda = max(m, 1)
	}
	if tB {
		ldb = max(k, 1)
	}
	gemm.Sgemm(tA, tB, m, n, k, 1, a, lda, b, ldb, 0, c, max(n, 1))
}
