package graph

import (
	"fmt"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
	"gonum.org/v1/gonum/floats"
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
		gemmSmall(tA, tB, m, n, k, a, b, c, vec64{})
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
		gemmSmall(tA, tB, m, n, k, a, b, c, vec32{})
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

// gemmSmall computes c = op(a)·op(b) (row-major, c is m×n) for small
// matrices, with gonum's vectorised level-1 routines as inner loops (they
// run about three times faster than the same loop in Go):
//
//   - A·B and Aᵀ·B are sums of scaled rows of b, one axpy per nonzero entry
//     of a; a zero skips a whole row of b, as in reference BLAS (most pixels
//     of an image, every inactive ReLU). Rows of a are scanned contiguously;
//   - A·Bᵀ takes dot products of contiguous rows of a and b;
//   - Aᵀ·Bᵀ, rare, is a plain triple loop.
func gemmSmall[T Float, V vecOps[T]](tA, tB bool, m, n, k int, a, b, c []T, v V) {
	c = c[:m*n]
	var nz [gemmChunk]int
	switch {
	case !tA && !tB: // c[i,:] = Σₚ a[i,p]·b[p,:]
		for i := 0; i < m; i++ {
			ci, ai := c[i*n:(i+1)*n], a[i*k:(i+1)*k]
			clear(ci)
			for p0 := 0; p0 < k; p0 += gemmChunk {
				for _, p := range nonzeros(nz[:], ai, p0) {
					v.axpy(ci, ai[p], b[p*n:(p+1)*n])
				}
			}
		}
	case !tB: // A is k×m: c[i,:] = Σₚ a[p,i]·b[p,:], one row of A at a time
		clear(c)
		for p := 0; p < k; p++ {
			ap, bp := a[p*m:(p+1)*m], b[p*n:(p+1)*n]
			for i0 := 0; i0 < m; i0 += gemmChunk {
				for _, i := range nonzeros(nz[:], ap, i0) {
					v.axpy(c[i*n:(i+1)*n], ap[i], bp)
				}
			}
		}
	case !tA: // c[i,j] = a[i,:]·b[j,:]
		for i := 0; i < m; i++ {
			ai := a[i*k : (i+1)*k]
			ci := c[i*n : (i+1)*n]
			for j := range ci {
				ci[j] = v.dot(ai, b[j*k:(j+1)*k])
			}
		}
	default: // c[i,j] = Σₚ a[p,i]·b[j,p]
		for i := 0; i < m; i++ {
			ci := c[i*n : (i+1)*n]
			for j := range ci {
				bj := b[j*k : (j+1)*k]
				var s T
				for p, x := range bj {
					s += a[p*m+i] * x
				}
				ci[j] = s
			}
		}
	}
}

// gemmChunk is how many entries of a row gemmSmall scans for nonzeros at a
// time.
const gemmChunk = 256

// nonzeros lists in buf the indices j in [from, from+len(buf)) ∩ [0,
// len(x)) where x[j] ≠ 0, and returns that part of buf. It has no branch
// per entry: on an image, zero or not is a coin toss that a branch
// predictor would lose.
func nonzeros[T Float](buf []int, x []T, from int) []int {
	n := 0
	for j := from; j < min(from+len(buf), len(x)); j++ {
		buf[n] = j
		if x[j] != 0 {
			n++
		}
	}
	return buf[:n]
}

// vecOps are the level-1 kernels gemmSmall runs on: gonum's assembly
// (through its public API) for each element type.
type vecOps[T Float] interface {
	axpy(y []T, s T, x []T) // y += s·x, len(x) ≥ len(y)
	dot(x, y []T) T         // x·y, len(x) == len(y)
}

type vec64 struct{}

func (vec64) axpy(y []float64, s float64, x []float64) { floats.AddScaled(y, s, x[:len(y)]) }
func (vec64) dot(x, y []float64) float64               { return floats.Dot(x, y) }

type vec32 struct{}

func (vec32) axpy(y []float32, s float32, x []float32) { gemmImpl.Saxpy(len(y), s, x, 1, y, 1) }
func (vec32) dot(x, y []float32) float32               { return gemmImpl.Sdot(len(x), x, 1, y, 1) }
