package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
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

var gemmImpl gonum.Implementation

func trans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// smallGemm is the largest m·n·k for which gemm uses its own loops rather
// than gonum's blocked, parallel Dgemm/Sgemm: below it gonum's setup and
// goroutines cost more than the arithmetic (a 10×784·784×30 product, the
// seed network's first layer, is 235k multiply-adds).
const smallGemm = 1 << 20

// gemm64 computes c = op(a)·op(b) for row-major matrices.
func gemm64(tA, tB bool, m, n, k int, a, b, c []float64) {
	if m*n*k <= smallGemm {
		gemmSmall(tA, tB, m, n, k, a, b, c)
		return
	}
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	gemmImpl.Dgemm(trans(tA), trans(tB), m, n, k, 1, a, lda, b, ldb, 0, c, n)
}

// gemm32 is gemm64 for float32.
func gemm32(tA, tB bool, m, n, k int, a, b, c []float32) {
	if m*n*k <= smallGemm {
		gemmSmall(tA, tB, m, n, k, a, b, c)
		return
	}
	lda, ldb := k, n
	if tA {
		lda = m
	}
	if tB {
		ldb = k
	}
	gemmImpl.Sgemm(trans(tA), trans(tB), m, n, k, 1, a, lda, b, ldb, 0, c, n)
}

// gemmSmall computes c = op(a)·op(b) (row-major, c is m×n) with plain loops
// that suit small matrices:
//
//   - A·B and Aᵀ·B build each row of c as a sum of rows of b (c[i,:] =
//     Σₚ a[i,p]·b[p,:]), so the inner loop is an axpy over contiguous
//     memory and a zero a[i,p] (most pixels of an image, every inactive
//     ReLU) skips a whole row, as reference BLAS does;
//   - A·Bᵀ takes dot products of contiguous rows of a and b;
//   - Aᵀ·Bᵀ, rare, is the transpose of B·A.
func gemmSmall[T Float](tA, tB bool, m, n, k int, a, b, c []T) {
	c = c[:m*n]
	switch {
	case !tB:
		// a[i,p] is at i*k+p for A (m×k), at p*m+i for Aᵀ (A is k×m)
		ai, ap := k, 1
		if tA {
			ai, ap = 1, m
		}
		for i := 0; i < m; i++ {
			ci := c[i*n : (i+1)*n]
			first := true
			for p := 0; p < k; p++ {
				s := a[i*ai+p*ap]
				if s == 0 {
					continue
				}
				bp := b[p*n : (p+1)*n]
				if first {
					scaleTo(ci, s, bp)
					first = false
				} else {
					axpy(ci, s, bp)
				}
			}
			if first {
				clear(ci)
			}
		}
	case !tA: // A·Bᵀ: c[i,j] = a[i,:]·b[j,:]
		for i := 0; i < m; i++ {
			ai := a[i*k : (i+1)*k]
			ci := c[i*n : (i+1)*n]
			for j := range ci {
				ci[j] = dot(ai, b[j*k:(j+1)*k])
			}
		}
	default: // Aᵀ·Bᵀ = (B·A)ᵀ: c[i,j] = Σₚ a[p,i]·b[j,p]
		for i := 0; i < m; i++ {
			ci := c[i*n : (i+1)*n]
			for j := range ci {
				bj := b[j*k : (j+1)*k]
				var s T
				for p, v := range bj {
					s += a[p*m+i] * v
				}
				ci[j] = s
			}
		}
	}
}

// axpy adds s·x to y.
func axpy[T Float](y []T, s T, x []T) {
	x = x[:len(y)]
	j := 0
	for ; j+4 <= len(y); j += 4 {
		y[j] += s * x[j]
		y[j+1] += s * x[j+1]
		y[j+2] += s * x[j+2]
		y[j+3] += s * x[j+3]
	}
	for ; j < len(y); j++ {
		y[j] += s * x[j]
	}
}

// scaleTo sets y to s·x.
func scaleTo[T Float](y []T, s T, x []T) {
	x = x[:len(y)]
	for j, v := range x {
		y[j] = s * v
	}
}

// dot returns x·y, with four partial sums for instruction-level parallelism.
func dot[T Float](x, y []T) T {
	y = y[:len(x)]
	var s0, s1, s2, s3 T
	j := 0
	for ; j+4 <= len(x); j += 4 {
		s0 += x[j] * y[j]
		s1 += x[j+1] * y[j+1]
		s2 += x[j+2] * y[j+2]
		s3 += x[j+3] * y[j+3]
	}
	for ; j < len(x); j++ {
		s0 += x[j] * y[j]
	}
	return (s0 + s1) + (s2 + s3)
}
