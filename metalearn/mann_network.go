package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
)

// MANNNetwork is the network of MANN (Santoro et al., "Meta-Learning with
// Memory-Augmented Neural Networks", ICML 2016): an LSTM controller, an
// external memory with least-recently-used access (lrua) and a linear
// output layer, unrolled over a sequence. At step t, with xₜ the input and
// r the heads' read vectors side by side,
//
//	hₜ, cₜ = LSTM([xₜ, r_{t−1}], h_{t−1}, c_{t−1})   (controller)
//	kₜ = tanh(hₜ W_k + b_k)                          (a key per head)
//	αₜ = hₜ W_α + b_α                                (a write gate per head)
//	rₜ = the memory's read vectors after writing kₜ with gates αₜ (lrua)
//	oₜ = [hₜ, rₜ] W_o + b_o                          (logits: softmax(oₜ) are the class probabilities)
//
// from zero states. The paper does not bound the keys; tanh does, as in
// public reimplementations (Deleu's ntm-one-shot), so that written memory
// stays in [−1, 1] per head.
//
// It is a models.Model whose examples are sequence steps: Forward(w, x)
// reads x of shape (T, B, Pixels + Classes), T steps of B episodes, each
// step an image flattened and the previous step's label one-hot (zeros at
// the first step), and returns the logits of every step, (T·B, Classes),
// step by step: row t·B + b is episode b at step t.
//
// Parameters: controller.weight_ih, controller.weight_hh,
// controller.bias_ih, controller.bias_hh (models.LSTMCell, input
// Pixels + Classes + Heads·Width), key.w (Controller × Heads·Width), key.b,
// gate.w (Controller × Heads), gate.b, out.w ((Controller + Heads·Width) ×
// Classes) and out.b. The linear layers are drawn from U(±1/√fan-in), as
// PyTorch's.
type MANNNetwork struct {
	// Pixels is the size of an image, flattened; Classes the number of
	// labels (ways).
	Pixels, Classes int
	// Controller is the number of LSTM units. If zero, a default of 200
	// is used (the paper's Omniglot controller).
	Controller int
	// Slots and Width shape the memory, Heads is its number of heads. If
	// zero, defaults of 128, 40 and 4 are used (the paper's Omniglot
	// memory: 128 slots of 40, 4 read heads).
	Slots, Width, Heads int
	// Gamma is the usage decay γ. If zero, a default of 0.95 is used.
	Gamma float64
}

// This package registers the network as the model "mann" (models.New),
// which the mann learner names as its model (LearnerEntry.Model); it is
// registered here rather than in models because it is built on MANN's
// memory (lrua).
func init() {
	models.Register("mann", func(s models.Spec) (models.Model, error) {
		n, err := NewMANNNetwork(s)
		if err != nil {
			return nil, err
		}
		return n, nil
	})
}

// NewMANNNetwork returns MANN's network for episodes of the shape s asks
// for: images of s.Input, flattened (if none, 28×28, an Omniglot image of
// this library), and s.Outputs labels (if zero, 5, the paper's); Hidden,
// if set, is one number, the controller's units. It refuses the other
// options (filters, pooling, an initialisation, an embedding), which it
// has no use for.
func NewMANNNetwork(s models.Spec) (*MANNNetwork, error) {
	n := &MANNNetwork{Pixels: 28 * 28, Classes: 5}
	if len(s.Input) > 0 {
		n.Pixels = graph.Size(s.Input)
	}
	if s.Outputs != 0 {
		n.Classes = s.Outputs
	}
	switch {
	case n.Classes < 2:
		return nil, fmt.Errorf("mann network: %d outputs: it labels the examples of classification episodes (want at least 2 ways)", n.Classes)
	case len(s.Hidden) > 1:
		return nil, fmt.Errorf("mann network: hidden widths %v: its controller is one LSTM layer (give one width)", s.Hidden)
	case s.Filters != 0 || s.Pools != 0:
		return nil, fmt.Errorf("mann network: has no convolutions (filters %d, pools %d): it reads images as vectors", s.Filters, s.Pools)
	case s.Init != "":
		return nil, fmt.Errorf("mann network: init %q: it has one initialisation (PyTorch's)", s.Init)
	case s.Embedding:
		return nil, fmt.Errorf("mann network: has no embedding form")
	case s.PerStep.Enabled():
		return nil, fmt.Errorf("mann network: has no batch norm to make per-step")
	case s.Activation != "" || s.BatchNorm:
		return nil, fmt.Errorf("mann network: has an LSTM controller, not an MLP's activation or batch norm")
	}
	if len(s.Hidden) == 1 {
		if s.Hidden[0] < 1 {
			return nil, fmt.Errorf("mann network: controller of %d units: want at least 1", s.Hidden[0])
		}
		n.Controller = s.Hidden[0]
	}
	return n, nil
}

// sizes returns the network with its defaults filled in.
func (n *MANNNetwork) sizes() MANNNetwork {
	s := *n
	if s.Controller == 0 {
		s.Controller = 200
	}
	if s.Slots == 0 {
		s.Slots = 128
	}
	if s.Width == 0 {
		s.Width = 40
	}
	if s.Heads == 0 {
		s.Heads = 4
	}
	if s.Gamma == 0 {
		s.Gamma = 0.95
	}

	return s
}

// controller is the LSTM cell of s (sizes filled in).
func (s MANNNetwork) controller() models.LSTMCell {
	return models.LSTMCell{In: s.Pixels + s.Classes + s.Heads*s.Width, Hidden: s.Controller, Prefix: "controller"}
}

// memory is the LRUA memory of s (sizes filled in).
func (s MANNNetwork) memory() lrua {
	return lrua{Slots: s.Slots, Width: s.Width, Heads: s.Heads, Gamma: s.Gamma}
}

// linear are the network's linear layers: name, fan-in, fan-out.
func (s MANNNetwork) linear() []struct {
	name    string
	in, out int
} {
	return []struct {
		name    string
		in, out int
	}{
		{"key", s.Controller, s.Heads * s.Width},
		{"gate", s.Controller, s.Heads},
		{"out", s.Controller + s.Heads*s.Width, s.Classes},
	}
}

// Name describes the network, e.g.
// "mann-784px-5way-lstm200-mem128x40-4heads".
func (n *MANNNetwork) Name() string {
	s := n.sizes()
	name := fmt.Sprintf("mann-%dpx-%dway-lstm%d-mem%dx%d-%dheads", s.Pixels, s.Classes, s.Controller, s.Slots, s.Width, s.Heads)
	if s.Gamma != 0.95 {
		name += fmt.Sprintf("-gamma%g", s.Gamma)
	}
	return name
}

// Init adds the controller's, the heads' and the output layer's weights
// to p.
func (n *MANNNetwork) Init(p *graph.Params, seed uint64) error {
	s := n.sizes()
	switch {
	case s.Pixels < 1 || s.Classes < 2:
		return fmt.Errorf("init %s: %d pixels and %d classes: want at least 1 and 2", n.Name(), s.Pixels, s.Classes)
	case s.Controller < 1 || s.Slots < s.Heads || s.Width < 1 || s.Heads < 1:
		return fmt.Errorf("init %s: want a controller, a memory of at least as many slots as heads, and at least one head", n.Name())
	case s.Gamma < 0 || s.Gamma > 1:
		return fmt.Errorf("init %s: usage decay γ = %g: want 0 < γ ≤ 1", n.Name(), s.Gamma)
	}
	if err := s.controller().Init(p, seed); err != nil {
		return fmt.Errorf("init %s: %w", n.Name(), err)
	}
	for _, l := range s.linear() {
		for _, w := range []struct {
			name  string
			shape []int
		}{{l.name + ".w", []int{l.in, l.out}}, {l.name + ".b", []int{l.out}}} {
			if _, err := p.Add(w.name, w.shape, models.TorchDefaultInit(graph.InitSeed(seed, w.name), l.in)); err != nil {
				return fmt.Errorf("init %s: %w", n.Name(), err)
			}
		}
	}
	return nil
}

// Forward unrolls the network over the sequences x (T, B, Pixels +
// Classes) and returns the logits of every step, (T·B, Classes), step by
// step. It panics with a *graph.ShapeError when x does not fit or w lacks
// a weight.
func (n *MANNNetwork) Forward(w graph.Weights, x *G.Node) *G.Node {
	s := n.sizes()
	sh := x.Shape()
	if len(sh) != 3 || sh[2] != s.Pixels+s.Classes {
		panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: input of shape %v, want (steps, episodes, %d)", n.Name(), sh, s.Pixels+s.Classes)})
	}
	steps, batch := sh[0], sh[1]
	weight := func(name string) *G.Node {
		v := w.Get(name)
		if v == nil {
			panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: no weight %q", n.Name(), name)})
		}
		return v
	}
	linear := func(x *G.Node, name string) *G.Node {
		return graph.Add(graph.MatMul(x, weight(name+".w")), weight(name+".b"))
	}
	ctrl, mem := s.controller(), s.memory()
	state := mem.initial(x.Graph(), x.Dtype(), batch, fmt.Sprintf("%s.%dx%d", n.Name(), steps, batch))
	reads := s.Heads * s.Width
	var h, c *G.Node
	outs := make([]*G.Node, steps)
	for t := 0; t < steps; t++ {
		xt := graph.Reshape(graph.Slice(x, 0, t, t+1), batch, s.Pixels+s.Classes)
		h, c = ctrl.Step(w, graph.Concat(1, xt, graph.Reshape(state.r, batch, reads)), h, c)
		keys := graph.Reshape(graph.Tanh(linear(h, "key")), batch, s.Heads, s.Width)
		state = mem.step(state, keys, linear(h, "gate"))
		outs[t] = linear(graph.Concat(1, h, graph.Reshape(state.r, batch, reads)), "out")
	}
	return graph.Concat(0, outs...)
}

// InputShape is one step of one episode: an image flattened and a label
// one-hot.
func (n *MANNNetwork) InputShape() []int { return []int{n.Pixels + n.Classes} }

// OutputSize is the number of classes.
func (n *MANNNetwork) OutputSize() int { return n.Classes }
