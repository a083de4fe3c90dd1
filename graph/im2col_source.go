package graph

import "sync"

// im2colSource is the column matrix of an image batch as a gemm.Source:
// cols[(c·kh+ki)·kw+kj, (n·Ho+i)·Wo+j] = x[n, c, i+ki−p, j+kj−p] (zero
// outside the image), or its transpose with trans. The GEMM asks it for
// one block at a time, already in the packed order, so the matrix is
// never stored.
//
// Within a column-matrix row (c, ki, kj), a run of output pixels of one
// output row (n, i) reads one input row, x[n, c, i+ki−p, ·], shifted by
// kj−p: packing is a sequence of short copies, one per run and row, with
// everything that does not change along the run computed once.
type im2colSource[T Float] struct {
	g     convGeom
	x     []T
	trans bool // the source is colsᵀ (N·Ho·Wo × C·kh·kw)
}

// pixelRun is a stretch of output pixels (n, i, j0 … j0+len−1) of one
// output row that lands contiguously (or, transposed, at one stride) in
// the packed block, its first element at dst[at].
type pixelRun struct {
	img     int // offset of image n in x
	i, j0   int
	len, at int
	first   int // the run's first pixel, counted from the block's first
}

// pixelRuns appends to runs the output pixels [first, first+count) split
// into runs that stay within one output row and, when split > 0, within
// one group of split pixels (a sliver of the packed block). A run's at is
// its position in the block: k%split when split > 0 (its place in a sliver
// row), else k·stride (rows of stride elements).
func (s *im2colSource[T]) pixelRuns(runs []pixelRun, first, count, split, stride int) []pixelRun {
	g := s.g
	sN, _ := g.strides()
	hw := g.ho * g.wo
	for k := 0; k < count; {
		px := first + k
		n, r := px/hw, px%hw
		i, j := r/g.wo, r%g.wo
		l := min(g.wo-j, count-k)
		at := k * stride
		if split > 0 {
			l = min(l, split-k%split)
			at = k % split
		}
		runs = append(runs, pixelRun{img: n * sN, i: i, j0: j, len: l, at: at, first: k})
		k += l
	}
	return runs
}

// packScratch holds one Pack call's runs and rows, reused across calls
// (Pack runs on several goroutines at once, so each takes its own).
type packScratch struct {
	runs []pixelRun
	rows []colRow
}

var packScratchPool = sync.Pool{New: func() any { return new(packScratch) }}

// Pack writes the block [p0, p0+kb) × [j0, j0+nb) of the source in
// gemm's packed order (see gemm.Source). It goes sliver by sliver, so
// that the writes stay within one L1-sized sliver, and row by row within
// it, each row being a few runs copied from input rows.
func (s *im2colSource[T]) Pack(dst []T, p0, j0, kb, nb, nr int) {
	if s.trans {
		s.packT(dst, p0, j0, kb, nb, nr)
		return
	}
	sc := packScratchPool.Get().(*packScratch)
	defer packScratchPool.Put(sc)
	rows := s.rows(sc.rows[:0], p0, kb)
	// Column k of the block is element k%nr of sliver k/nr.
	runs := s.pixelRuns(sc.runs[:0], j0, nb, nr, 0)
	sc.rows, sc.runs = rows, runs
	g := s.g
	for jr, first := 0, 0; jr < nb; jr += nr {
		d := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		last := first
		for last < len(runs) && runs[last].first < jr+nr {
			last++
		}
		sliver := runs[first:last]
		first = last
		for p, q := range rows {
			out := d[p*nr : p*nr+nr]
			for _, r := range sliver {
				o := out[r.at : r.at+r.len]
				ii := r.i + q.di
				if ii < 0 || ii >= g.h {
					clear(o)
					continue
				}
				// o[j] = x[row ii, column j0+j+dj], inside for lo ≤ j < hi.
				col := r.j0 + q.dj
				src := s.x[r.img+q.ch+ii*g.w : r.img+q.ch+ii*g.w+g.w]
				lo, hi := max(0, -col), min(len(o), g.w-col)
				if lo == 0 && hi == len(o) {
					copy(o, src[col:col+len(o)])
					continue
				}
				clear(o)
				if hi > lo {
					copy(o[lo:hi], src[col+lo:col+hi])
				}
			}
			clear(out[cols:])
		}
	}
}

// packT is Pack for colsᵀ: rows are output pixels, columns are (c, ki,
// kj).
func (s *im2colSource[T]) packT(dst []T, p0, j0, kb, nb, nr int) {
	sc := packScratchPool.Get().(*packScratch)
	defer packScratchPool.Put(sc)
	// Row k of the block is row k of every sliver, element k·nr.
	runs := s.pixelRuns(sc.runs[:0], p0, kb, 0, nr)
	rows := s.rows(sc.rows[:0], j0, nb)
	sc.rows, sc.runs = rows, runs
	g := s.g
	for jr := 0; jr < nb; jr += nr {
		d := dst[jr*kb : (jr+nr)*kb]
		cols := min(nr, nb-jr)
		for j, q := range rows[jr : jr+cols] {
			dj := d[j:]
			for _, r := range runs {
				ii := r.i + q.di
				col := r.j0 + q.dj
				lo, hi := min(max(0, -col), r.len), max(min(r.len, g.w-col), 0)
				if ii < 0 || ii >= g.h {
					lo, hi = r.len, r.len
				}
				hi = max(hi, lo)
				at := r.at
				for t := 0; t < lo; t++ {
					dj[at+t*nr] = 0
				}
				if hi > lo {
					src := s.x[r.img+q.ch+ii*g.w : r.img+q.ch+ii*g.w+g.w][col+lo : col+hi]
					for t, v := range src {
						dj[at+(lo+t)*nr] = v
					}
				}
				for t := hi; t < r.len; t++ {
					dj[at+t*nr] = 0
				}
			}
		}
		for p := 0; p < kb; p++ {
			clear(d[p*nr+cols : p*nr+nr])
		}
	}
}

// colRow is what one column-matrix row (c, ki, kj) reads: channel c's
// rows, shifted by ki−p down and kj−p across.
type colRow struct {
	ch     int // offset of channel c within an image
	di, dj int // ki−p, kj−p
}

// rows appends to rows the column-matrix rows [q0, q0+count).
func (s *im2colSource[T]) rows(rows []colRow, q0, count int) []colRow {
	g := s.g
	_, sC := g.strides()
	kk := g.kh * g.kw
	for q := q0; q < q0+count; q++ {
		c, ki, kj := q/kk, q%kk/g.kw, q%g.kw
		rows = append(rows, colRow{ch: c * sC, di: ki - g.p, dj: kj - g.p})
	}
	return rows
}
