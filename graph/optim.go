package graph

import (
	"fmt"
	"gonum.org/v1/gonum/blas/gonum"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/floats"
	"gorgonia.org/tensor"
)

// Optimizer updates parameter values in place from gradients of the same
// shapes. Parameters and gradients must be contiguous tensors of dtype
// tensor.Float64 or tensor.Float32, a gradient having its parameter's dtype.
// Optimizer state (velocities, moments) is kept in float64 whatever the
// parameters' dtype, is allocated on the first Step, and binds the optimizer
// to that list of parameters: later steps must pass the same number of
// parameters with the same sizes.
type Optimizer interface {
	// Step applies one update. It validates every parameter and gradient
	// before changing anything, so an error leaves values and state intact.
	Step(params []*tensor.Dense, grads []*tensor.Dense) error
	// State returns a deep copy of the optimizer state, for checkpoints.
	State() OptimizerState
	// SetState replaces the state with a deep copy of s, which must come
	// from an optimizer of the same kind.
	SetState(OptimizerState) error
	// Name returns the optimizer kind: "sgd", "momentum", "adam" or
	// "adamw".
	Name() string
}

// OptimizerState is the serializable state of an Optimizer.
type OptimizerState struct {
	// Kind is the Name of the optimizer that produced the state.
	Kind string
	// Step is the number of successful steps taken.
	Step int64
	// LR is the learning rate at the time of the snapshot.
	LR float64
	// Slots holds per-parameter buffers: Slots[k][i] is slot kind k
	// (momentum: velocity; adam: first then second moment) of parameter i,
	// flattened in row-major order, in float64. Empty before the first step.
	Slots [][][]float64
}

// Clone returns a deep copy of s.
func (s OptimizerState) Clone() OptimizerState {
	c := s
	c.Slots = cloneSlots(s.Slots)
	return c
}

// cloneSlots deep-copies slot buffers.
func cloneSlots(slots [][][]float64) [][][]float64 {
	if slots == nil {
		return nil
	}
	out := make([][][]float64, len(slots))
	for k, kind := range slots {
		if kind == nil {
			continue
		}
		out[k] = make([][]float64, len(kind))
		for i, buf := range kind {
			out[k][i] = slices.Clone(buf)
		}
	}
	return out
}

// LRSetter is implemented by optimizers whose learning rate can be changed
// between steps, for schedules such as "halve every 2000 episodes". (The
// getter is GetLR because the optimizers export the rate as the field LR.)
type LRSetter interface {
	SetLR(lr float64)
	GetLR() float64
}

// Every optimizer supports learning-rate schedules.
var (
	_ LRSetter = (*SGD)(nil)
	_ LRSetter = (*Momentum)(nil)
	_ LRSetter = (*Adam)(nil)
)

// OptimizerNames lists the names NewOptimizer accepts.
var OptimizerNames = []string{"sgd", "momentum", "adam", "adamw"}

// NewOptimizer returns a new optimizer of the named kind ("sgd",
// "momentum", "adam" or "adamw", case-insensitive) with learning rate lr
// and default hyper-parameters, without weight decay.
func NewOptimizer(name string, lr float64) (Optimizer, error) {
	return NewOptimizerWith(name, OptimizerOptions{LR: lr})
}

// OptimizerOptions are the settings NewOptimizerWith gives an optimizer;
// the others keep their defaults.
type OptimizerOptions struct {
	// LR is the learning rate.
	LR float64
	// WeightDecay is λ, 0 for none. For "sgd", "momentum" and "adam" it is
	// L2 regularisation: λ·w is added to each gradient, the gradient of
	// λ/2·‖w‖² added to the loss. For "adamw" it is decoupled (Loshchilov
	// & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019): each
	// step also takes LR·λ·w off every weight, apart from Adam's moments.
	// It applies to every parameter, biases included.
	WeightDecay float64
}

// NewOptimizerWith returns a new optimizer of the named kind (see
// NewOptimizer) with the options o.
func NewOptimizerWith(name string, o OptimizerOptions) (Optimizer, error) {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "sgd":
		return &SGD{LR: o.LR, WeightDecay: o.WeightDecay}, nil
	case "momentum":
		return &Momentum{LR: o.LR, WeightDecay: o.WeightDecay}, nil
	case "adam":
		return &Adam{LR: o.LR, WeightDecay: o.WeightDecay}, nil
	case "adamw":
		return &Adam{LR: o.LR, WeightDecay: o.WeightDecay, Decoupled: true}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (valid: %s)", name, strings.Join(OptimizerNames, ", "))
}

// SGD is plain stochastic gradient descent: w ← w − LR·g, or with
// WeightDecay λ (L2) w ← w − LR·(g + λ·w).
type SGD struct {
	LR          float64
	WeightDecay float64
	steps       int64
}

// NewSGD returns an SGD optimizer with learning rate lr.
func NewSGD(lr float64) *SGD { return &SGD{LR: lr} }

// Name implements Optimizer.
func (o *SGD) Name() string { return "sgd" }

// SetLR sets the learning rate used by later steps.
func (o *SGD) SetLR(lr float64) { o.LR = lr }

// GetLR returns the current learning rate.
func (o *SGD) GetLR() float64 { return o.LR }

// Step implements Optimizer.
func (o *SGD) Step(params, grads []*tensor.Dense) error {
	if err := checkOptimStep("sgd", params, grads, nil); err != nil {
		return err
	}
	if lr, wd := o.LR, o.WeightDecay; wd != 0 {
		for i := range params {
			applyOptimUpdate(params[i], grads[i], func(_ int, w, g float64) float64 { return lr * (g + wd*w) })
		}
		o.steps++
		return nil
	}
	for i, p := range params {
		n := p.Shape().TotalSize()
		switch p.Dtype() {
		case tensor.Float64:
			// w += (−LR)·g, with gonum's vectorised axpy; the same
			// numbers as w − LR·g computed one element at a time
			floats.AddScaled(p.Float64s()[:n], -o.LR, grads[i].Float64s()[:n])
		case tensor.Float32:
			sgdStep32(p.Float32s()[:n], grads[i].Float32s()[:n], o.LR)
		}
	}
	o.steps++
	return nil
}

// sgdStep32 is w ← w − lr·g in float32, with gonum's vectorised saxpy (a
// float64 loop with two conversions per element cost a quarter of a small
// network's training step).
func sgdStep32(w, g []float32, lr float64) {
	blasImpl.Saxpy(len(w), float32(-lr), g[:len(w)], 1, w, 1)
}

// blasImpl provides gonum's level-1 kernels.
var blasImpl gonum.Implementation

// State implements Optimizer.
func (o *SGD) State() OptimizerState {
	return OptimizerState{Kind: o.Name(), Step: o.steps, LR: o.LR}
}

// SetState implements Optimizer.
func (o *SGD) SetState(s OptimizerState) error {
	if err := checkOptimState(o.Name(), s, 0); err != nil {
		return err
	}
	o.steps, o.LR = s.Step, s.LR
	return nil
}

// Momentum is SGD with (heavy-ball or Nesterov) momentum, in the PyTorch
// form. For each parameter w with gradient g and velocity v (initially 0):
//
//	v ← Mu·v + g
//	w ← w − LR·v            (classical)
//	w ← w − LR·(g + Mu·v)   (Nesterov, using the updated v)
//
// If Mu is zero, a default of 0.9 is used. With WeightDecay λ (L2), g is
// g + λ·w.
type Momentum struct {
	LR, Mu      float64
	Nesterov    bool
	WeightDecay float64
	steps       int64
	vel         [][]float64
}

// NewMomentum returns a classical momentum optimizer with learning rate lr
// and momentum mu (0.9 if mu is zero).
func NewMomentum(lr, mu float64) *Momentum { return &Momentum{LR: lr, Mu: mu} }

// Name implements Optimizer.
func (o *Momentum) Name() string { return "momentum" }

// SetLR sets the learning rate used by later steps.
func (o *Momentum) SetLR(lr float64) { o.LR = lr }

// GetLR returns the current learning rate.
func (o *Momentum) GetLR() float64 { return o.LR }

// mu returns the momentum coefficient, with its default.
func (o *Momentum) mu() float64 {
	if o.Mu == 0 {
		return 0.9
	}
	return o.Mu
}

// Step implements Optimizer.
func (o *Momentum) Step(params, grads []*tensor.Dense) error {
	if err := checkOptimStep("momentum", params, grads, [][][]float64{o.vel}); err != nil {
		return err
	}
	if o.vel == nil {
		o.vel = allocOptimSlot(params)
	}
	lr, mu, nesterov, wd := o.LR, o.mu(), o.Nesterov, o.WeightDecay
	for i := range params {
		v := o.vel[i]
		applyOptimUpdate(params[i], grads[i], func(j int, w float64, g float64) float64 {
			if wd != 0 {
				g += wd * w
			}
			v[j] = mu*v[j] + g
			if nesterov {
				return lr * (g + mu*v[j])
			}
			return lr * v[j]
		})
	}
	o.steps++
	return nil
}

// State implements Optimizer.
func (o *Momentum) State() OptimizerState {
	s := OptimizerState{Kind: o.Name(), Step: o.steps, LR: o.LR}
	if o.vel != nil {
		s.Slots = cloneSlots([][][]float64{o.vel})
	}
	return s
}

// SetState implements Optimizer.
func (o *Momentum) SetState(s OptimizerState) error {
	if err := checkOptimState(o.Name(), s, 1); err != nil {
		return err
	}
	o.steps, o.LR, o.vel = s.Step, s.LR, nil
	if len(s.Slots) == 1 {
		o.vel = cloneSlots(s.Slots)[0]
	}
	return nil
}

// Adam is the Adam optimizer (Kingma & Ba, 2015). At step t (from 1), for
// each parameter w with gradient g and moments m, v (initially 0):
//
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	w ← w − LR · m̂ / (sqrt(v̂) + Eps),  m̂ = m/(1−β1^t), v̂ = v/(1−β2^t)
//
// so the first step moves each weight by LR·g/(|g|+Eps) ≈ LR·sign(g).
// If Beta1 is zero, a default of 0.9 is used; if Beta2 is zero, a default of
// 0.999 is used; if Eps is zero, a default of 1e-8 is used.
//
// WeightDecay λ is L2 regularisation (g is g + λ·w in the moments), unless
// Decoupled is set: then the optimizer is AdamW (Loshchilov & Hutter,
// ICLR 2019), named "adamw", whose decay stays out of the moments,
//
//	w ← w − LR·(m̂ / (sqrt(v̂) + Eps) + λ·w),
//
// so every weight shrinks by the factor 1 − LR·λ per step besides Adam's
// move.
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	WeightDecay           float64
	Decoupled             bool
	steps                 int64
	m, v                  [][]float64
}

// NewAdam returns an Adam optimizer with learning rate lr and the default
// β1 = 0.9, β2 = 0.999, ε = 1e-8.
func NewAdam(lr float64) *Adam { return &Adam{LR: lr} }

// Name implements Optimizer: "adamw" when Decoupled, else "adam".
func (o *Adam) Name() string {
	if o.Decoupled {
		return "adamw"
	}
	return "adam"
}

// SetLR sets the learning rate used by later steps.
func (o *Adam) SetLR(lr float64) { o.LR = lr }

// GetLR returns the current learning rate.
func (o *Adam) GetLR() float64 { return o.LR }

// hyper returns β1, β2, ε with their defaults.
func (o *Adam) hyper() (b1, b2, eps float64) {
	b1, b2, eps = o.Beta1, o.Beta2, o.Eps
	if b1 == 0 {
		b1 = 0.9
	}
	if b2 == 0 {
		b2 = 0.999
	}
	if eps == 0 {
		eps = 1e-8
	}
	return b1, b2, eps
}

// Step implements Optimizer.
func (o *Adam) Step(params, grads []*tensor.Dense) error {
	if err := checkOptimStep(o.Name(), params, grads, [][][]float64{o.m, o.v}); err != nil {
		return err
	}
	if o.m == nil {
		o.m, o.v = allocOptimSlot(params), allocOptimSlot(params)
	}
	b1, b2, eps := o.hyper()
	t := float64(o.steps + 1)
	c1, c2 := 1-math.Pow(b1, t), 1-math.Pow(b2, t)
	lr, wd, decoupled := o.LR, o.WeightDecay, o.Decoupled
	for i := range params {
		m, v := o.m[i], o.v[i]
		applyOptimUpdate(params[i], grads[i], func(j int, w float64, g float64) float64 {
			if wd != 0 && !decoupled {
				g += wd * w
			}
			m[j] = b1*m[j] + (1-b1)*g
			v[j] = b2*v[j] + (1-b2)*g*g
			if wd != 0 && decoupled {
				return lr * ((m[j]/c1)/(math.Sqrt(v[j]/c2)+eps) + wd*w)
			}
			return lr * (m[j] / c1) / (math.Sqrt(v[j]/c2) + eps)
		})
	}
	o.steps++
	return nil
}

// State implements Optimizer.
func (o *Adam) State() OptimizerState {
	s := OptimizerState{Kind: o.Name(), Step: o.steps, LR: o.LR}
	if o.m != nil {
		s.Slots = cloneSlots([][][]float64{o.m, o.v})
	}
	return s
}

// SetState implements Optimizer.
func (o *Adam) SetState(s OptimizerState) error {
	if err := checkOptimState(o.Name(), s, 2); err != nil {
		return err
	}
	o.steps, o.LR, o.m, o.v = s.Step, s.LR, nil, nil
	if len(s.Slots) == 2 {
		c := cloneSlots(s.Slots)
		o.m, o.v = c[0], c[1]
	}
	return nil
}

// checkOptimState validates a state for an optimizer of the given kind with
// nslots slot kinds: either no slots (not stepped yet) or exactly nslots
// kinds, each with the same number of same-length buffers.
func checkOptimState(kind string, s OptimizerState, nslots int) error {
	if s.Kind != kind {
		return fmt.Errorf("%s set state: state is for optimizer %q, not %q", kind, s.Kind, kind)
	}
	if s.Step < 0 {
		return fmt.Errorf("%s set state: negative step count %d", kind, s.Step)
	}
	if len(s.Slots) == 0 {
		return nil
	}
	if len(s.Slots) != nslots {
		return fmt.Errorf("%s set state: %d slot kinds, want %d", kind, len(s.Slots), nslots)
	}
	for k := 1; k < nslots; k++ {
		if len(s.Slots[k]) != len(s.Slots[0]) {
			return fmt.Errorf("%s set state: slot kind %d has %d buffers, slot kind 0 has %d", kind, k, len(s.Slots[k]), len(s.Slots[0]))
		}
		for i := range s.Slots[k] {
			if len(s.Slots[k][i]) != len(s.Slots[0][i]) {
				return fmt.Errorf("%s set state: slot kind %d of parameter %d has %d values, slot kind 0 has %d", kind, k, i, len(s.Slots[k][i]), len(s.Slots[0][i]))
			}
		}
	}
	return nil
}

// checkOptimStep validates params and grads for one step of optimizer kind, and
// that existing slot buffers (nil before the first step) fit the params.
func checkOptimStep(kind string, params, grads []*tensor.Dense, slots [][][]float64) error {
	if len(params) != len(grads) {
		return fmt.Errorf("%s step: %d params but %d grads", kind, len(params), len(grads))
	}
	for i, p := range params {
		g := grads[i]
		if p == nil {
			return fmt.Errorf("%s step: param %d is nil", kind, i)
		}
		if g == nil {
			return fmt.Errorf("%s step: grad %d is nil", kind, i)
		}
		if dt := p.Dtype(); dt != tensor.Float64 && dt != tensor.Float32 {
			return fmt.Errorf("%s step: param %d has dtype %v, want float64 or float32", kind, i, dt)
		}
		if g.Dtype() != p.Dtype() {
			return fmt.Errorf("%s step: grad %d has dtype %v, param has %v", kind, i, g.Dtype(), p.Dtype())
		}
		if !slices.Equal([]int(g.Shape()), []int(p.Shape())) {
			return fmt.Errorf("%s step: grad %d has shape %v, param has %v", kind, i, []int(g.Shape()), []int(p.Shape()))
		}
		if p.RequiresIterator() {
			return fmt.Errorf("%s step: param %d is a non-contiguous view", kind, i)
		}
		if g.RequiresIterator() {
			return fmt.Errorf("%s step: grad %d is a non-contiguous view", kind, i)
		}
		if n := p.Shape().TotalSize(); floatLen(p) < n || floatLen(g) < n {
			return fmt.Errorf("%s step: param %d or its grad holds fewer than %d values", kind, i, n)
		}
	}
	for k, kindSlots := range slots {
		if kindSlots == nil {
			continue
		}
		if len(kindSlots) != len(params) {
			return fmt.Errorf("%s step: optimizer state is for %d params, got %d", kind, len(kindSlots), len(params))
		}
		for i, buf := range kindSlots {
			if n := params[i].Shape().TotalSize(); len(buf) != n {
				return fmt.Errorf("%s step: optimizer state (slot %d) of param %d has %d values, param has %d (shape %v)", kind, k, i, len(buf), n, []int(params[i].Shape()))
			}
		}
	}
	return nil
}

// floatLen returns the length of t's backing float slice (0 for other dtypes).
func floatLen(t *tensor.Dense) int {
	switch t.Dtype() {
	case tensor.Float64:
		return len(t.Float64s())
	case tensor.Float32:
		return len(t.Float32s())
	}
	return 0
}

// allocOptimSlot returns one zeroed float64 buffer per parameter.
func allocOptimSlot(params []*tensor.Dense) [][]float64 {
	s := make([][]float64, len(params))
	for i, p := range params {
		s[i] = make([]float64, p.Shape().TotalSize())
	}
	return s
}

// applyOptimUpdate subtracts delta(j, w_j, g_j) from every element j of p, where
// p and g are validated, contiguous tensors of the same float dtype.
func applyOptimUpdate(p, g *tensor.Dense, delta func(j int, w, g float64) float64) {
	n := p.Shape().TotalSize()
	switch p.Dtype() {
	case tensor.Float64:
		step(p.Float64s()[:n], g.Float64s()[:n], delta)
	case tensor.Float32:
		step(p.Float32s()[:n], g.Float32s()[:n], delta)
	}
}

// step computes in float64 and writes w[j] −= delta(j, w[j], g[j]).
func step[T float32 | float64](w, g []T, delta func(j int, w, g float64) float64) {
	for j := range w {
		w[j] = T(float64(w[j]) - delta(j, float64(w[j]), float64(g[j])))
	}
}

// GradNorm returns the global L2 norm sqrt(Σ g²) over all elements of grads
// (float64 or float32; nil tensors and other dtypes are skipped).
func GradNorm(grads []*tensor.Dense) float64 {
	var sum float64
	for _, g := range grads {
		if g == nil {
			continue
		}
		forEachFloat(g, func(x float64) { sum += x * x })
	}
	return math.Sqrt(sum)
}

// ClipGradNorm scales grads in place so that their global L2 norm is at most
// maxNorm, and returns the norm before clipping. Nothing is changed when the
// norm is already within maxNorm, when maxNorm ≤ 0, or when the norm is not
// finite (NaN or Inf: scaling could not repair it; check the returned norm).
func ClipGradNorm(grads []*tensor.Dense, maxNorm float64) float64 {
	norm := GradNorm(grads)
	if maxNorm <= 0 || norm <= maxNorm || math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm
	}
	scale := maxNorm / norm
	for _, g := range grads {
		if g == nil {
			continue
		}
		switch g.Dtype() {
		case tensor.Float64:
			scaleFloats(g, g.Float64s(), scale)
		case tensor.Float32:
			scaleFloats(g, g.Float32s(), scale)
		}
	}
	return norm
}

// forEachFloat calls f on every logical element of a float tensor.
func forEachFloat(t *tensor.Dense, f func(float64)) {
	switch t.Dtype() {
	case tensor.Float64:
		visitFloats(t, t.Float64s(), func(_ int, x float64) { f(x) })
	case tensor.Float32:
		visitFloats(t, t.Float32s(), func(_ int, x float32) { f(float64(x)) })
	}
}

// scaleFloats multiplies every logical element of t (backed by data) by s.
func scaleFloats[T float32 | float64](t *tensor.Dense, data []T, s float64) {
	visitFloats(t, data, func(i int, x T) { data[i] = T(float64(x) * s) })
}

// visitFloats calls f(i, data[i]) for the index i of every logical element of t,
// following t's iterator when t is a non-contiguous view.
func visitFloats[T float32 | float64](t *tensor.Dense, data []T, f func(int, T)) {
	n := t.Shape().TotalSize()
	if !t.RequiresIterator() {
		for i, x := range data[:min(n, len(data))] {
			f(i, x)
		}
		return
	}
	it := t.Iterator()
	for i, err := it.Start(); err == nil; i, err = it.Next() {
		if i >= 0 && i < len(data) {
			f(i, data[i])
		}
	}
}
