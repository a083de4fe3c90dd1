package data

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// ClassBatches draws mini-batches of images labelled with their class from
// a fixed list of classes: plain supervised training on every class of a
// split at once, as transfer learning pre-trains (Chen et al., "A Closer
// Look at Few-shot Classification", ICLR 2019), rather than episodes.
//
// The images of all the classes form one stream, epoch after epoch, each
// epoch a shuffle of every image of every class drawn from (seed, epoch)
// alone; batch i of n images holds images i·n … i·n+n−1 of the stream (a
// batch may straddle two epochs). So batches can be drawn in any order,
// skipped and repeated, and a resumed run sees the batches an
// uninterrupted one would. A ClassBatches never changes after
// NewClassBatches: its methods may be called from several goroutines at
// once.
type ClassBatches[C ImageClass] struct {
	classes []C
	// starts[c] is the stream index of class c's first image when the
	// images are listed class by class; starts[len(classes)] is the
	// number of images.
	starts []int
	seed   uint64
	shape  [3]int
}

// NewClassBatches returns the batches of classes (which it copies) with
// the given seed. Its errors are one line: no classes, an invalid class
// (what its Check reports) or classes whose images differ in shape.
func NewClassBatches[C ImageClass](classes []C, seed uint64) (*ClassBatches[C], error) {
	if len(classes) == 0 {
		return nil, fmt.Errorf("class batches: no classes to draw from")
	}
	b := &ClassBatches[C]{classes: append([]C(nil), classes...), starts: make([]int, len(classes)+1), seed: seed}
	for i, c := range classes {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("class batches: class %d (%s): %w", i, c, err)
		}
		if i == 0 {
			b.shape = c.Shape()
		} else if s := c.Shape(); s != b.shape {
			return nil, fmt.Errorf("class batches: class %d (%s): images are %s, others are %s", i, c, shapeString(s), shapeString(b.shape))
		}
		b.starts[i+1] = b.starts[i] + c.Len()
	}
	return b, nil
}

// NumClasses returns the number of classes: labels are 0 … NumClasses()−1,
// in the order of the classes given to NewClassBatches.
func (b *ClassBatches[C]) NumClasses() int { return len(b.classes) }

// Len returns the number of images of all the classes: the length of an
// epoch.
func (b *ClassBatches[C]) Len() int { return b.starts[len(b.classes)] }

// Shape returns the shape of the images, (C, H, W).
func (b *ClassBatches[C]) Shape() [3]int { return b.shape }

// Batch returns batch i of n images (n ≥ 1): their C·H·W values each, one
// image after the other, and their classes as float64 (the labels of
// metalearn.Task).
func (b *ClassBatches[C]) Batch(i uint64, n int) (x []float32, labels []float64) {
	d := b.shape[0] * b.shape[1] * b.shape[2]
	x, labels = make([]float32, n*d), make([]float64, n)
	total := uint64(b.Len())
	var order []int32
	epoch := ^uint64(0)
	for k := range n {
		at := i*uint64(n) + uint64(k)
		if e := at / total; e != epoch {
			epoch, order = e, b.epochOrder(e, order)
		}
		img := int(order[at%total])
		c := sort.SearchInts(b.starts, img+1) - 1 // the class whose images hold img
		labels[k] = float64(c)
		b.classes[c].Image(img-b.starts[c], x[k*d:(k+1)*d])
	}
	return x, labels
}

// epochOrder returns the order of the images in epoch e, into buf if it is
// large enough: a Fisher–Yates shuffle of 0 … Len()−1 by a PCG generator
// seeded with (seed, e), each draw by Lemire's method as Sampler.Fill's, so
// that the order does not depend on the Go version.
func (b *ClassBatches[C]) epochOrder(e uint64, buf []int32) []int32 {
	order := reuseSlice(buf, b.Len())
	for j := range order {
		order[j] = int32(j)
	}
	var pcg rand.PCG
	pcg.Seed(b.seed, e)
	for j := len(order) - 1; j > 0; j-- {
		r := int(boundedPCG(&pcg, uint64(j+1)))
		order[j], order[r] = order[r], order[j]
	}
	return order
}
