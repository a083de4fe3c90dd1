package graph

import (
	"gorgonia.org/tensor"
)

// broadcastShape returns the numpy-style broadcast of shapes a and b: shapes
// are aligned at their last axis, and an axis of size 1 stretches to match.
func broadcastShape(a, b tensor.Shape) (tensor.Shape, bool) {
	n := max(len(a), len(b))
	out := make(tensor.Shape, n)
	for i := 0; i < n; i++ {
		da, db := dimFromEnd(a, n-1-i), dimFromEnd(b, n-1-i)
		switch {
		case da == db:
			out[i] = da
		case da == 1:
			out[i] = db
		case db == 1:
			out[i] = da
		default:
			return nil, false
		}
	}
	return out, true
}

// dimFromEnd returns s's axis k places from its last one, treating missing
// leading axes as 1.
func dimFromEnd(s tensor.Shape, k int) int {
	i := len(s) - 1 - k
	if i < 0 {
		return 1
	}
	return s[i]
}

// layout describes how a small tensor broadcasts into a big one. The big
// tensor is viewed as rows of its last axis; rowOff[r] is where row r starts
// in the small tensor and step (0 or 1) how the small index moves along the
// last axis. One layout serves the broadcast, its adjoint (sum back to the
// small shape) and every broadcasting binary op.
type layout struct {
	inner  int   // length of the big tensor's last axis
	step   int   // 1 if the small tensor runs along the last axis, else 0
	rowOff []int // per row of the big tensor, the small tensor's offset
	same   bool  // the shapes are equal: index i maps to i
}

func newLayout(big, small tensor.Shape) *layout {
	if big.Eq(small) || (big.TotalSize() == small.TotalSize() && len(big) == 0) {
		return &layout{same: true}
	}
	n := len(big)
	if n == 0 {
		return &layout{same: true}
	}
	// strides of small aligned to big's axes; 0 on broadcast axes
	sstr := make([]int, n)
	acc := 1
	for k := 0; k < n; k++ { // k counts axes from the end
		i := n - 1 - k
		d := dimFromEnd(small, k)
		if d == 1 {
			sstr[i] = 0
		} else {
			sstr[i] = acc
		}
		acc *= d
	}
	l := &layout{inner: big[n-1], step: sstr[n-1]}
	rows := big.TotalSize() / max(l.inner, 1)
	l.rowOff = make([]int, rows)
	idx := make([]int, n-1)
	for r := 0; r < rows; r++ {
		off := 0
		for i := 0; i < n-1; i++ {
			off += idx[i] * sstr[i]
		}
		l.rowOff[r] = off
		for i := n - 2; i >= 0; i-- { // odometer over the leading axes
			idx[i]++
			if idx[i] < big[i] {
				break
			}
			idx[i] = 0
		}
	}
	return l
}

// expand writes small broadcast to big's shape into out, in parallel
// chunks of rows for big tensors.
func expand[T Float](l *layout, out, small []T) {
	if l.same {
		copy(out, small)
		return
	}
	if !bigEnough(len(out)) {
		expandRows(l, 0, len(l.rowOff), out, small)
		return
	}
	parallelFor(len(l.rowOff), grainFor(l.inner), func(lo, hi int) {
		expandRows(l, lo, hi, out, small)
	})
}

func expandRows[T Float](l *layout, lo, hi int, out, small []T) {
	for r := lo; r < hi; r++ {
		off := l.rowOff[r]
		row := out[r*l.inner : (r+1)*l.inner]
		if l.step == 0 {
			v := small[off]
			for j := range row {
				row[j] = v
			}
		} else {
			copy(row, small[off:off+l.inner])
		}
	}
}

// reduce sums big into small (the adjoint of expand). out is overwritten.
// Big tensors are reduced in parallel, each worker owning a range of
// output elements (and adding their terms in the serial order), so the
// result does not depend on the number of cores.
func reduce[T Float](l *layout, out, big []T) {
	if l.same {
		copy(out, big)
		return
	}
	if !bigEnough(len(big)) || len(out) < 2 {
		reduceRange(l, 0, len(out), out, big)
		return
	}
	parallelFor(len(out), grainFor(len(big)/len(out)), func(lo, hi int) {
		reduceRange(l, lo, hi, out, big)
	})
}

// reduceRange computes the elements lo ≤ i < hi of reduce's output.
func reduceRange[T Float](l *layout, lo, hi int, out, big []T) {
	clear(out[lo:hi])
	for r, off := range l.rowOff {
		row := big[r*l.inner : (r+1)*l.inner]
		if l.step == 0 {
			if off >= lo && off < hi {
				out[off] += sum4(row)
			}
			continue
		}
		a, b := max(off, lo), min(off+l.inner, hi)
		if a >= b {
			continue
		}
		dst, src := out[a:b], row[a-off:]
		for j := range dst {
			dst[j] += src[j]
		}
	}
}

// sum4 adds up s with four interleaved accumulators (a fixed order, so the
// result is reproducible), which hides the latency of the additions.
func sum4[T Float](s []T) T {
	var s0, s1, s2, s3 T
	i := 0
	for ; i+4 <= len(s); i += 4 {
		s0 += s[i]
		s1 += s[i+1]
		s2 += s[i+2]
		s3 += s[i+3]
	}
	for ; i < len(s); i++ {
		s0 += s[i]
	}
	return (s0 + s1) + (s2 + s3)
}
