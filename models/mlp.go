package models

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// Activation is an elementwise nonlinearity.
type Activation string

// The activations an MLP can use.
const (
	ReLUActivation    Activation = "relu"
	SigmoidActivation Activation = "sigmoid"
	TanhActivation    Activation = "tanh"
	NoActivation      Activation = ""
)

// Apply returns act(x).
func (a Activation) Apply(x *G.Node) *G.Node {
	switch a {
	case ReLUActivation:
		return graph.ReLU(x)
	case SigmoidActivation:
		return graph.Sigmoid(x)
	case TanhActivation:
		return graph.Tanh(x)
	case NoActivation:
		return x
	}
	panic(&graph.ShapeError{Msg: fmt.Sprintf("unknown activation %q", string(a))})
}

// MLP is a fully connected network: layer i computes act(x·Wᵢ + bᵢ) with Wᵢ
// of shape (Sizes[i], Sizes[i+1]). Parameters are named w1, b1, w2, b2, ...
// after Prefix.
type MLP struct {
	// Sizes lists the layer widths, input first.
	Sizes []int
	// Hidden is the activation after every layer but the last.
	Hidden Activation
	// Output is the activation after the last layer. If empty, the last
	// layer is linear (logits or regression outputs).
	Output Activation
	// BatchNorm puts batch normalisation (graph.BatchNorm: per feature,
	// over the batch) between every hidden layer's linear map and its
	// activation, with a learnt scale bn<i>.scale (from 1) and shift
	// bn<i>.shift (from 0) after Prefix. The hidden layers then have no
	// bias: the shift takes its place (a bias before batch norm is
	// subtracted again with the mean, and its gradient is zero). It
	// normalises with the batch's own statistics in training and evaluation
	// alike, as Conv4 does: evaluate in batches of many examples (a batch
	// of one normalises every feature to its shift). Name ends in "-bn".
	BatchNorm bool
	// Dropout is the rate of inverted dropout after every hidden
	// activation in training (ForwardTrain; see Stochastic); 0: none.
	// Forward, evaluation mode, never drops. It leaves the parameters and
	// Name alone: a checkpoint serves the network with or without it.
	Dropout float64
	// WeightInit and BiasInit choose the initializer of each layer's weight
	// (shape (in, out)) and bias from a seed and the layer's input width.
	// If nil, weights are Glorot-uniform for sigmoid/tanh networks and
	// He-uniform for ReLU ones, and biases are zero.
	WeightInit, BiasInit func(seed uint64, fanIn int) graph.Initializer
	// ModelName overrides Name. If empty, the name is "mlp-" and the sizes.
	ModelName string
	// Prefix starts every parameter's name, e.g. "enc." for enc.w1, so
	// that several MLPs can share one graph.Params (the encoder and
	// decoder of a CNP). If empty, the names are w1, b1, ...
	Prefix string
}

// LayerNames returns the names of layer i's weight and bias (i from 1):
// Prefix + "w<i>" and Prefix + "b<i>". With BatchNorm the hidden layers
// have no bias (see HasBias).
func (m *MLP) LayerNames(i int) (weight, bias string) {
	return fmt.Sprintf("%sw%d", m.Prefix, i), fmt.Sprintf("%sb%d", m.Prefix, i)
}

// HasBias reports whether layer i (from 1) has a bias: every layer but the
// hidden ones of a network with BatchNorm, whose shift replaces it.
func (m *MLP) HasBias(i int) bool { return !m.BatchNorm || i == len(m.Sizes)-1 }

// NormNames returns the names of hidden layer i's batch-norm scale and
// shift (i from 1): Prefix + "bn<i>.scale" and Prefix + "bn<i>.shift".
func (m *MLP) NormNames(i int) (scale, shift string) {
	return fmt.Sprintf("%sbn%d.scale", m.Prefix, i), fmt.Sprintf("%sbn%d.shift", m.Prefix, i)
}

// SeedNetwork is the classic 784-30-10 sigmoid network (Nielsen, "Neural
// Networks and Deep Learning", ch. 1): sigmoid hidden and output layers and
// weights and biases drawn from N(0, 1). Train it with the quadratic cost.
func SeedNetwork() *MLP {
	normal := func(seed uint64, _ int) graph.Initializer { return graph.Normal{Std: 1, Seed: seed} }
	return &MLP{Sizes: []int{784, 30, 10}, Hidden: SigmoidActivation, Output: SigmoidActivation,
		WeightInit: normal, BiasInit: normal, ModelName: "seed-784-30-10"}
}

// SinusoidMLP is the regression network of Finn et al. (2017, §5.1):
// 1-40-40-1 with ReLU, weights drawn from a normal truncated at two
// standard deviations of 0.01, zero biases (the authors' initialisation).
func SinusoidMLP() *MLP {
	return &MLP{Sizes: []int{1, 40, 40, 1}, Hidden: ReLUActivation, ModelName: "sinusoid-mlp-1-40-40-1",
		WeightInit: func(seed uint64, _ int) graph.Initializer { return graph.TruncatedNormal{Std: 0.01, Seed: seed} }}
}

// TorchDefaultInit draws weights and biases from U(−1/√fanIn, 1/√fanIn),
// PyTorch's default for nn.Linear. Reptile's sinusoid setting (Nichol et
// al. 2018) starts from it; from Finn's tiny initialisation a few plain SGD
// steps barely move the network.
func TorchDefaultInit(seed uint64, fanIn int) graph.Initializer {
	b := 1 / math.Sqrt(float64(fanIn))
	return graph.Uniform{Low: -b, High: b, Seed: seed}
}

// Name returns ModelName or "mlp-" followed by the sizes, the hidden
// activation and "-bn" with BatchNorm.
func (m *MLP) Name() string {
	if m.ModelName != "" {
		return m.ModelName
	}
	s := "mlp"
	for _, n := range m.Sizes {
		s += fmt.Sprintf("-%d", n)
	}
	s += "-" + string(m.Hidden)
	if m.BatchNorm {
		s += "-bn"
	}
	return s
}

// Init adds w1, b1, ... to p, layer by layer; with BatchNorm a hidden
// layer i has w<i>, bn<i>.scale and bn<i>.shift.
func (m *MLP) Init(p *graph.Params, seed uint64) error {
	if len(m.Sizes) < 2 {
		return fmt.Errorf("init %s: need at least two sizes, got %v", m.Name(), m.Sizes)
	}
	if err := checkDropout(m.Dropout); err != nil {
		return fmt.Errorf("init %s: %w", m.Name(), err)
	}
	for i := 0; i+1 < len(m.Sizes); i++ {
		wn, bn := m.LayerNames(i + 1)
		if _, err := p.Add(wn, []int{m.Sizes[i], m.Sizes[i+1]}, m.weightInit(graph.InitSeed(seed, wn), m.Sizes[i])); err != nil {
			return fmt.Errorf("init %s: %w", m.Name(), err)
		}
		if !m.HasBias(i + 1) {
			scale, shift := m.NormNames(i + 1)
			if _, err := p.Add(scale, []int{m.Sizes[i+1]}, graph.Constant{Value: 1}); err != nil {
				return fmt.Errorf("init %s: %w", m.Name(), err)
			}
			if _, err := p.Add(shift, []int{m.Sizes[i+1]}, graph.Zeros{}); err != nil {
				return fmt.Errorf("init %s: %w", m.Name(), err)
			}
			continue
		}
		if _, err := p.Add(bn, []int{m.Sizes[i+1]}, m.biasInit(graph.InitSeed(seed, bn), m.Sizes[i])); err != nil {
			return fmt.Errorf("init %s: %w", m.Name(), err)
		}
	}
	return nil
}

func (m *MLP) weightInit(seed uint64, fanIn int) graph.Initializer {
	switch {
	case m.WeightInit != nil:
		return m.WeightInit(seed, fanIn)
	case m.Hidden == ReLUActivation:
		return graph.HeUniform{Seed: seed}
	default:
		return graph.GlorotUniform{Seed: seed}
	}
}

func (m *MLP) biasInit(seed uint64, fanIn int) graph.Initializer {
	if m.BiasInit != nil {
		return m.BiasInit(seed, fanIn)
	}
	return graph.Zeros{}
}

// Forward returns the network's output for x of shape (N, Sizes[0]), in
// evaluation mode (no dropout).
func (m *MLP) Forward(w graph.Weights, x *G.Node) *G.Node { return m.ForwardTrain(w, x, nil) }

// ForwardTrain is Forward in training mode: dropout at rate Dropout after
// every hidden activation, with its masks in masks (nil: Forward).
func (m *MLP) ForwardTrain(w graph.Weights, x *G.Node, masks *Masks) *G.Node {
	if s := x.Shape(); len(s) != 2 || s[1] != m.Sizes[0] {
		panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: input shape %v, want (N, %d)", m.Name(), s, m.Sizes[0])})
	}
	h := x
	last := len(m.Sizes) - 2
	for i := 0; i <= last; i++ {
		wn, bn := m.LayerNames(i + 1)
		if m.HasBias(i + 1) {
			h = Linear(h, w.MustGet(wn), w.MustGet(bn))
		} else {
			scale, shift := m.NormNames(i + 1)
			h = graph.BatchNorm(graph.MatMul(h, w.MustGet(wn)), w.MustGet(scale), w.MustGet(shift), 0)
		}
		if i < last {
			h = masks.Dropout(m.Hidden.Apply(h), m.Dropout)
		} else {
			h = m.Output.Apply(h)
		}
	}
	return h
}

// InputShape returns [Sizes[0]].
func (m *MLP) InputShape() []int { return []int{m.Sizes[0]} }

// OutputSize returns the last size.
func (m *MLP) OutputSize() int { return m.Sizes[len(m.Sizes)-1] }

// Linear returns x·w + b for x (N, in), w (in, out) and b (out).
func Linear(x, w, b *G.Node) *G.Node {
	return graph.Add(graph.MatMul(x, w), b)
}
