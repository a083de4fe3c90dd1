package models

import (
	"fmt"
	"math/rand/v2"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// Stochastic is a Model with dropout. ForwardTrain builds its output in
// training mode, where each dropout layer multiplies by a mask that masks
// adds to the graph; Forward is evaluation mode, where dropout is the
// identity (inverted dropout scales in training, so nothing needs scaling
// at evaluation). Trainer builds its training graphs with ForwardTrain and
// its evaluation graphs with Forward; the meta-learners call Forward and
// so train without dropout.
type Stochastic interface {
	Model
	// ForwardTrain is Forward in training mode; with masks nil it is
	// Forward.
	ForwardTrain(w graph.Weights, x *G.Node, masks *Masks) *G.Node
}

// Masks holds the dropout masks of one training graph: Dropout adds each
// as an input node, and Draw fills them all before each run. A nil *Masks
// is evaluation mode: Dropout returns its input.
type Masks struct {
	prefix string
	nodes  []*G.Node
	rates  []float64
	pcg    rand.PCG
	rng    *rand.Rand
}

// NewMasks returns an empty set of masks whose nodes are named prefix.1,
// prefix.2, …: names must differ from those of every other input of the
// graph (Gorgonia merges inputs of equal name and shape), e.g.
// "train.32.dropout" for the training graph of batches of 32.
func NewMasks(prefix string) *Masks {
	m := &Masks{prefix: prefix}
	m.rng = rand.New(&m.pcg)
	return m
}

// Dropout returns x with inverted dropout at rate p (graph.Dropout) and a
// new mask of x's shape, or x itself when m is nil or p is 0. It panics
// with a *graph.ShapeError for p outside [0, 1).
func (m *Masks) Dropout(x *G.Node, p float64) *G.Node {
	if m == nil || p == 0 {
		return x
	}
	s := x.Shape()
	mask := G.NewTensor(x.Graph(), x.Dtype(), len(s), G.WithShape(s...), G.WithName(fmt.Sprintf("%s.%d", m.prefix, len(m.nodes)+1)))
	y := graph.Dropout(x, mask, p)
	m.nodes, m.rates = append(m.nodes, mask), append(m.rates, p)
	return y
}

// Len returns the number of masks.
func (m *Masks) Len() int {
	if m == nil {
		return 0
	}
	return len(m.nodes)
}

// Draw fills every mask in run (which must compute through them) for step
// step of a run seeded by seed. The masks are drawn in the order Dropout
// made them from one generator seeded with (seed, step): a step's masks
// depend on nothing else, so a run resumed at step t draws what a run
// never stopped draws there, and no generator state needs saving.
func (m *Masks) Draw(run *graph.Runner, seed uint64, step int64) error {
	if m.Len() == 0 {
		return nil
	}
	m.pcg.Seed(seed, uint64(step))
	for i, n := range m.nodes {
		buf, err := run.Input(n)
		if err != nil {
			return fmt.Errorf("draw dropout mask %s: %w", n.Name(), err)
		}
		graph.FillDropoutMask(buf, m.rates[i], m.rng)
	}
	return nil
}

// checkDropout refuses a dropout rate outside [0, 1).
func checkDropout(p float64) error {
	if !(p >= 0 && p < 1) {
		return fmt.Errorf("dropout rate %g: want 0 ≤ p < 1 (0: no dropout)", p)
	}
	return nil
}
