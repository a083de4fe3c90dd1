package models

import (
	"fmt"
	"sort"
	"strings"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// Model is a functional network.
type Model interface {
	// Name identifies the model, e.g. in checkpoints.
	Name() string
	// Init adds the model's parameters to p, initialised from seed.
	Init(p *graph.Params, seed uint64) error
	// Forward builds the model's output for the batch x from weights w,
	// which must hold the names Init created. It panics with a
	// *graph.ShapeError when x does not fit; see graph.Recover.
	Forward(w graph.Weights, x *G.Node) *G.Node
	// InputShape is the shape of one example, e.g. [784] or [1 28 28].
	InputShape() []int
	// OutputSize is the width of the output: classes, or the embedding size.
	OutputSize() int
}

// Spec asks a registered model for a shape and options. Zero fields
// mean the model's defaults (New(name, Spec{}) is the model as
// registered, e.g. "mlp" 784-100-10); a model that cannot take what is
// asked returns an error naming it.
type Spec struct {
	// Input is one example's shape, e.g. [1 28 28] or [1].
	Input []int
	// Outputs is the width of the output: classes or regression targets.
	Outputs int
	// Embedding asks for the network without its classifier head (the
	// embedding of metric learners); Outputs is then ignored.
	Embedding bool
	// Filters is the number of filters per convolutional layer.
	Filters int
	// Hidden lists the hidden layer widths of an MLP.
	Hidden []int
	// Init names a weight initialisation the model knows (e.g. "torch":
	// PyTorch's default U(±1/√fan-in)); "" is the model's own.
	Init string
	// Pools is the number of leading convolutional blocks that max-pool
	// (Conv-4: 2 keeps 7×7 feature maps of 28×28 images, the embedding of
	// Relation Networks); 0 is the model's own (every block), negative
	// none.
	Pools int
	// PerStep makes a convolutional model's batch norm depend on the
	// inner-loop step (MAML++'s per-step weights and running statistics;
	// see StepNorm); zero: none. metalearn.Setup gives it one set per
	// inner step of the run when Steps is 0.
	PerStep StepNorm
	// Dropout is the rate of inverted dropout in training (see
	// Stochastic): after every hidden activation of an MLP, before
	// Conv-4's head; 0: none.
	Dropout float64
	// Activation names an MLP's hidden activation (relu, sigmoid or
	// tanh); "" is the model's own.
	Activation Activation
	// BatchNorm gives an MLP batch norm before every hidden activation
	// (MLP.BatchNorm).
	BatchNorm bool
}

// Override returns s with the options o sets in place of s's: Filters,
// Hidden, Init, Pools, PerStep, Dropout, Activation and BatchNorm where
// o's are not zero. The shape
// (Input, Outputs, Embedding) stays s's.
func (s Spec) Override(o Spec) Spec {
	if o.Filters != 0 {
		s.Filters = o.Filters
	}
	if o.Hidden != nil {
		s.Hidden = o.Hidden
	}
	if o.Init != "" {
		s.Init = o.Init
	}
	if o.Pools != 0 {
		s.Pools = o.Pools
	}
	if o.PerStep != (StepNorm{}) {
		s.PerStep = o.PerStep
	}
	if o.Dropout != 0 {
		s.Dropout = o.Dropout
	}
	if o.Activation != "" {
		s.Activation = o.Activation
	}
	if o.BatchNorm {
		s.BatchNorm = true
	}
	return s
}

// Constructor builds a registered model for a Spec.
type Constructor func(Spec) (Model, error)

var registry = map[string]Constructor{}

// Register makes a model constructor available by name to New. It panics
// on a duplicate name.
func Register(name string, ctor Constructor) {
	if _, dup := registry[name]; dup {
		panic("models: duplicate registration of " + name)
	}
	registry[name] = ctor
}

// New returns a fresh model of the registered name for s (zero fields:
// the model's defaults).
func New(name string, s Spec) (Model, error) {
	ctor, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown model %q (have %s)", name, strings.Join(Names(), ", "))
	}
	m, err := ctor(s)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return m, nil
}

// Names lists the registered models, sorted.
func Names() []string {
	var ns []string
	for n := range registry {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func init() {
	Register("seed", func(s Spec) (Model, error) {
		m := SeedNetwork()
		return m, s.mlp(m, []int{784, 30, 10}, "seed")
	})
	Register("mlp", func(s Spec) (Model, error) {
		m := &MLP{Hidden: ReLUActivation}
		return m, s.mlp(m, []int{784, 100, 10}, "")
	})
	Register("sinusoid-mlp", func(s Spec) (Model, error) {
		m := SinusoidMLP()
		return m, s.mlp(m, []int{1, 40, 40, 1}, "sinusoid-mlp")
	})
	Register("conv4", func(s Spec) (Model, error) {
		m := &Conv4{InChannels: 1, Height: 28, Width: 28, Classes: 10, Filters: s.Filters, Pools: s.Pools, PerStep: s.PerStep, Dropout: s.Dropout}
		if s.Pools > 4 {
			return nil, fmt.Errorf("%d pooling blocks: it has 4 blocks", s.Pools)
		}
		if err := s.PerStep.check(); err != nil {
			return nil, err
		}
		switch in := s.Input; len(in) {
		case 0:
		case 3:
			m.InChannels, m.Height, m.Width = in[0], in[1], in[2]
		default:
			return nil, fmt.Errorf("takes images (C, H, W), not inputs of shape %v", in)
		}
		if s.Outputs > 0 {
			m.Classes = s.Outputs
		}
		if s.Embedding {
			m.Classes = 0
		}
		if len(s.Hidden) > 0 {
			return nil, fmt.Errorf("has no hidden-layer sizes to set (it has -filters)")
		}
		if s.Init != "" {
			return nil, fmt.Errorf("init %q: conv4 has one initialisation (PyTorch's)", s.Init)
		}
		if s.Activation != "" || s.BatchNorm {
			return nil, fmt.Errorf("has ReLU and batch norm in every block; the activation and batch norm options are an MLP's")
		}
		if err := m.checkDropout(); err != nil {
			return nil, err
		}
		return m, nil
	})
}

// mlp shapes m from s over the defaults def (input, hidden..., output):
// the input is flattened. A prefix other than "" names the model
// "<prefix>-<sizes>", as the registered defaults are named.
func (s Spec) mlp(m *MLP, def []int, prefix string) error {
	switch {
	case s.Embedding:
		return fmt.Errorf("an MLP has no embedding form (use conv4)")
	case s.Filters > 0:
		return fmt.Errorf("has no filters to set (it has hidden sizes)")
	case s.Pools != 0:
		return fmt.Errorf("has no pooling to set (it is not convolutional)")
	case s.PerStep.Enabled():
		return fmt.Errorf("has no batch norm to make per-step")
	}
	if err := checkDropout(s.Dropout); err != nil {
		return err
	}
	m.Dropout = s.Dropout
	own := m.Hidden
	switch s.Activation {
	case "", own:
	case ReLUActivation, SigmoidActivation, TanhActivation:
		m.Hidden = s.Activation
	default:
		return fmt.Errorf("activation %q: want relu, sigmoid or tanh", string(s.Activation))
	}
	m.BatchNorm = s.BatchNorm
	sizes := append([]int(nil), def...)
	if len(s.Input) > 0 {
		sizes[0] = graph.Size(s.Input)
	}
	if len(s.Hidden) > 0 {
		sizes = append(append([]int{sizes[0]}, s.Hidden...), sizes[len(sizes)-1])
	}
	if s.Outputs > 0 {
		sizes[len(sizes)-1] = s.Outputs
	}
	m.Sizes = sizes
	if prefix != "" {
		m.ModelName = prefix
		for _, n := range sizes {
			m.ModelName += fmt.Sprintf("-%d", n)
		}
		if m.Hidden != own {
			m.ModelName += "-" + string(m.Hidden)
		}
		if m.BatchNorm {
			m.ModelName += "-bn"
		}
	}
	switch s.Init {
	case "":
	case "torch":
		m.WeightInit, m.BiasInit = TorchDefaultInit, TorchDefaultInit
		if m.ModelName != "" {
			m.ModelName += "-torchinit"
		}
	default:
		return fmt.Errorf("init %q: want torch or the default", s.Init)
	}
	return nil
}

// Spatial is a Model whose output (without a head) is one example's
// feature maps, flattened: OutputSize is the product of FeatureShape.
// Relation Networks reshape it back to compare maps by convolution.
type Spatial interface {
	Model
	// FeatureShape is the shape (C, H, W) of one example's feature maps.
	FeatureShape() []int
}

// Headed is a Model with a classifier head (or last layer) that some
// learners treat apart: ANIL adapts only it; the zeroing trick starts every
// task with it at zero.
type Headed interface {
	Model
	// Head names the head's weights; none for a model without a head.
	Head() []string
}

// Head names the last layer's weight and bias.
func (m *MLP) Head() []string {
	w, b := m.LayerNames(len(m.Sizes) - 1)
	return []string{w, b}
}

// Head names the linear head's weights, none without a head.
func (m *Conv4) Head() []string {
	if m.Classes == 0 {
		return nil
	}
	return []string{"fc.w", "fc.b"}
}

// HeadOf returns m's head (see Headed), nil if it has none.
func HeadOf(m Model) []string {
	if h, ok := m.(Headed); ok {
		return h.Head()
	}
	return nil
}
