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

var registry = map[string]func() Model{}

// Register makes a model constructor available by name to New.
func Register(name string, ctor func() Model) {
	if _, dup := registry[name]; dup {
		panic("models: duplicate registration of " + name)
	}
	registry[name] = ctor
}

// New returns a fresh model of the registered name.
func New(name string) (Model, error) {
	ctor, ok := registry[name]
	if !ok {
		return nil, fmt.Errorf("unknown model %q (have %s)", name, strings.Join(Names(), ", "))
	}
	return ctor(), nil
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
	Register("seed", func() Model { return SeedNetwork() })
	Register("mlp", func() Model {
		return &MLP{Sizes: []int{784, 100, 10}, Hidden: ReLUActivation}
	})
	Register("conv4", func() Model {
		return &Conv4{InChannels: 1, Height: 28, Width: 28, Classes: 10}
	})
	Register("sinusoid-mlp", func() Model { return SinusoidMLP() })
}
