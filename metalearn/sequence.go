package metalearn

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
)

// Sequencer is a Learner that reads a classification task's support set
// as a sequence, one example per step, and labels each example before it
// is told the example's label (MANN, Santoro et al. 2016). Order is the
// presentation order: Adapt's Outputs[0] holds the scores of each step
// (steps × ways, in that order), and step i shows support example
// Order(t)[i].
type Sequencer interface {
	Learner
	Order(t Task) []int
}

// presentationOrder returns the order in which a sequence learner shows a
// task's support examples: a permutation drawn by a PCG generator seeded
// with an FNV-1a hash of the task's support labels and images. A task is
// thus always shown in the same order, wherever and whenever it is run (a
// resumed run, any number of workers), while episodes, whose images
// differ, are shown in orders that differ as if drawn at random. Support
// sets come ordered by class (data.Episode); without the shuffle the
// labels would be predictable from the position alone.
func presentationOrder(t Task) []int {
	h := fnv.New64a()
	var b [8]byte
	for _, xs := range [][]float64{t.SupportY, t.SupportX} {
		for _, x := range xs {
			binary.LittleEndian.PutUint64(b[:], math.Float64bits(x))
			h.Write(b[:])
		}
	}
	var pcg rand.PCG
	pcg.Seed(h.Sum64(), 0x9e3779b97f4a7c15)
	order := make([]int, len(t.SupportY))
	for i := range order {
		order[i] = i
	}
	// Fisher–Yates, each draw from [0, n−i) the generator's output modulo
	// n−i (a bias below 2⁻⁵⁰ for any support set), written out so that
	// the order does not depend on the Go version's rand.Shuffle
	for i := 0; i < len(order)-1; i++ {
		j := i + int(pcg.Uint64()%uint64(len(order)-i))
		order[i], order[j] = order[j], order[i]
	}
	return order
}

// instances returns, for each step of a sequence of labels, which
// presentation of its class the step is: 1 the first time a label
// appears, 2 the second, and so on.
func instances(labels []int) []int {
	seen := map[int]int{}
	inst := make([]int, len(labels))
	for i, y := range labels {
		seen[y]++
		inst[i] = seen[y]
	}
	return inst
}

// Ordinal writes n as an English ordinal: 1st, 2nd, 3rd, 4th, 11th, 21st
// (MANN's measures and plots name presentations of a class so).
func Ordinal(n int) string {
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
