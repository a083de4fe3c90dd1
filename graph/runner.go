package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Runner executes part of a graph many times: it is compiled once for a set
// of output nodes, then each step feeds the inputs, calls Run and reads the
// outputs. All memory is allocated when the Runner is built, so a training
// loop of any length allocates nothing per step.
//
// Buffers of intermediate nodes are recycled as soon as no later op reads
// them, so only the outputs (and leaves) can be read after Run. A Runner is
// not safe for concurrent use; compile one per goroutine (parameter values
// are shared between Runners and only read during Run).
type Runner struct {
	steps   []runStep
	vals    map[*G.Node]*tensor.Dense
	inputs  []*G.Node // placeholders the caller must feed
	fed     map[*G.Node]bool
	outputs map[*G.Node]bool
	bytes   int
}

type runStep struct {
	node *G.Node
	op   op   // a metagon op: writes into out
	gop  G.Op // any other Gorgonia op: Do, then copy into out
	out  *tensor.Dense
	in   []*tensor.Dense
}

// NewRunner compiles the part of the graph that the outputs depend on.
//
// Leaves with a value (parameters, constants) are read from that value each
// run; leaves without one are inputs, which must be fed before the first
// Run and keep their last fed value afterwards.
func NewRunner(outputs ...*G.Node) (*Runner, error) {
	if len(outputs) == 0 {
		return nil, fmt.Errorf("runner: no outputs")
	}
	r := &Runner{vals: map[*G.Node]*tensor.Dense{}, fed: map[*G.Node]bool{}, outputs: map[*G.Node]bool{}}
	for _, o := range outputs {
		r.outputs[o] = true
	}
	order := topoOrder(outputs, nil)
	// A view (reshape, stop-gradient) shares the memory of its input, so
	// buffers are tracked by their root: the node that owns the memory. A
	// root's buffer is recycled after the last use of it or of any view.
	root := map[*G.Node]*G.Node{}
	lastUse := map[*G.Node]int{}
	for i, n := range order {
		root[n] = n
		ins := inputsOf(n)
		if isView(n) {
			root[n] = root[ins[0]]
		}
		for _, c := range ins {
			lastUse[root[c]] = i
		}
	}
	pool := map[string][]*tensor.Dense{}
	key := func(dt tensor.Dtype, n int) string { return fmt.Sprint(dt, n) }
	recyclable := map[*G.Node]bool{}
	for i, n := range order {
		if n.Op() == nil || isConstant(n) {
			v, err := leafValue(n)
			if err != nil {
				return nil, err
			}
			if v == nil { // an input to feed
				v = newDense(n.Dtype(), n.Shape())
				r.inputs = append(r.inputs, n)
				r.bytes += byteSize(v)
			}
			r.vals[n] = v
			continue
		}
		ins := inputsOf(n)
		if isView(n) {
			r.vals[n] = reshaped(r.vals[ins[0]], n.Shape())
			if r.outputs[n] {
				recyclable[root[n]] = false
			}
		} else {
			st := runStep{node: n, in: make([]*tensor.Dense, len(ins))}
			for j, c := range ins {
				st.in[j] = r.vals[c]
			}
			if o, ok := n.Op().(op); ok {
				st.op = o
			} else {
				st.gop = n.Op()
			}
			k := key(n.Dtype(), size(n.Shape()))
			if free := pool[k]; len(free) > 0 && !r.outputs[n] {
				st.out = free[len(free)-1]
				pool[k] = free[:len(free)-1]
				st.out = reshaped(st.out, n.Shape())
			} else {
				st.out = newDense(n.Dtype(), n.Shape())
				r.bytes += byteSize(st.out)
			}
			r.vals[n] = st.out
			recyclable[n] = !r.outputs[n]
			r.steps = append(r.steps, st)
		}
		// inputs read for the last time here give their memory back
		for _, c := range ins {
			rc := root[c]
			if recyclable[rc] && lastUse[rc] == i {
				recyclable[rc] = false
				kc := key(rc.Dtype(), size(rc.Shape()))
				pool[kc] = append(pool[kc], r.vals[rc])
			}
		}
	}
	return r, nil
}

// isView reports whether n's value is its input's memory under another
// shape: a reshape or a stop-gradient, which the Runner does not execute.
func isView(n *G.Node) bool {
	switch n.Op().(type) {
	case *reshapeOp, *stopGradientOp:
		return true
	}
	return false
}

// reshaped returns a tensor with t's memory and the given shape.
func reshaped(t *tensor.Dense, shape tensor.Shape) *tensor.Dense {
	if sameShape(t.Shape(), shape) {
		return t
	}
	if is64(t) {
		return tensor.New(tensor.WithBacking(t.Float64s()), tensor.WithShape(shape...))
	}
	return tensor.New(tensor.WithBacking(t.Float32s()), tensor.WithShape(shape...))
}

func byteSize(t *tensor.Dense) int { return t.DataSize() * int(t.Dtype().Size()) }

func isConstant(n *G.Node) bool {
	_, ok := n.Op().(interface{ Value() G.Value })
	return ok && len(inputsOf(n)) == 0
}

// leafValue returns the value a leaf reads, or nil for an input to feed.
func leafValue(n *G.Node) (*tensor.Dense, error) {
	var v G.Value
	if c, ok := n.Op().(interface{ Value() G.Value }); ok && n.Op() != nil {
		v = c.Value()
	} else {
		v = n.Value()
	}
	if v == nil {
		return nil, nil
	}
	d, err := asDense(v)
	if err != nil {
		return nil, fmt.Errorf("runner: leaf %s: %w", n.Name(), err)
	}
	if !d.Shape().Eq(n.Shape()) && size(d.Shape()) != size(n.Shape()) {
		return nil, fmt.Errorf("runner: leaf %s has shape %v but its value has %v", n.Name(), n.Shape(), d.Shape())
	}
	return d, nil
}

// Feed copies v into the input node n. v is a []float64, []float32 or
// *tensor.Dense with n's number of elements.
func (r *Runner) Feed(n *G.Node, v any) error {
	switch x := v.(type) {
	case *tensor.Dense:
		if x.Dtype() != n.Dtype() {
			return fmt.Errorf("feed %s: got %v values, want %v", n.Name(), x.Dtype(), n.Dtype())
		}
		if is64(x) {
			return feedSlice(r, n, x.Float64s())
		}
		return feedSlice(r, n, x.Float32s())
	case []float64:
		return feedSlice(r, n, x)
	case []float32:
		return feedSlice(r, n, x)
	}
	return fmt.Errorf("feed %s: unsupported value type %T", n.Name(), v)
}

// FeedFloat64s is Feed for a []float64, without boxing it in an interface
// (a training loop feeds every step; this allocates nothing).
func (r *Runner) FeedFloat64s(n *G.Node, x []float64) error { return feedSlice(r, n, x) }

// FeedFloat32s is Feed for a []float32, without boxing it in an interface.
func (r *Runner) FeedFloat32s(n *G.Node, x []float32) error { return feedSlice(r, n, x) }

// feedSlice copies x into input n's buffer, converting the element type.
func feedSlice[S Float](r *Runner, n *G.Node, x []S) error {
	dst, err := r.inputBuffer(n)
	if err != nil {
		return err
	}
	if len(x) != dst.DataSize() {
		return fmt.Errorf("feed %s: got %d values, want %d (shape %v)", n.Name(), len(x), dst.DataSize(), n.Shape())
	}
	if is64(dst) {
		convert(dst.Float64s(), x)
	} else {
		convert(dst.Float32s(), x)
	}
	r.fed[n] = true
	return nil
}

// convert copies src into dst, converting each element to dst's type.
func convert[D, S Float](dst []D, src []S) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = D(v)
	}
}

// Input returns the buffer behind input node n, for callers that fill it in
// place (no copy). It marks n as fed.
func (r *Runner) Input(n *G.Node) (*tensor.Dense, error) {
	d, err := r.inputBuffer(n)
	if err == nil {
		r.fed[n] = true
	}
	return d, err
}

func (r *Runner) inputBuffer(n *G.Node) (*tensor.Dense, error) {
	for _, in := range r.inputs {
		if in == n {
			return r.vals[n], nil
		}
	}
	return nil, fmt.Errorf("runner: %s is not an input of this runner's graph", n.Name())
}

// Run computes every output from the current inputs and parameter values.
func (r *Runner) Run() error {
	for _, n := range r.inputs {
		if !r.fed[n] {
			return fmt.Errorf("run: input %s %v was never fed", n.Name(), n.Shape())
		}
	}
	for i := range r.steps {
		st := &r.steps[i]
		if st.op != nil {
			st.op.forward(st.out, st.in)
			continue
		}
		vals := make([]G.Value, len(st.in))
		for j, v := range st.in {
			vals[j] = v
		}
		v, err := st.gop.Do(vals...)
		if err != nil {
			return fmt.Errorf("run: %v: %w", st.gop, err)
		}
		d, err := asDense(v)
		if err != nil {
			return fmt.Errorf("run: %v: %w", st.gop, err)
		}
		if is64(d) {
			copy(st.out.Float64s(), d.Float64s())
		} else {
			copy(st.out.Float32s(), d.Float32s())
		}
	}
	return nil
}

// Value returns the value of an output, input or parameter node after Run.
// It panics for a node the Runner was not compiled to keep.
func (r *Runner) Value(n *G.Node) *tensor.Dense {
	v, ok := r.vals[n]
	if !ok || (n.Op() != nil && !isConstant(n) && !r.outputs[n]) {
		panic(fmt.Sprintf("runner: %s is not an output of this runner", n.Name()))
	}
	return v
}

// Float64s returns an output's values as float64 (a copy for float32 graphs).
func (r *Runner) Float64s(n *G.Node) []float64 {
	v := r.Value(n)
	if is64(v) {
		return v.Float64s()
	}
	f := v.Float32s()
	out := make([]float64, len(f))
	for i, e := range f {
		out[i] = float64(e)
	}
	return out
}

// Scalar returns the first element of an output as a float64.
func (r *Runner) Scalar(n *G.Node) float64 {
	v := r.Value(n)
	if is64(v) {
		return v.Float64s()[0]
	}
	return float64(v.Float32s()[0])
}

// Steps returns the number of ops each Run executes.
func (r *Runner) Steps() int { return len(r.steps) }

// Bytes returns the memory the Runner allocated for values.
func (r *Runner) Bytes() int { return r.bytes }

// CheckFinite returns an error naming the first output holding NaN or ±Inf.
func (r *Runner) CheckFinite(ns ...*G.Node) error {
	for _, n := range ns {
		for _, v := range r.Float64s(n) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("%s is %v", n.Name(), v)
			}
		}
	}
	return nil
}
