package models

import (
	"fmt"
	"strings"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// CNP is the network of a Conditional Neural Process (Garnelo et al.,
// "Conditional Neural Processes", ICML 2018, §2.4), in the form of
// DeepMind's reference notebook (github.com/deepmind/neural-processes,
// conditional_neural_process.ipynb):
//
//	rᵢ = h(xᵢ, yᵢ)           encoder: an MLP on each context pair
//	r  = (1/n) Σᵢ rᵢ         aggregator: the mean, invariant to order
//	(μ, s) = g(r, x*)        decoder: an MLP on each target input
//
// with ReLU between layers and linear last layers. The decoder's outputs
// are the predictive mean μ and a raw scale s, which the learner bounds
// into a standard deviation (metalearn.CNP: σ = 0.1 + 0.9·softplus(s)).
//
// Encode and Decode build the two halves for several tasks at once.
// Forward, which Model asks for, is the decoder g alone on rows (r, x*).
// Parameters: the encoder's enc.w1, enc.b1, … and the decoder's dec.w1,
// dec.b1, … (see MLP).
type CNP struct {
	// XSize and YSize are the widths of an input x and a target y. If
	// zero, a default of 1 is used for each.
	XSize, YSize int
	// Encoder lists the output sizes of the encoder's layers, the last
	// being the size of the representation r. If nil, a default of
	// [128, 128, 128, 128] (the notebook's) is used.
	Encoder []int
	// Decoder lists the sizes of the decoder's hidden layers; an output
	// layer of 2·YSize (μ and s) follows them. If nil, a default of
	// [128, 128] (the notebook's [128, 128, 2] for YSize 1) is used.
	Decoder []int
	// WeightInit and BiasInit choose each layer's initializers as in MLP.
	// If nil, weights are Glorot-uniform and biases zero, the defaults of
	// the notebook's tf.layers.dense.
	WeightInit, BiasInit func(seed uint64, fanIn int) graph.Initializer
	// InitName names a non-default initialisation in Name, e.g. "torch".
	InitName string
}

// The parameter-name prefixes of CNP's encoder and decoder.
const (
	CNPEncoderPrefix = "enc."
	CNPDecoderPrefix = "dec."
)

func (m *CNP) sizes() (x, y int, enc, dec []int) {
	x, y, enc, dec = m.XSize, m.YSize, m.Encoder, m.Decoder
	if x == 0 {
		x = 1
	}
	if y == 0 {
		y = 1
	}
	if enc == nil {
		enc = []int{128, 128, 128, 128}
	}
	if dec == nil {
		dec = []int{128, 128}
	}
	return x, y, enc, dec
}

// Representation returns the size of r, the encoder's last width.
func (m *CNP) Representation() int {
	_, _, enc, _ := m.sizes()
	return enc[len(enc)-1]
}

// EncoderMLP returns the encoder h: (x, y) ↦ rᵢ, ReLU after every layer
// but the last.
func (m *CNP) EncoderMLP() *MLP {
	x, y, enc, _ := m.sizes()
	return m.mlp(append([]int{x + y}, enc...), CNPEncoderPrefix)
}

// DecoderMLP returns the decoder g: (r, x*) ↦ (μ, s), ReLU after every
// layer but the last.
func (m *CNP) DecoderMLP() *MLP {
	x, y, _, dec := m.sizes()
	sizes := append(append([]int{m.Representation() + x}, dec...), 2*y)
	return m.mlp(sizes, CNPDecoderPrefix)
}

func (m *CNP) mlp(sizes []int, prefix string) *MLP {
	w := m.WeightInit
	if w == nil {
		w = func(seed uint64, _ int) graph.Initializer { return graph.GlorotUniform{Seed: seed} }
	}
	return &MLP{Sizes: sizes, Hidden: ReLUActivation, WeightInit: w, BiasInit: m.BiasInit, Prefix: prefix}
}

// Name describes the network, e.g. "cnp-enc-2-128-128-128-128-dec-129-128-128-2".
func (m *CNP) Name() string {
	join := func(s []int) string {
		parts := make([]string, len(s))
		for i, n := range s {
			parts[i] = fmt.Sprint(n)
		}
		return strings.Join(parts, "-")
	}
	name := "cnp-enc-" + join(m.EncoderMLP().Sizes) + "-dec-" + join(m.DecoderMLP().Sizes)
	if m.InitName != "" {
		name += "-" + m.InitName + "init"
	}
	return name
}

// Init adds the encoder's and the decoder's weights to p.
func (m *CNP) Init(p *graph.Params, seed uint64) error {
	x, y, enc, dec := m.sizes()
	for _, n := range append(append([]int{x, y}, enc...), dec...) {
		if n < 1 {
			return fmt.Errorf("init %s: every width must be at least 1 (x %d, y %d, encoder %v, decoder %v)", m.Name(), x, y, enc, dec)
		}
	}
	if len(enc) == 0 {
		return fmt.Errorf("init %s: the encoder needs at least one layer", m.Name())
	}
	if err := m.EncoderMLP().Init(p, seed); err != nil {
		return fmt.Errorf("init %s: encoder: %w", m.Name(), err)
	}
	if err := m.DecoderMLP().Init(p, seed); err != nil {
		return fmt.Errorf("init %s: decoder: %w", m.Name(), err)
	}
	return nil
}

// Encode returns the representations r of tasks tasks (tasks × R), each
// the mean of h over its n context pairs: cx (tasks·n, XSize) and cy
// (tasks·n, YSize) hold the tasks' context points one task after another.
func (m *CNP) Encode(w graph.Weights, cx, cy *G.Node, tasks int) *G.Node {
	rows := cx.Shape()[0]
	if tasks < 1 || rows%tasks != 0 || cy.Shape()[0] != rows {
		panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: %d context inputs and %d targets for %d tasks", m.Name(), rows, cy.Shape()[0], tasks)})
	}
	ri := m.EncoderMLP().Forward(w, graph.Concat(1, cx, cy))                       // rᵢ = h(xᵢ, yᵢ)
	return graph.Mean(graph.Reshape(ri, tasks, rows/tasks, m.Representation()), 1) // r = mean of rᵢ per task
}

// Decode returns the decoder's outputs at the target inputs tx (tasks·t,
// XSize, one task after another) given the tasks' representations r
// (tasks × R): the predictive means μ and the raw scales s, each
// (tasks·t, YSize).
func (m *CNP) Decode(w graph.Weights, r, tx *G.Node) (mean, raw *G.Node) {
	tasks, size := r.Shape()[0], r.Shape()[1]
	rows := tx.Shape()[0]
	if rows%tasks != 0 {
		panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: %d target inputs for %d tasks", m.Name(), rows, tasks)})
	}
	// every target of a task sees the task's r
	perTarget := graph.BroadcastTo(graph.Reshape(r, tasks, 1, size), tensor.Shape{tasks, rows / tasks, size})
	out := m.Forward(w, graph.Concat(1, graph.Reshape(perTarget, rows, size), tx))
	_, y, _, _ := m.sizes()
	return graph.Slice(out, 1, 0, y), graph.Slice(out, 1, y, 2*y)
}

// Forward is the decoder g on rows (r, x*) of shape (N, R + XSize): its
// outputs (N, 2·YSize) are the means μ and then the raw scales s.
func (m *CNP) Forward(w graph.Weights, x *G.Node) *G.Node {
	return m.DecoderMLP().Forward(w, x)
}

// InputShape is the decoder's input, [R + XSize].
func (m *CNP) InputShape() []int {
	x, _, _, _ := m.sizes()
	return []int{m.Representation() + x}
}

// OutputSize is the decoder's output width, 2·YSize.
func (m *CNP) OutputSize() int {
	_, y, _, _ := m.sizes()
	return 2 * y
}

// cnpFromSpec shapes a CNP for a task source's Spec: Input gives XSize
// (flattened), Outputs YSize; Hidden, if set, gives the encoder's widths
// and the decoder two hidden layers of the representation's width (the
// notebook's pattern, [128, 128, 128, 128] and [128, 128]); Init "torch"
// draws every layer as PyTorch's nn.Linear.
func cnpFromSpec(s Spec) (Model, error) {
	m := &CNP{}
	switch {
	case s.Embedding:
		return nil, fmt.Errorf("a CNP has no embedding form")
	case s.Filters > 0:
		return nil, fmt.Errorf("has no filters to set (it has hidden sizes)")
	case s.Pools != 0:
		return nil, fmt.Errorf("has no pooling to set (it is not convolutional)")
	case s.PerStep.Enabled():
		return nil, fmt.Errorf("has no batch norm to make per-step")
	case s.Activation != "" || s.BatchNorm:
		return nil, fmt.Errorf("has ReLU and no batch norm, as the paper's CNP; the activation and batch norm options are a plain MLP's")
	}
	if len(s.Input) > 0 {
		m.XSize = graph.Size(s.Input)
	}
	m.YSize = s.Outputs
	if len(s.Hidden) > 0 {
		last := s.Hidden[len(s.Hidden)-1]
		m.Encoder, m.Decoder = append([]int(nil), s.Hidden...), []int{last, last}
	}
	switch s.Init {
	case "":
	case "torch":
		m.WeightInit, m.BiasInit, m.InitName = TorchDefaultInit, TorchDefaultInit, "torch"
	default:
		return nil, fmt.Errorf("init %q: want torch or the default", s.Init)
	}
	return m, nil
}

func init() { Register("cnp", cnpFromSpec) }
