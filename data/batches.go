package data

import (
	"fmt"
	"math/rand/v2"
)

// Batcher splits the indices 0..n-1 into shuffled mini-batches, one fresh
// permutation per epoch. The order of epoch k depends only on the seed and
// k, so a run can be reproduced, or resumed at any epoch, without replaying
// the earlier ones.
type Batcher struct {
	n, batchSize int
	seed         int64
	epoch        int
}

// NewBatcher returns a Batcher over n examples in batches of batchSize,
// starting at epoch 0. It panics if n < 0 or batchSize < 1, which are
// programming errors.
func NewBatcher(n, batchSize int, seed int64) *Batcher {
	if n < 0 || batchSize < 1 {
		panic(fmt.Sprintf("data: NewBatcher(n=%d, batchSize=%d): want n ≥ 0 and batchSize ≥ 1", n, batchSize))
	}
	return &Batcher{n: n, batchSize: batchSize, seed: seed}
}

// Epoch returns the index batches of the next epoch (the first call gives
// epoch 0) and advances the epoch counter. It is Batches(k) for the k-th
// call.
func (b *Batcher) Epoch() [][]int {
	out := b.Batches(b.epoch)
	b.epoch++
	return out
}

// Batches returns the index batches of the given epoch without changing the
// Batcher's state: a permutation of 0..n-1 drawn from a PCG generator seeded
// with (seed, epoch), cut into batches of batchSize; the last batch holds the
// remainder when batchSize does not divide n. The batches share one backing
// array but have capped capacities, so appending to one cannot overwrite
// another.
func (b *Batcher) Batches(epoch int) [][]int {
	rng := rand.New(rand.NewPCG(uint64(b.seed), uint64(epoch)))
	perm := rng.Perm(b.n)
	out := make([][]int, 0, b.NumBatches())
	for lo := 0; lo < b.n; lo += b.batchSize {
		hi := min(lo+b.batchSize, b.n)
		out = append(out, perm[lo:hi:hi])
	}
	return out
}

// NumBatches returns the number of batches per epoch, counting the last
// partial one.
func (b *Batcher) NumBatches() int { return (b.n + b.batchSize - 1) / b.batchSize }

// NextEpoch returns the number of the epoch the next call of Epoch returns.
func (b *Batcher) NextEpoch() int { return b.epoch }

// SetEpoch makes the next call of Epoch return epoch k, e.g. to resume a run.
func (b *Batcher) SetEpoch(k int) { b.epoch = k }

// FillBatch copies the images idx into x, one row of Rows*Cols values per
// example, and their classes, as float64 (3 → 3.0), into labels. It
// allocates nothing. x needs at least len(idx)*Rows*Cols elements and labels
// at least len(idx); entries beyond are left alone. It panics if a slice is
// too short or an index is out of range, which are programming errors.
func (m *MNIST) FillBatch(idx []int, x []float64, labels []float64) {
	d := m.checkBatch(idx, len(x), len(labels))
	for b, i := range idx {
		row := x[b*d : (b+1)*d]
		for j, p := range m.Images[i*d : (i+1)*d] {
			row[j] = float64(p)
		}
		labels[b] = float64(m.Labels[i])
	}
}

// FillBatch32 is FillBatch for float32 slices.
func (m *MNIST) FillBatch32(idx []int, x []float32, labels []float32) {
	d := m.checkBatch(idx, len(x), len(labels))
	for b, i := range idx {
		copy(x[b*d:(b+1)*d], m.Images[i*d:(i+1)*d])
		labels[b] = float32(m.Labels[i])
	}
}

// checkBatch validates the arguments of FillBatch and returns the image size.
func (m *MNIST) checkBatch(idx []int, lenX, lenLabels int) int {
	d := m.Rows * m.Cols
	if lenX < len(idx)*d || lenLabels < len(idx) {
		panic(fmt.Sprintf("data: FillBatch of %d examples of %d pixels needs len(x) ≥ %d and len(labels) ≥ %d, got %d and %d",
			len(idx), d, len(idx)*d, len(idx), lenX, lenLabels))
	}
	for _, i := range idx {
		if i < 0 || i >= m.N {
			panic(fmt.Sprintf("data: FillBatch index %d out of range [0, %d)", i, m.N))
		}
	}
	return d
}

// OneHot writes the one-hot encoding of labels (class indices held as
// floats, as FillBatch gives them) into out, one row of classes values per
// label: out[i*classes+c] is 1 if labels[i] == c and 0 otherwise. It
// allocates nothing; out needs at least len(labels)*classes elements. It
// panics if out is too short or a label is not an integer in [0, classes),
// which are programming errors.
func OneHot(labels []float64, classes int, out []float64) {
	if classes < 1 || len(out) < len(labels)*classes {
		panic(fmt.Sprintf("data: OneHot of %d labels over %d classes needs len(out) ≥ %d, got %d",
			len(labels), classes, len(labels)*classes, len(out)))
	}
	for i, l := range labels {
		c := int(l)
		if float64(c) != l || c < 0 || c >= classes {
			panic(fmt.Sprintf("data: OneHot label %v at index %d is not a class in 0..%d", l, i, classes-1))
		}
		row := out[i*classes : (i+1)*classes]
		clear(row)
		row[c] = 1
	}
}
