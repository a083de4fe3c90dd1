package graph

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Float is the element type of every tensor a metagon graph computes with.
type Float interface{ ~float32 | ~float64 }

// op is a metagon graph operation. It is a Gorgonia op (so it lives in an
// ordinary *gorgonia.ExprGraph and can be hashed, sorted and printed like any
// other), with two additions that Gorgonia lacks:
//
//   - forward writes the result into a buffer the Runner allocated once, so a
//     compiled graph runs with no allocation per step;
//   - backward is the op's derivative rule, written with other graph ops, so
//     the gradient it returns can itself be differentiated (MAML needs the
//     gradient of a gradient).
//
// Every op file keeps the two side by side.
type op interface {
	G.Op
	// forward computes the op's value from the inputs' values into out.
	forward(out *tensor.Dense, in []*tensor.Dense)
	// backward returns dL/d(in[i]) for every input, given the node out that
	// the op produced and gy = dL/d(out). A nil entry means "no gradient flows
	// to this input" (labels, argmax references, stop-gradient).
	backward(in []*G.Node, out, gy *G.Node) []*G.Node
}

// base implements the bookkeeping half of gorgonia.Op for every metagon op:
// the output shape and dtype are known when the op is applied, so type and
// shape inference only report them.
type base struct {
	name   string       // op name, e.g. "relu"
	params string       // the op's parameters, printed; part of the hash
	arity  int          // number of inputs
	shape  tensor.Shape // output shape
	dt     tensor.Dtype // output element type
	in     []hm.Type    // the inputs' types, for Gorgonia's type check
}

func newBase(name, params string, dt tensor.Dtype, shape tensor.Shape, in []*G.Node) base {
	b := base{name: name, params: params, arity: len(in), shape: shape.Clone(), dt: dt}
	for _, n := range in {
		b.in = append(b.in, n.Type())
	}
	return b
}

// Arity returns the number of inputs the op takes.
func (b *base) Arity() int { return b.arity }

// Type returns the op's function type, built fresh on each call because
// Gorgonia returns function types to a pool after using them.
func (b *base) Type() hm.Type {
	ts := append(append([]hm.Type{}, b.in...), outType(b.dt, len(b.shape)))
	if len(ts) == 1 {
		return ts[0]
	}
	return hm.NewFnType(ts...)
}

func outType(dt tensor.Dtype, dims int) hm.Type {
	if dims == 0 {
		return dt
	}
	return G.TensorType{Dims: dims, Of: dt}
}

// InferShape returns the output shape computed when the op was applied.
func (b *base) InferShape(...G.DimSizer) (tensor.Shape, error) { return b.shape.Clone(), nil }

// ReturnsPtr reports false: results are written to buffers the op owns.
func (b *base) ReturnsPtr() bool { return false }

// CallsExtern reports false: every kernel is pure Go.
func (b *base) CallsExtern() bool { return false }

// OverwritesInput reports -1: no op writes into its inputs.
func (b *base) OverwritesInput() int { return -1 }

// WriteHash writes everything that determines the op's result: its name, its
// parameters, its output shape and dtype. Gorgonia merges nodes whose op and
// inputs hash alike, so a parameter left out here would merge distinct ops.
func (b *base) WriteHash(h hash.Hash) {
	fmt.Fprintf(h, "metagon.%s(%s)->%v%v", b.name, b.params, b.dt, b.shape)
}

// Hashcode returns the FNV-32a hash of WriteHash.
func (b *base) Hashcode() uint32 {
	h := fnv.New32a()
	b.WriteHash(h)
	return h.Sum32()
}

// String names the op and its parameters.
func (b *base) String() string {
	if b.params == "" {
		return b.name
	}
	return b.name + "(" + b.params + ")"
}

// doWith runs forward on freshly allocated memory; it serves gorgonia.Op's Do
// so that Gorgonia's own machines can execute metagon ops too.
func doWith(o op, shape tensor.Shape, dt tensor.Dtype, vals []G.Value) (G.Value, error) {
	in := make([]*tensor.Dense, len(vals))
	for i, v := range vals {
		d, err := asDense(v)
		if err != nil {
			return nil, fmt.Errorf("%v: input %d: %w", o, i, err)
		}
		in[i] = d
	}
	out := newDense(dt, shape)
	o.forward(out, in)
	return out, nil
}

// asDense converts a Gorgonia value (a tensor or a scalar) to a dense tensor.
func asDense(v G.Value) (*tensor.Dense, error) {
	switch x := v.(type) {
	case *tensor.Dense:
		return x, nil
	case *G.F64:
		return tensor.New(tensor.WithBacking([]float64{float64(*x)}), tensor.WithShape()), nil
	case *G.F32:
		return tensor.New(tensor.WithBacking([]float32{float32(*x)}), tensor.WithShape()), nil
	default:
		return nil, fmt.Errorf("unsupported value type %T", v)
	}
}

// newDense allocates a zeroed tensor of the given type and shape (shape ()
// makes a 0-d tensor backed by one element).
func newDense(dt tensor.Dtype, shape tensor.Shape) *tensor.Dense {
	n := shape.TotalSize()
	if len(shape) == 0 {
		n = 1
	}
	switch dt {
	case tensor.Float64:
		return tensor.New(tensor.WithBacking(make([]float64, n)), tensor.WithShape(shape...))
	case tensor.Float32:
		return tensor.New(tensor.WithBacking(make([]float32, n)), tensor.WithShape(shape...))
	}
	panic(shapeErrorf("unsupported dtype %v: metagon graphs compute in float32 or float64", dt))
}

// data returns the element slice of a float32 or float64 tensor.
func data[T Float](t *tensor.Dense) []T {
	var zero T
	switch any(zero).(type) {
	case float64:
		return any(t.Float64s()).([]T)
	default:
		return any(t.Float32s()).([]T)
	}
}

// is64 reports whether t holds float64 values.
func is64(t *tensor.Dense) bool { return t.Dtype() == tensor.Float64 }

// apply adds the node o(in...) to the graph of in, or returns the existing
// node that computes the same thing.
func apply(o op, in ...*G.Node) *G.Node {
	n, err := G.ApplyOp(o, in...)
	if err != nil {
		panic(shapeErrorf("apply %v: %v", o, err))
	}
	return n
}

// sameDtype returns the common dtype of ns, or panics with a ShapeError.
func sameDtype(opName string, ns ...*G.Node) tensor.Dtype {
	dt := ns[0].Dtype()
	for _, n := range ns[1:] {
		if n.Dtype() != dt {
			panic(shapeErrorf("%s: mixed element types %v and %v", opName, dt, n.Dtype()))
		}
	}
	if dt != tensor.Float64 && dt != tensor.Float32 {
		panic(shapeErrorf("%s: element type %v; metagon graphs compute in float32 or float64", opName, dt))
	}
	return dt
}

// elementAccess returns a getter and setter for the elements of t as
// float64, whatever its element type.
func elementAccess(t *tensor.Dense) (get func(int) float64, set func(int, float64)) {
	if is64(t) {
		d := t.Float64s()
		return func(i int) float64 { return d[i] }, func(i int, v float64) { d[i] = v }
	}
	d := t.Float32s()
	return func(i int) float64 { return float64(d[i]) }, func(i int, v float64) { d[i] = float32(v) }
}
