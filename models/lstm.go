package models

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// LSTMCell is one step of a long short-term memory (Hochreiter &
// Schmidhuber 1997) written with graph ops, so it differentiates to any
// order. It follows PyTorch's nn.LSTMCell, layout, gate order and
// initialisation included:
//
//	gates = x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh       (N × 4H)
//	i, f, g, o = σ(gates[0:H]), σ(gates[H:2H]), tanh(gates[2H:3H]), σ(gates[3H:4H])
//	c′ = f ⊙ c + i ⊙ g
//	h′ = o ⊙ tanh(c′)
//
// Its weights are named Prefix.weight_ih (4H × In), Prefix.weight_hh
// (4H × H), Prefix.bias_ih and Prefix.bias_hh (4H), every one drawn from
// U(±1/√H) at Init. A learner or model uses it as a part: Init adds its
// weights to the Params, Step builds one step from any graph.Weights
// holding them (MAML-adapted ones too).
type LSTMCell struct {
	// In and Hidden are the widths of the input x and of the state h, c.
	In, Hidden int
	// Prefix starts the weights' names, e.g. "fce.g.fw" for
	// "fce.g.fw.weight_ih". If empty, the names are PyTorch's own,
	// "weight_ih" and so on.
	Prefix string
}

// Names returns the weights' names: weight_ih, weight_hh, bias_ih,
// bias_hh, after Prefix.
func (c LSTMCell) Names() (weightIH, weightHH, biasIH, biasHH string) {
	p := c.Prefix
	if p != "" {
		p += "."
	}
	return p + "weight_ih", p + "weight_hh", p + "bias_ih", p + "bias_hh"
}

// Init adds the cell's four weights to p, each drawn from U(±1/√Hidden)
// with a seed of its own derived from seed and its name.
func (c LSTMCell) Init(p *graph.Params, seed uint64) error {
	if c.In < 1 || c.Hidden < 1 {
		return fmt.Errorf("lstm cell %q: input width %d and hidden width %d: want at least 1", c.Prefix, c.In, c.Hidden)
	}
	wih, whh, bih, bhh := c.Names()
	h4 := 4 * c.Hidden
	for _, w := range []struct {
		name  string
		shape []int
	}{{wih, []int{h4, c.In}}, {whh, []int{h4, c.Hidden}}, {bih, []int{h4}}, {bhh, []int{h4}}} {
		if _, err := p.Add(w.name, w.shape, TorchDefaultInit(graph.InitSeed(seed, w.name), c.Hidden)); err != nil {
			return fmt.Errorf("lstm cell %q: %w", c.Prefix, err)
		}
	}
	return nil
}

// Step returns the state (h′, c′) after reading x (N × In) in state (h, c)
// (N × Hidden each), with the weights w. A nil h or c is a zero state (the
// first step). It panics with a *graph.ShapeError when the shapes do not
// fit and when w lacks one of the cell's weights (graph.Build recovers).
func (c LSTMCell) Step(w graph.Weights, x, h, cell *G.Node) (hNext, cNext *G.Node) {
	wih, whh, bih, bhh := c.Names()
	weight := func(name string) *G.Node {
		n := w.Get(name)
		if n == nil {
			panic(&graph.ShapeError{Msg: fmt.Sprintf("lstm cell: no weight %q", name)})
		}
		return n
	}
	if s := x.Shape(); len(s) != 2 || s[1] != c.In {
		panic(&graph.ShapeError{Msg: fmt.Sprintf("lstm cell %q: input shape %v, want (N, %d)", c.Prefix, s, c.In)})
	}
	n := x.Shape()[0]
	for _, st := range []*G.Node{h, cell} {
		if s := st; s != nil && (len(s.Shape()) != 2 || s.Shape()[0] != n || s.Shape()[1] != c.Hidden) {
			panic(&graph.ShapeError{Msg: fmt.Sprintf("lstm cell %q: state shape %v, want (%d, %d)", c.Prefix, s.Shape(), n, c.Hidden)})
		}
	}
	gates := graph.Add(graph.MatMulT(x, weight(wih), false, true), weight(bih))
	if h != nil {
		gates = graph.Add(gates, graph.Add(graph.MatMulT(h, weight(whh), false, true), weight(bhh)))
	} else {
		gates = graph.Add(gates, weight(bhh))
	}
	hd := c.Hidden
	in := graph.Sigmoid(graph.Slice(gates, 1, 0, hd))
	forget := graph.Sigmoid(graph.Slice(gates, 1, hd, 2*hd))
	g := graph.Tanh(graph.Slice(gates, 1, 2*hd, 3*hd))
	out := graph.Sigmoid(graph.Slice(gates, 1, 3*hd, 4*hd))
	cNext = graph.Mul(in, g)
	if cell != nil {
		cNext = graph.Add(graph.Mul(forget, cell), cNext)
	}
	return graph.Mul(out, graph.Tanh(cNext)), cNext
}
