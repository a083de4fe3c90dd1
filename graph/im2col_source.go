package graph

import "sync"

// im2colSource is the column matrix of an image batch as a gemm.Source:
// cols[(c·kh+ki)·kw+kj, (n·Ho+i)·Wo+j] = x[n, c, i+ki−p, j+kj−p] (zero
// outside the image), or its transpose with trans. The GEMM asks it for
// one block at a time, already in the packed order, so the matrix is
// never stored.
//
// The image is first copied once with its zero border (p on every side),
// xp. Then every entry is a gather with no bounds to test:
//
//	cols[q, j] = xp[base(j) + off(q)],
//	base(n, i, jx)  = plane(n, 0)·PH·PW + i·PW + jx,
//	off(c, ki, kj)  = plane(0, c)·PH·PW + ki·PW + kj,
//
// with PH = H+2p, PW = W+2p and plane(n, c) the index of image n's
// channel c in the layout (n·C+c, or c·N+n channel-major). A block is
// packed from its columns' bases and its rows' offsets.
type im2colSource[T Float] struct {
	g     convGeom
	xp    []T // x with its zero border
	trans bool
}

// newIm2colSource pads x into a pooled buffer; release returns it.
func newIm2colSource[T Float](g convGeom, x []T, trans bool) *im2colSource[T] {
	ph, pw := g.h+2*g.p, g.w+2*g.p
	planes := g.n * g.c
	xp := getPadded[T](planes * ph * pw)
	pad := func(lo, hi int) {
		for pl := lo; pl < hi; pl++ {
			dst := xp[pl*ph*pw:][:ph*pw]
			clear(dst[:g.p*pw])
			for i := 0; i < g.h; i++ {
				row := dst[(i+g.p)*pw:][:pw]
				clear(row[:g.p])
				copy(row[g.p:g.p+g.w], x[(pl*g.h+i)*g.w:][:g.w])
				clear(row[g.p+g.w:])
			}
			clear(dst[(g.h+g.p)*pw:])
		}
	}
	if bigEnough(len(xp)) {
		parallelFor(planes, grainFor(ph*pw), pad)
	} else {
		pad(0, planes)
	}
	return &im2colSource[T]{g: g, xp: xp, trans: trans}
}

// release returns the padded image to the pool.
func (s *im2colSource[T]) release() {
	putPadded(s.xp)
	s.xp = nil
}

// Padded images are reused across calls (one per product in flight).
var paddedPools sync.Map // element type → *sync.Pool of *[]T

func getPadded[T Float](n int) []T {
	var zero T
	p, _ := paddedPools.LoadOrStore(any(zero), &sync.Pool{})
	if b, ok := p.(*sync.Pool).Get().(*[]T); ok && cap(*b) >= n {
		return (*b)[:n]
	}
	return make([]T, n)
}

func putPadded[T Float](b []T) {
	var zero T
	p, _ := paddedPools.Load(any(zero))
	p.(*sync.Pool).Put(&b)
}

// bases appends the offsets in xp of output pixels [first, first+count)
// with kernel offset (0, 0).
func (s *im2colSource[T]) bases(out []int, first, count int) []int {
	g := s.g
	ph, pw := g.h+2*g.p, g.w+2*g.p
	hw := g.ho * g.wo
	nStride := g.c // plane(n, 0) = n·C
	if g.cmajor {
		nStride = 1 // plane(n, 0) = n
	}
	for px := first; px < first+count; px++ {
		n, r := px/hw, px%hw
		out = append(out, n*nStride*ph*pw+r/g.wo*pw+r%g.wo)
	}
	return out
}

// offsets appends the offsets of column-matrix rows [q0, q0+count).
func (s *im2colSource[T]) offsets(out []int, q0, count int) []int {
	g := s.g
	ph, pw := g.h+2*g.p, g.w+2*g.p
	kk := g.kh * g.kw
	cStride := 1 // plane(0, c) = c
	if g.cmajor {
		cStride = g.n // plane(0, c) = c·N
	}
	for q := q0; q < q0+count; q++ {
		c, ki, kj := q/kk, q%kk/g.kw, q%g.kw
		out = append(out, c*cStride*ph*pw+ki*pw+kj)
	}
	return out
}

// packScratch holds one Pack call's bases and offsets, reused across
// calls (Pack runs on several goroutines at once, each with its own).
type packScratch struct{ bases, offs []int }

var packScratchPool = sync.Pool{New: func() any { return new(packScratch) }}

// Pack writes the block [p0, p0+kb) × [j0, j0+nb) of the source in
// gemm's packed order (see gemm.Source), sliver by sliver so that the
// writes stay within one L1-sized sliver.
func (s *im2colSource[T]) Pack(dst []T, p0, j0, kb, nb, nr int) {
	sc := packScratchPool.Get().(*packScratch)
	defer packScratchPool.Put(sc)
	xp := s.xp
	if !s.trans {
		// Rows are (c, ki, kj), columns output pixels.
		sc.offs = s.offsets(sc.offs[:0], p0, kb)
		sc.bases = s.bases(sc.bases[:0], j0, nb)
		for jr := 0; jr < nb; jr += nr {
			d := dst[jr*kb : (jr+nr)*kb]
			bases := sc.bases[jr:min(jr+nr, nb)]
			for p, off := range sc.offs {
				row := d[p*nr : p*nr+nr]
				for j, b := range bases {
					row[j] = xp[b+off]
				}
				clear(row[len(bases):])
			}
		}
		return
	}
	// Transposed: rows are output pixels, columns (c, ki, kj).
	sc.bases = s.bases(sc.bases[:0], p0, kb)
	sc.offs = s.offsets(sc.offs[:0], j0, nb)
	for jr := 0; jr < nb; jr += nr {
		d := dst[jr*kb : (jr+nr)*kb]
		offs := sc.offs[jr:min(jr+nr, nb)]
		for p, b := range sc.bases {
			row := d[p*nr : p*nr+nr]
			for j, off := range offs {
				row[j] = xp[b+off]
			}
			clear(row[len(offs):])
		}
	}
}
