// Package gemm is a general matrix multiply for row-major float32 and
// float64 matrices,
//
//	C = alpha·op(A)·op(B) + beta·C,
//
// built the way GotoBLAS and BLIS are: op(A) and op(B) are copied ("packed")
// block by block into small contiguous buffers laid out in the exact order
// a register-blocked microkernel reads them, so the microkernel streams
// through memory with unit stride whatever the transposes and leading
// dimensions were.
//
// # Microkernels
//
// Three families of microkernels compute the same thing, best first:
//
//	avx512   amd64 with AVX-512F (kernel_avx512_amd64.s)
//	avx2     amd64 with AVX2 and FMA (kernel_amd64.s)
//	generic  plain Go, everywhere (kernel_generic.go)
//
// The best one the CPU (and OS) supports is used, unless the environment
// variable METAGON_GEMM_KERNEL names another available one ("avx2" on an
// AVX-512 machine, say, to compare them); a name that is not available
// here is ignored. Kernel says which one is in use.
//
// The assembly kernels give bit-identical results: every element of C is
// the same chain of fused multiply-adds over k, in the same order, then
// the same alpha and beta steps, whatever the tile it is computed in. The
// generic kernel agrees to rounding (Go fuses its multiply-adds on some
// architectures and not on others).
//
// # Blocking
//
// The five loops around the microkernel, outermost first, and the cache
// level each block is sized for:
//
//	for jc := 0; jc < n; jc += nc          // B block kc×nc lives in L3
//	  for pc := 0; pc < k; pc += kc        //   pack B[pc:pc+kc, jc:jc+nc]
//	    for ic := 0; ic < m; ic += mc      //   pack A[ic:ic+mc, pc:pc+kc] (L2)
//	      for jr := 0; jr < nc; jr += NR   //     one kc×NR sliver of B (L1)
//	        for ir := 0; ir < mc; ir += MR //       one MR×kc sliver of A
//	          microkernel: C[MR×NR] (+)= Asliver·Bsliver, in registers
//
// The microkernel keeps an MR×NR tile of C in 12 vector registers for the
// whole kc loop (AVX2, ymm: float64 6×8, float32 6×16; AVX-512, zmm:
// float64 6×16, float32 6×32), so each element of A and B it loads feeds
// NR and 6 fused multiply-adds respectively.
//
// # Parallelism
//
// When m is small (≤ directB) an untransposed B is not packed at all: the
// microkernel reads its rows in place (it takes B's row stride), since a
// sliver would serve too few rows of A to repay the copy.
//
// Products of at least parallelMin multiply-adds are split along the longer
// of m and n (in whole microtiles) into one part per GOMAXPROCS; each part
// is an independent blocked product with its own packing buffers, taken
// from a sync.Pool so that steady-state calls allocate nothing.
package gemm

import (
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// float is the element type of a product.
type float interface{ ~float32 | ~float64 }

// Blocking parameters, in elements. kc·NR·size (the B sliver: 16 KiB for
// both types with AVX2, 32 KiB with AVX-512) stays in L1 (32 KiB on Zen 3,
// 48 KiB on the AVX-512 Xeons) while the microkernel sweeps the A block;
// mc·kc·size (the A block: 144 KiB float64, 72 KiB float32) stays in the
// 512 KiB L2; kc·nc·size (B block: 4 MiB float64) fits a share of L3. mc
// is a multiple of MR (6) and covers a 64-filter conv layer in one block.
// Tuned (roughly: the VM is noisy) on a 2-core Zen 3 EPYC. They are the
// same for all kernels: kc in particular decides where the beta = 1
// accumulation between k blocks rounds, and so the bits of the result.
const (
	kc = 256
	mc = 72
	nc = 2048
)

// directB is the largest m for which an untransposed B is read in place
// rather than packed: each B sliver then serves at most this many rows of
// A, too few to repay copying it.
const directB = 24

// parallelMin is the smallest m·n·k that is split over goroutines. Below
// it the product takes a few microseconds and starting goroutines costs
// more than it saves.
const parallelMin = 1 << 18

// microKernel computes, for an MR×kc sliver a of packed A and kc rows of
// NR elements of B, b[p·ldb : p·ldb+NR] (ldb = NR for a packed sliver),
//
//	C[i,j] = alpha·Σₚ a[p·MR+i]·b[p·ldb+j] + beta·C[i,j],  i < MR, j < NR,
//
// where C[i,j] is c[i·ldc+j]; beta == 0 overwrites C without reading it.
// b must hold (k-1)·ldb+NR elements and c (MR-1)·ldc+NR; k must be at
// least 1.
type microKernel[T float] func(k int, a, b []T, ldb int, c []T, ldc int, alpha, beta T)

// kernel is a microkernel with its register-tile shape.
type kernel[T float] struct {
	mr, nr int
	fn     microKernel[T]
}

// kernelSet is one family of microkernels, a float64 and a float32 one,
// with the name METAGON_GEMM_KERNEL and Kernel know it by.
type kernelSet struct {
	name string
	f64  kernel[float64]
	f32  kernel[float32]
}

// genericKernels are the pure-Go microkernels, available everywhere.
var genericKernels = kernelSet{
	name: "generic",
	f64:  kernel[float64]{mr: 6, nr: 8, fn: dkernelGo},
	f32:  kernel[float32]{mr: 6, nr: 16, fn: skernelGo},
}

// kernelEnv is the environment variable that picks the microkernels.
const kernelEnv = "METAGON_GEMM_KERNEL"

// The microkernels in use, set by selectKernels.
var (
	kernel64   = genericKernels.f64
	kernel32   = genericKernels.f32
	kernelName = genericKernels.name
)

// Kernel names the microkernels in use: "avx512", "avx2" or "generic".
func Kernel() string { return kernelName }

// useKernels makes ks the microkernels in use. It is not safe while
// products run.
func useKernels(ks kernelSet) {
	kernel64, kernel32, kernelName = ks.f64, ks.f32, ks.name
}

// chooseKernels returns the kernel set named want among avail (the sets
// this machine supports, best first), or the best one when want is empty
// or names none of them.
func chooseKernels(avail []kernelSet, want string) kernelSet {
	for _, ks := range avail {
		if ks.name == want {
			return ks
		}
	}
	return avail[0]
}

// selectKernels uses the kernels METAGON_GEMM_KERNEL asks for, else the
// best available ones.
func selectKernels() {
	useKernels(chooseKernels(availableKernels(), os.Getenv(kernelEnv)))
}

// useGeneric switches to the pure-Go microkernels (on) or back to the
// selected ones (off). It is a test hook: not safe while products run.
func useGeneric(on bool) {
	if on {
		useKernels(genericKernels)
	} else {
		selectKernels()
	}
}

func init() { selectKernels() }

// Dgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float64
// matrices, where op(X) is X or Xᵀ as transA/transB say, op(A) is m×k,
// op(B) is k×n and C is m×n; lda, ldb and ldc are the row strides of A, B
// and C as stored. beta == 0 overwrites C (NaNs included) without reading
// it. Invalid sizes panic, as in gonum's BLAS.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkArgs("Dgemm", transA, transB, m, n, k, lda, ldb, ldc, len(a), len(b), len(c))
	gemm(kernel64, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Sgemm is Dgemm for float32.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs("Sgemm", transA, transB, m, n, k, lda, ldb, ldc, len(a), len(b), len(c))
	gemm(kernel32, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Source is a matrix B that is never stored: its elements are computed
// while the product packs them (an implicit im2col, say). Pack writes the
// block B[p0:p0+kb, j0:j0+nb] of the k×n matrix into dst exactly as the
// packing of a stored B would: ⌈nb/nr⌉ slivers, each kb rows of nr
// consecutive elements, sliver s holding B[p0+p, j0+s·nr+j] at
// dst[s·nr·kb + p·nr + j], zero in the columns past nb. Pack is called from
// several goroutines at once (on disjoint dst) and must only read shared
// state.
type Source[T float] interface {
	Pack(dst []T, p0, j0, kb, nb, nr int)
}

// DgemmSource is Dgemm with B (k×n, untransposed) given by a Source. Since
// packing only copies, the result is bit-identical to Dgemm on the stored
// matrix.
func DgemmSource(transA bool, m, n, k int, alpha float64, a []float64, lda int, b Source[float64], beta float64, c []float64, ldc int) {
	checkArgs("DgemmSource", transA, false, m, n, k, lda, max(1, n), ldc, len(a), math.MaxInt, len(c))
	gemmSource(kernel64, transA, m, n, k, alpha, a, lda, b, beta, c, ldc)
}

// SgemmSource is DgemmSource for float32.
func SgemmSource(transA bool, m, n, k int, alpha float32, a []float32, lda int, b Source[float32], beta float32, c []float32, ldc int) {
	checkArgs("SgemmSource", transA, false, m, n, k, lda, max(1, n), ldc, len(a), math.MaxInt, len(c))
	gemmSource(kernel32, transA, m, n, k, alpha, a, lda, b, beta, c, ldc)
}

// flops counts the floating-point operations of every product computed
// so far, 2·m·n·k each (a multiply and an add per term).
var flops atomic.Int64

// Flops returns the number of floating-point operations (2·m·n·k per
// product) this package has computed since the program started, for
// benchmarks that report the rate they achieve.
func Flops() int64 { return flops.Load() }

// checkArgs panics, with gonum-like messages, unless the sizes describe
// valid row-major matrices: op(A) m×k, op(B) k×n, C m×n.
func checkArgs(fn string, tA, tB bool, m, n, k, lda, ldb, ldc, la, lb, lc int) {
	bad := func(format string, v ...any) { panic(fmt.Sprintf("gemm: "+fn+": "+format, v...)) }
	if m < 0 || n < 0 || k < 0 {
		bad("negative size m=%d n=%d k=%d", m, n, k)
	}
	// Stored shapes (rows × cols) of A and B.
	ar, ac := m, k
	if tA {
		ar, ac = k, m
	}
	br, bc := k, n
	if tB {
		br, bc = n, k
	}
	if lda < max(1, ac) {
		bad("bad leading dimension of A: lda=%d < %d", lda, max(1, ac))
	}
	if ldb < max(1, bc) {
		bad("bad leading dimension of B: ldb=%d < %d", ldb, max(1, bc))
	}
	if ldc < max(1, n) {
		bad("bad leading dimension of C: ldc=%d < %d", ldc, max(1, n))
	}
	need := func(rows, cols, ld int) int {
		if rows == 0 || cols == 0 {
			return 0
		}
		return (rows-1)*ld + cols
	}
	if la < need(ar, ac, lda) {
		bad("insufficient length of a: %d < %d", la, need(ar, ac, lda))
	}
	if lb < need(br, bc, ldb) {
		bad("insufficient length of b: %d < %d", lb, need(br, bc, ldb))
	}
	if lc < need(m, n, ldc) {
		bad("insufficient length of c: %d < %d", lc, need(m, n, ldc))
	}
}

// gemm is Dgemm/Sgemm after the argument checks: it handles the degenerate
// cases, then splits the product over goroutines.
func gemm[T float](kern kernel[T], tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	split(product[T]{kern: kern, tA: tA, tB: tB, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc})
}

// gemmSource is gemm with B given by a Source.
func gemmSource[T float](kern kernel[T], tA bool, m, n, k int, alpha T, a []T, lda int, b Source[T], beta T, c []T, ldc int) {
	split(product[T]{kern: kern, tA: tA, m: m, n: n, k: k,
		alpha: alpha, a: a, lda: lda, src: b, beta: beta, c: c, ldc: ldc})
}

// split handles the degenerate cases of product p, then runs it, split
// over goroutines when it is big enough.
func split[T float](p product[T]) {
	m, n, k, kern := p.m, p.n, p.k, p.kern
	tA, tB, a, b, c, lda, ldb, ldc := p.tA, p.tB, p.a, p.b, p.c, p.lda, p.ldb, p.ldc
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || p.alpha == 0 {
		scale(m, n, p.beta, c, ldc)
		return
	}
	flops.Add(2 * int64(m) * int64(n) * int64(k))
	workers := runtime.GOMAXPROCS(0)
	if workers < 2 || m*n*k < parallelMin {
		p.run()
		return
	}
	// Split the longer side into `workers` parts of whole microtiles.
	// Splitting n gives each part its own columns of B and C and all of A;
	// splitting m its own rows of A and C and all of B.
	splitN := n >= m
	side, tile := m, kern.mr
	if splitN {
		side, tile = n, kern.nr
	}
	tiles := (side + tile - 1) / tile
	workers = min(workers, tiles)
	per := (tiles + workers - 1) / workers * tile
	var wg sync.WaitGroup
	for lo := 0; lo < side; lo += per {
		q := p
		hi := min(side, lo+per)
		if splitN {
			q.n = hi - lo
			q.c = c[lo:]
			q.j0 = lo
			switch {
			case q.src != nil: // indexed by absolute column, q.j0
			case tB:
				q.b = b[lo*ldb:]
			default:
				q.b = b[lo:]
			}
		} else {
			q.m = hi - lo
			q.c = c[lo*ldc:]
			if tA {
				q.a = a[lo:]
			} else {
				q.a = a[lo*lda:]
			}
		}
		if hi == side { // the last part runs on this goroutine
			q.run()
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			q.run()
		}()
	}
	wg.Wait()
}

// scale sets C = beta·C (C = 0 when beta is 0, NaNs included).
func scale[T float](m, n int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

// product is one serial blocked product (the whole of a call, or one
// goroutine's part of it).
type product[T float] struct {
	kern    kernel[T]
	tA, tB  bool
	m, n, k int
	alpha   T
	a       []T
	lda     int
	b       []T
	ldb     int
	src     Source[T] // B when it is not stored (b unused, tB false)
	j0      int       // this part's first column of src
	beta    T
	c       []T
	ldc     int
}

// buffers are one goroutine's packing buffers.
type buffers[T float] struct {
	a, b []T
	tile []T // MR×NR scratch tile for edge tiles
}

var (
	pool64 = sync.Pool{New: func() any { return new(buffers[float64]) }}
	pool32 = sync.Pool{New: func() any { return new(buffers[float32]) }}
)

func poolFor[T float]() *sync.Pool {
	var z T
	if _, ok := any(z).(float32); ok {
		return &pool32
	}
	return &pool64
}

// grow returns s resliced (or reallocated) to length n.
func grow[T float](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// run computes the product with the five blocking loops (see the package
// comment).
func (p *product[T]) run() {
	mr, nr := p.kern.mr, p.kern.nr
	pool := poolFor[T]()
	buf := pool.Get().(*buffers[T])
	defer pool.Put(buf)
	// Buffer sizes: the A block mc×kc and the B block kc×nc, rounded up to
	// whole slivers and capped by the problem size.
	mcap := min(mc, roundUp(p.m, mr))
	ncap := min(nc, roundUp(p.n, nr))
	kcap := min(kc, p.k)
	buf.a = grow(buf.a, mcap*kcap)
	buf.b = grow(buf.b, kcap*ncap)
	buf.tile = grow(buf.tile, mr*nr)

	for jc := 0; jc < p.n; jc += nc {
		nb := min(nc, p.n-jc)
		for pc := 0; pc < p.k; pc += kc {
			kb := min(kc, p.k-pc)
			direct := p.src == nil && !p.tB && p.m <= directB
			switch {
			case p.src != nil:
				p.src.Pack(buf.b, pc, p.j0+jc, kb, nb, nr)
			case direct:
				// Only the partial last sliver is packed (the kernel
				// must not read past the end of B's rows).
				full := nb / nr * nr
				packB(buf.b[full*kb:], false, p.b, p.ldb, pc, jc+full, kb, nb-full, nr)
			default:
				packB(buf.b, p.tB, p.b, p.ldb, pc, jc, kb, nb, nr)
			}
			// The first kc block applies beta; later ones accumulate.
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			for ic := 0; ic < p.m; ic += mc {
				mb := min(mc, p.m-ic)
				packA(buf.a, p.tA, p.a, p.lda, ic, pc, mb, kb, mr)
				p.macro(buf, ic, jc, pc, mb, nb, kb, beta, direct)
			}
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// macro runs the microkernel over one packed mb×kb block of A and one
// packed kb×nb block of B, updating C[ic:ic+mb, jc:jc+nb]. Tiles that stick
// out of C are computed in buf.tile and only their valid part is copied
// back.
// With direct, whole slivers of B are read in place from op(B) = B rather
// than from buf.b.
func (p *product[T]) macro(buf *buffers[T], ic, jc, pc, mb, nb, kb int, beta T, direct bool) {
	mr, nr, fn := p.kern.mr, p.kern.nr, p.kern.fn
	c, ldc, alpha := p.c, p.ldc, p.alpha
	for jr := 0; jr < nb; jr += nr {
		nn := min(nr, nb-jr)
		bs := buf.b[jr*kb : (jr+nr)*kb] // sliver jr/nr: kb rows of NR
		ldb := nr
		if direct && nn == nr {
			off := pc*p.ldb + jc + jr
			bs, ldb = p.b[off:off+(kb-1)*p.ldb+nr], p.ldb
		}
		for ir := 0; ir < mb; ir += mr {
			mm := min(mr, mb-ir)
			as := buf.a[ir*kb : (ir+mr)*kb] // sliver ir/mr: kb columns of MR
			off := (ic+ir)*ldc + jc + jr
			if mm == mr && nn == nr {
				cs := c[off : off+(mr-1)*ldc+nr] // bounds for the kernel
				fn(kb, as, bs, ldb, cs, ldc, alpha, beta)
				continue
			}
			// An edge tile: the kernel works on a copy of its valid part
			// (and whatever is in the rest of the scratch tile, which is
			// discarded), so that its elements come out exactly as they
			// would in a whole tile.
			t := buf.tile
			if beta != 0 {
				for i := 0; i < mm; i++ {
					copy(t[i*nr:i*nr+nn], c[off+i*ldc:off+i*ldc+nn])
				}
			}
			fn(kb, as, bs, ldb, t, nr, alpha, beta)
			for i := 0; i < mm; i++ {
				copy(c[off+i*ldc:off+i*ldc+nn], t[i*nr:i*nr+nn])
			}
		}
	}
}
