package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Weights is an ordered list of named nodes that a model reads its weights
// from. The nodes may be trainable leaves (see Params) or any expression of
// them, such as the adapted weights θ − α∇L of a MAML inner step.
type Weights struct {
	Names []string
	Nodes []*G.Node
}

// Get returns the node named name, or nil when there is none.
func (w Weights) Get(name string) *G.Node {
	for i, n := range w.Names {
		if n == name {
			return w.Nodes[i]
		}
	}
	return nil
}

// MustGet returns the node named name and panics when there is none. Models
// use it on weights they created themselves, where a missing name is a bug.
func (w Weights) MustGet(name string) *G.Node {
	n := w.Get(name)
	if n == nil {
		panic(fmt.Sprintf("graph: no weight named %q (have %v)", name, w.Names))
	}
	return n
}

// Len returns the number of weights.
func (w Weights) Len() int { return len(w.Names) }

// Param is one trainable tensor: a leaf node of the graph and the value the
// node reads. The value is shared with every Runner compiled over the node,
// so an optimizer that updates Value in place is seen by the next run.
type Param struct {
	Name  string
	Node  *G.Node
	Value *tensor.Dense
}

// Params is an ordered set of named trainable tensors in one graph.
type Params struct {
	Graph  *G.ExprGraph
	Dtype  tensor.Dtype
	List   []*Param
	byName map[string]*Param
}

// NewParams returns an empty parameter set whose leaves live in g and hold
// values of type dt (tensor.Float32 or tensor.Float64).
func NewParams(g *G.ExprGraph, dt tensor.Dtype) *Params {
	return &Params{Graph: g, Dtype: dt, byName: map[string]*Param{}}
}

// Add creates a parameter of the given shape, fills it with init and returns
// its node. Names must be unique within the set.
func (p *Params) Add(name string, shape []int, init Initializer) (*G.Node, error) {
	if _, dup := p.byName[name]; dup {
		return nil, fmt.Errorf("add parameter %q: name already used", name)
	}
	if len(shape) == 0 {
		return nil, fmt.Errorf("add parameter %q: empty shape", name)
	}
	val := tensor.New(tensor.Of(p.Dtype), tensor.WithShape(shape...))
	if init != nil {
		init.Fill(val)
	}
	n := G.NewTensor(p.Graph, p.Dtype, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(val))
	par := &Param{Name: name, Node: n, Value: val}
	p.List = append(p.List, par)
	p.byName[name] = par
	return n, nil
}

// Get returns the parameter named name, or nil.
func (p *Params) Get(name string) *Param { return p.byName[name] }

// Weights returns the parameters' nodes as Weights, in order.
func (p *Params) Weights() Weights {
	w := Weights{Names: make([]string, len(p.List)), Nodes: make([]*G.Node, len(p.List))}
	for i, par := range p.List {
		w.Names[i], w.Nodes[i] = par.Name, par.Node
	}
	return w
}

// Nodes returns the parameters' leaf nodes, in order.
func (p *Params) Nodes() []*G.Node { return p.Weights().Nodes }

// Values returns the parameters' values, in order.
func (p *Params) Values() []*tensor.Dense {
	v := make([]*tensor.Dense, len(p.List))
	for i, par := range p.List {
		v[i] = par.Value
	}
	return v
}

// Count returns the total number of scalar parameters.
func (p *Params) Count() int {
	n := 0
	for _, par := range p.List {
		n += par.Value.Shape().TotalSize()
	}
	return n
}

// Initializer fills a freshly allocated parameter tensor.
type Initializer interface {
	Fill(t *tensor.Dense)
}

// Mirror returns a parameter set in graph g whose leaves read the same
// values as p's. Meta-learners build one graph per worker goroutine this
// way: every worker sees each update of the shared values, and Runners only
// read them.
func (p *Params) Mirror(g *G.ExprGraph) *Params {
	m := NewParams(g, p.Dtype)
	for _, par := range p.List {
		shape := par.Value.Shape()
		n := G.NewTensor(g, p.Dtype, len(shape), G.WithShape(shape...), G.WithName(par.Name), G.WithValue(par.Value))
		mp := &Param{Name: par.Name, Node: n, Value: par.Value}
		m.List = append(m.List, mp)
		m.byName[par.Name] = mp
	}
	return m
}

// AddValue adds a parameter holding an existing value (no copy).
func (p *Params) AddValue(name string, val *tensor.Dense) (*G.Node, error) {
	if _, dup := p.byName[name]; dup {
		return nil, fmt.Errorf("add parameter %q: name already used", name)
	}
	shape := val.Shape()
	n := G.NewTensor(p.Graph, p.Dtype, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(val))
	par := &Param{Name: name, Node: n, Value: val}
	p.List = append(p.List, par)
	p.byName[name] = par
	return n, nil
}
