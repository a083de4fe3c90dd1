package data

import (
	"fmt"
	"math/rand/v2"
)

// EpisodeOptions sets the shape of few-shot episodes: N-way K-shot with Q
// queries per class.
type EpisodeOptions struct {
	// Ways is the number of classes per episode, N ≥ 1.
	Ways int
	// Shots is the number of support (training) drawings per class, K ≥ 1.
	Shots int
	// Queries is the number of query (test) drawings per class, Q ≥ 0.
	Queries int
}

// ImageClass is one class of an image data set, as a Sampler draws from
// it: Len images of one shape (C, H, W). Omniglot's Class is one; a data
// set of colour images (CIFAR, mini-ImageNet) gives classes of 3×32×32 or
// 3×84×84 images, and the sampler needs nothing else.
type ImageClass interface {
	comparable
	// Len is the number of images.
	Len() int
	// Shape is the shape of every image: channels, height, width.
	Shape() [3]int
	// Image writes image j, C·H·W values channel by channel and row by
	// row, into dst.
	Image(j int, dst []float32)
	// Check reports what makes the class unusable (no images, images of
	// different shapes...), nil if nothing.
	Check() error
	String() string
}

// Episode is one N-way K-shot Q-query few-shot classification problem.
// Images are C·H·W float32 values each (Shape), one after the other, and
// are ordered by class: the K support images of label 0, then those of
// label 1, and so on; likewise the Q query images of each label.
type Episode[C ImageClass] struct {
	Ways, Shots, Queries int
	// Shape is the shape of every image (C, H, W); Size is its side when
	// it is a square grey image (Omniglot), 0 otherwise.
	Shape [3]int
	Size  int
	// SupportX holds the Ways*Shots support images; SupportY their labels,
	// 0..Ways−1 (SupportY[k] = k / Shots).
	SupportX []float32
	SupportY []float64
	// QueryX holds the Ways*Queries query images; QueryY their labels
	// (QueryY[k] = k / Queries).
	QueryX []float32
	QueryY []float64
	// Classes[l] is the class label l stands for.
	Classes []C
	// SupportDrawings and QueryDrawings hold, for each support and query
	// image, the index of its drawing in Classes[label].Char.Images. The
	// support and query drawings of a label are distinct.
	SupportDrawings []int
	QueryDrawings   []int

	perm []int32 // scratch for drawing classes
	pick []int32 // scratch for drawing drawings
}

// Sampler draws few-shot episodes from a fixed list of classes. Episode i
// depends only on the classes, the options, the seed and i, so episodes can
// be drawn in any order, skipped, repeated and split among workers. A
// Sampler never changes after NewSampler, so its methods may be called
// from several goroutines at once (with a separate *Episode each for Fill).
type Sampler[C ImageClass] struct {
	classes []C
	o       EpisodeOptions
	seed    uint64
	shape   [3]int
}

// NewSampler returns a sampler of o-shaped episodes from classes (which it
// copies) with the given seed. Each error is one line: Ways, Shots or
// Queries out of range, more ways than classes ("cannot sample 2000-way
// episodes from 1856 classes"), more shots plus queries than the classes
// have drawings ("a class has 20 drawings: 15 shots + 10 queries is too
// many"), an invalid class (what its Check reports: for Omniglot no
// character or drawings, a rotation other than 0, 90, 180, 270, drawings
// that are not square or differ in size), or classes whose images differ
// in shape.
func NewSampler[C ImageClass](classes []C, o EpisodeOptions, seed uint64) (*Sampler[C], error) {
	switch {
	case o.Ways < 1:
		return nil, fmt.Errorf("episode sampler: ways must be at least 1, got %d", o.Ways)
	case o.Shots < 1:
		return nil, fmt.Errorf("episode sampler: shots must be at least 1, got %d", o.Shots)
	case o.Queries < 0:
		return nil, fmt.Errorf("episode sampler: queries must be at least 0, got %d", o.Queries)
	case len(classes) == 0:
		return nil, fmt.Errorf("episode sampler: no classes to sample from")
	}
	var shape [3]int
	minIdx, minN := -1, 0
	for i, c := range classes {
		if err := c.Check(); err != nil {
			return nil, fmt.Errorf("episode sampler: class %d (%s): %w", i, c, err)
		}
		if i == 0 {
			shape = c.Shape()
		} else if s := c.Shape(); s != shape {
			return nil, fmt.Errorf("episode sampler: class %d (%s): images are %s, others are %s", i, c, shapeString(s), shapeString(shape))
		}
		if n := c.Len(); minIdx < 0 || n < minN {
			minIdx, minN = i, n
		}
	}
	if o.Ways > len(classes) {
		return nil, fmt.Errorf("episode sampler: cannot sample %d-way episodes from %d classes", o.Ways, len(classes))
	}
	if o.Shots+o.Queries > minN {
		who := "a class has"
		for _, c := range classes {
			if c.Len() != minN {
				who = fmt.Sprintf("class %d (%s) has only", minIdx, classes[minIdx])
				break
			}
		}
		return nil, fmt.Errorf("episode sampler: %s %d drawings: %d shots + %d queries is too many",
			who, minN, o.Shots, o.Queries)
	}
	return &Sampler[C]{classes: append([]C(nil), classes...), o: o, seed: seed, shape: shape}, nil
}

// shapeString writes an image shape as H×W for grey images, C×H×W else.
func shapeString(s [3]int) string {
	if s[0] == 1 {
		return fmt.Sprintf("%d×%d", s[1], s[2])
	}
	return fmt.Sprintf("%d×%d×%d", s[0], s[1], s[2])
}

// Options returns the shape of the sampler's episodes.
func (s *Sampler[C]) Options() EpisodeOptions { return s.o }

// NumClasses returns the number of classes episodes are drawn from.
func (s *Sampler[C]) NumClasses() int { return len(s.classes) }

// Shape returns the shape of the images, (C, H, W).
func (s *Sampler[C]) Shape() [3]int { return s.shape }

// Size returns the side of the images when they are square and grey
// (Omniglot), 0 otherwise.
func (s *Sampler[C]) Size() int {
	if s.shape[0] == 1 && s.shape[1] == s.shape[2] {
		return s.shape[1]
	}
	return 0
}

// Seed returns the sampler's seed.
func (s *Sampler[C]) Seed() uint64 { return s.seed }

// Episode returns episode i of the sampler's stream; see Fill.
func (s *Sampler[C]) Episode(i uint64) Episode[C] {
	var e Episode[C]
	s.Fill(i, &e)
	return e
}

// Fill writes episode i of the sampler's stream into e, reusing e's slices
// when they are large enough, so that refilling an Episode allocates
// nothing. The episode is drawn by a PCG generator seeded with (seed, i):
// first a partial Fisher–Yates shuffle of the class indices picks Ways
// distinct classes, the k-th drawn becoming label k (so labels are assigned
// in random order); then, label by label, a partial Fisher–Yates shuffle
// of the class's drawings picks Shots+Queries distinct drawings, the first
// Shots for support and the rest for queries. Each draw from [0, n) uses
// Lemire's method on the generator's 64-bit outputs, fixed here so that
// episodes do not depend on the Go version.
func (s *Sampler[C]) Fill(i uint64, e *Episode[C]) {
	n, k, q := s.o.Ways, s.o.Shots, s.o.Queries
	d := s.shape[0] * s.shape[1] * s.shape[2]
	e.Ways, e.Shots, e.Queries, e.Shape, e.Size = n, k, q, s.shape, s.Size()
	e.SupportX = reuseSlice(e.SupportX, n*k*d)
	e.SupportY = reuseSlice(e.SupportY, n*k)
	e.QueryX = reuseSlice(e.QueryX, n*q*d)
	e.QueryY = reuseSlice(e.QueryY, n*q)
	e.Classes = reuseSlice(e.Classes, n)
	e.SupportDrawings = reuseSlice(e.SupportDrawings, n*k)
	e.QueryDrawings = reuseSlice(e.QueryDrawings, n*q)
	e.perm = reuseSlice(e.perm, len(s.classes))

	var pcg rand.PCG
	pcg.Seed(s.seed, i)

	for c := range e.perm {
		e.perm[c] = int32(c)
	}
	for l := range n {
		j := l + int(boundedPCG(&pcg, uint64(len(e.perm)-l)))
		e.perm[l], e.perm[j] = e.perm[j], e.perm[l]
		e.Classes[l] = s.classes[e.perm[l]]
	}

	for l, c := range e.Classes {
		m := c.Len()
		e.pick = reuseSlice(e.pick, m)
		for t := range e.pick {
			e.pick[t] = int32(t)
		}
		for t := range k + q {
			j := t + int(boundedPCG(&pcg, uint64(m-t)))
			e.pick[t], e.pick[j] = e.pick[j], e.pick[t]
		}
		for t := range k {
			at := l*k + t
			e.SupportDrawings[at] = int(e.pick[t])
			e.SupportY[at] = float64(l)
			c.Image(int(e.pick[t]), e.SupportX[at*d:(at+1)*d])
		}
		for t := range q {
			at := l*q + t
			e.QueryDrawings[at] = int(e.pick[k+t])
			e.QueryY[at] = float64(l)
			c.Image(int(e.pick[k+t]), e.QueryX[at*d:(at+1)*d])
		}
	}
}

// reuseSlice returns s with length n, reusing its storage if it is large
// enough. The contents are not preserved.
func reuseSlice[T any](s []T, n int) []T {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]T, n)
}

// Task64 returns the episode as the float64 slices metalearn.Task holds:
//
//	sx, sy, qx, qy := e.Task64()
//	task := metalearn.Task{SupportX: sx, SupportY: sy, QueryX: qx, QueryY: qy}
//
// The slices are new; Task64Into reuses storage instead.
func (e *Episode[C]) Task64() (supportX, supportY, queryX, queryY []float64) {
	return e.Task64Into(nil, nil, nil, nil)
}

// Task64Into is Task64 writing into the given slices, each reused if its
// capacity suffices (else replaced by a new one), so that converting
// episode after episode allocates nothing.
func (e *Episode[C]) Task64Into(supportX, supportY, queryX, queryY []float64) ([]float64, []float64, []float64, []float64) {
	supportX = reuseSlice(supportX, len(e.SupportX))
	for i, v := range e.SupportX {
		supportX[i] = float64(v)
	}
	queryX = reuseSlice(queryX, len(e.QueryX))
	for i, v := range e.QueryX {
		queryX[i] = float64(v)
	}
	supportY = append(supportY[:0], e.SupportY...)
	queryY = append(queryY[:0], e.QueryY...)
	return supportX, supportY, queryX, queryY
}
