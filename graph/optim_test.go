package graph

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// dense64 returns a float64 tensor holding a copy of xs with the given shape
// (a vector when shape is omitted).
func dense64(xs []float64, shape ...int) *tensor.Dense {
	if len(shape) == 0 {
		shape = []int{len(xs)}
	}
	return tensor.New(tensor.WithBacking(slices.Clone(xs)), tensor.WithShape(shape...))
}

// dense32 returns a float32 tensor holding xs converted, with the given shape.
func dense32(xs []float64, shape ...int) *tensor.Dense {
	if len(shape) == 0 {
		shape = []int{len(xs)}
	}
	f := make([]float32, len(xs))
	for i, x := range xs {
		f[i] = float32(x)
	}
	return tensor.New(tensor.WithBacking(f), tensor.WithShape(shape...))
}

// quadGrad returns the gradient w − c of f(w) = ½‖w − c‖², in w's dtype.
func quadGrad(w *tensor.Dense, c []float64) *tensor.Dense {
	ws := denseValues(w)
	g := make([]float64, len(ws))
	for i := range ws {
		g[i] = ws[i] - c[i]
	}
	if w.Dtype() == tensor.Float32 {
		return dense32(g, w.Shape()...)
	}
	return dense64(g, w.Shape()...)
}

// maxAbsDiff returns max |a_i − b_i|.
func maxAbsDiff(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

var (
	quadStart  = []float64{5, -3, 0.5, 2, -7, 1}
	quadTarget = []float64{1, 2, -1, 0.25, 3, -4}
)

func TestSGDQuadratic(t *testing.T) {
	const lr, steps = 0.1, 200
	w := dense64(quadStart, 2, 3)
	opt := NewSGD(lr)
	for k := 1; k <= steps; k++ {
		if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{quadGrad(w, quadTarget)}); err != nil {
			t.Fatal(err)
		}
		if k == 3 {
			// w_k − c = (1 − lr)^k (w_0 − c).
			want := make([]float64, len(quadStart))
			for i := range want {
				want[i] = quadTarget[i] + math.Pow(1-lr, 3)*(quadStart[i]-quadTarget[i])
			}
			if d := maxAbsDiff(denseValues(w), want); d > 1e-12 {
				t.Fatalf("after 3 steps w = %v, want %v", denseValues(w), want)
			}
		}
	}
	if d := maxAbsDiff(denseValues(w), quadTarget); d > 1e-6 {
		t.Errorf("SGD did not converge: w = %v, want %v", denseValues(w), quadTarget)
	}
	if st := opt.State(); st.Kind != "sgd" || st.Step != steps || st.LR != lr || st.Slots != nil {
		t.Errorf("state = %+v", st)
	}
}

func TestOptimConvergeAll(t *testing.T) {
	opts := map[string]func() Optimizer{
		"sgd":      func() Optimizer { return NewSGD(0.1) },
		"momentum": func() Optimizer { return NewMomentum(0.05, 0) },
		"nesterov": func() Optimizer { m := NewMomentum(0.05, 0.9); m.Nesterov = true; return m },
		"adam":     func() Optimizer { return NewAdam(0.05) },
	}
	for name, mk := range opts {
		for _, mkDense := range []func([]float64, ...int) *tensor.Dense{dense64, dense32} {
			w := mkDense(quadStart, 3, 2)
			t.Run(name+"/"+w.Dtype().Name(), func(t *testing.T) {
				opt := mk()
				for range 2000 {
					if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{quadGrad(w, quadTarget)}); err != nil {
						t.Fatal(err)
					}
				}
				if d := maxAbsDiff(denseValues(w), quadTarget); d > 1e-3 {
					t.Errorf("did not converge: w = %v, want %v", denseValues(w), quadTarget)
				}
			})
		}
	}
}

func TestAdamFirstStep(t *testing.T) {
	const lr = 0.01
	w0 := []float64{1, -2, 3, 0.5, 0, 10}
	g := []float64{0.3, -4, 1e-3, -1e-2, 100, 0}
	for _, mkDense := range []func([]float64, ...int) *tensor.Dense{dense64, dense32} {
		w := mkDense(w0)
		opt := NewAdam(lr)
		if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{mkDense(g)}); err != nil {
			t.Fatal(err)
		}
		got := denseValues(w)
		for i := range w0 {
			// m̂ = g, v̂ = g², so Δ = lr·g/(|g| + ε) ≈ lr·sign(g).
			want := w0[i] - lr*g[i]/(math.Abs(g[i])+1e-8)
			sign := 0.0
			if g[i] > 0 {
				sign = 1
			} else if g[i] < 0 {
				sign = -1
			}
			tol := 1e-12
			if w.Dtype() == tensor.Float32 {
				tol = 1e-6 * max(1, math.Abs(w0[i]))
			}
			if math.Abs(got[i]-want) > tol {
				t.Errorf("%v: w[%d] = %.17g, want %.17g", w.Dtype(), i, got[i], want)
			}
			if math.Abs((w0[i]-got[i])-lr*sign) > 1e-5*lr+tol {
				t.Errorf("%v: step %d = %g, want lr·sign(g) = %g", w.Dtype(), i, w0[i]-got[i], lr*sign)
			}
		}
	}
}

func TestAdamHyperDefaults(t *testing.T) {
	// An explicit Adam with the documented defaults behaves like zero fields.
	a := &Adam{LR: 0.01}
	b := &Adam{LR: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
	wa, wb := dense64(quadStart), dense64(quadStart)
	for range 5 {
		if err := a.Step([]*tensor.Dense{wa}, []*tensor.Dense{quadGrad(wa, quadTarget)}); err != nil {
			t.Fatal(err)
		}
		if err := b.Step([]*tensor.Dense{wb}, []*tensor.Dense{quadGrad(wb, quadTarget)}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(denseValues(wa), denseValues(wb)) {
		t.Errorf("defaults differ: %v vs %v", denseValues(wa), denseValues(wb))
	}
	// Hand-computed second step for one weight with fixed gradients.
	w := dense64([]float64{0})
	opt := NewAdam(0.1)
	gs := []float64{1, -3}
	for _, g := range gs {
		if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{dense64([]float64{g})}); err != nil {
			t.Fatal(err)
		}
	}
	m1, v1 := 0.1*1, 0.001*1
	m2, v2 := 0.9*m1+0.1*-3, 0.999*v1+0.001*9
	want := -0.1*(m1/0.1)/(math.Sqrt(v1/0.001)+1e-8) - 0.1*(m2/(1-0.81))/(math.Sqrt(v2/(1-0.999*0.999))+1e-8)
	if got := denseValues(w)[0]; math.Abs(got-want) > 1e-12 {
		t.Errorf("after two steps w = %.17g, want %.17g", got, want)
	}
}

func TestMomentumSequence(t *testing.T) {
	const lr, mu = 0.1, 0.5
	w0 := []float64{1, -1, 2}
	grads := [][]float64{{1, 2, -1}, {0.5, -1, 3}, {-2, 0.25, 1}}
	for _, nesterov := range []bool{false, true} {
		// Expected sequence, from the update formula.
		want := slices.Clone(w0)
		v := make([]float64, len(w0))
		var wantSeq [][]float64
		for _, g := range grads {
			for i := range want {
				v[i] = mu*v[i] + g[i]
				if nesterov {
					want[i] -= lr * (g[i] + mu*v[i])
				} else {
					want[i] -= lr * v[i]
				}
			}
			wantSeq = append(wantSeq, slices.Clone(want))
		}
		for _, mkDense := range []func([]float64, ...int) *tensor.Dense{dense64, dense32} {
			w := mkDense(w0)
			opt := NewMomentum(lr, mu)
			opt.Nesterov = nesterov
			for k, g := range grads {
				if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{mkDense(g)}); err != nil {
					t.Fatal(err)
				}
				tol := 1e-12
				if w.Dtype() == tensor.Float32 {
					tol = 1e-6
				}
				if d := maxAbsDiff(denseValues(w), wantSeq[k]); d > tol {
					t.Errorf("nesterov=%v %v step %d: w = %v, want %v", nesterov, w.Dtype(), k+1, denseValues(w), wantSeq[k])
				}
			}
		}
	}
	// Step 1 by hand: v = g, w = w0 − lr·g.
	w := dense64([]float64{1})
	opt := NewMomentum(0.1, 0.5)
	for _, want := range []float64{1 - 0.1*1, 0.9 - 0.1*1.5, 0.75 - 0.1*1.75} {
		if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{dense64([]float64{1})}); err != nil {
			t.Fatal(err)
		}
		if got := denseValues(w)[0]; math.Abs(got-want) > 1e-15 {
			t.Errorf("w = %.17g, want %.17g", got, want)
		}
	}
	if NewMomentum(1, 0).mu() != 0.9 {
		t.Error("default momentum is not 0.9")
	}
}

func TestOptimFloat32MatchesFloat64(t *testing.T) {
	for _, name := range OptimizerNames {
		o64, err := NewOptimizer(name, 0.05)
		if err != nil {
			t.Fatal(err)
		}
		o32, _ := NewOptimizer(name, 0.05)
		w64, w32 := dense64(quadStart), dense32(quadStart)
		for range 20 {
			if err := o64.Step([]*tensor.Dense{w64}, []*tensor.Dense{quadGrad(w64, quadTarget)}); err != nil {
				t.Fatal(err)
			}
			if err := o32.Step([]*tensor.Dense{w32}, []*tensor.Dense{quadGrad(w32, quadTarget)}); err != nil {
				t.Fatal(err)
			}
		}
		if d := maxAbsDiff(denseValues(w64), denseValues(w32)); d > 1e-4 {
			t.Errorf("%s: float32 %v differs from float64 %v by %g", name, denseValues(w32), denseValues(w64), d)
		}
	}
}

func TestOptimErrors(t *testing.T) {
	p := func() *tensor.Dense { return dense64([]float64{1, 2, 3, 4, 5, 6}, 2, 3) }
	cases := []struct {
		name   string
		params []*tensor.Dense
		grads  []*tensor.Dense
		want   string
	}{
		{"count", []*tensor.Dense{p()}, nil, "1 params but 0 grads"},
		{"shape", []*tensor.Dense{p()}, []*tensor.Dense{dense64(make([]float64, 6), 3, 2)}, "grad 0 has shape [3 2], param has [2 3]"},
		{"shape second", []*tensor.Dense{p(), p()}, []*tensor.Dense{p(), dense64(make([]float64, 6))}, "grad 1 has shape [6], param has [2 3]"},
		{"dtype", []*tensor.Dense{p()}, []*tensor.Dense{dense32(make([]float64, 6), 2, 3)}, "grad 0 has dtype float32, param has float64"},
		{"nil grad", []*tensor.Dense{p()}, []*tensor.Dense{nil}, "grad 0 is nil"},
		{"nil param", []*tensor.Dense{nil}, []*tensor.Dense{p()}, "param 0 is nil"},
		{"int", []*tensor.Dense{tensor.New(tensor.WithBacking([]int{1}))}, []*tensor.Dense{tensor.New(tensor.WithBacking([]int{1}))}, "param 0 has dtype int"},
	}
	for _, name := range OptimizerNames {
		for _, c := range cases {
			opt, err := NewOptimizer(name, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			var before [][]float64
			for _, x := range c.params {
				if x != nil {
					before = append(before, denseValues(x))
				}
			}
			err = opt.Step(c.params, c.grads)
			if err == nil {
				t.Errorf("%s %s: no error", name, c.name)
				continue
			}
			if want := name + " step: " + c.want; !strings.Contains(err.Error(), want) {
				t.Errorf("%s %s: error %q, want it to contain %q", name, c.name, err, want)
			}
			k := 0
			for _, x := range c.params {
				if x != nil {
					if !slices.Equal(denseValues(x), before[k]) {
						t.Errorf("%s %s: failed step changed a param", name, c.name)
					}
					k++
				}
			}
			if st := opt.State(); st.Step != 0 || st.Slots != nil {
				t.Errorf("%s %s: failed step changed state: %+v", name, c.name, st)
			}
		}
	}

	// After a first step, the state binds the optimizer to those shapes.
	for _, name := range []string{"momentum", "adam"} {
		opt, _ := NewOptimizer(name, 0.1)
		w := dense64([]float64{1, 2, 3})
		if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{dense64([]float64{1, 1, 1})}); err != nil {
			t.Fatal(err)
		}
		err := opt.Step([]*tensor.Dense{dense64([]float64{1, 2})}, []*tensor.Dense{dense64([]float64{1, 1})})
		if err == nil || !strings.Contains(err.Error(), "of param 0 has 3 values, param has 2") {
			t.Errorf("%s: step with other sizes: error %v", name, err)
		}
		err = opt.Step([]*tensor.Dense{w, w}, []*tensor.Dense{w, w})
		if err == nil || !strings.Contains(err.Error(), "state is for 1 params, got 2") {
			t.Errorf("%s: step with more params: error %v", name, err)
		}
	}
}

func TestOptimState(t *testing.T) {
	for _, name := range OptimizerNames {
		a, _ := NewOptimizer(name, 0.05)
		wa := dense64(quadStart)
		run := func(o Optimizer, w *tensor.Dense, n int) {
			for range n {
				if err := o.Step([]*tensor.Dense{w}, []*tensor.Dense{quadGrad(w, quadTarget)}); err != nil {
					t.Fatal(err)
				}
			}
		}
		run(a, wa, 5)
		st := a.State()
		if st.Kind != name || st.Step != 5 || st.LR != 0.05 {
			t.Errorf("%s: state %+v", name, st)
		}
		// Deep copy: mutating the snapshot must not touch the optimizer.
		for _, kind := range st.Slots {
			kind[0][0] = math.NaN()
		}
		st = a.State()
		b, _ := NewOptimizer(name, 1)
		if err := b.SetState(st); err != nil {
			t.Fatalf("%s: SetState: %v", name, err)
		}
		wb := dense64(denseValues(wa))
		run(a, wa, 5)
		run(b, wb, 5)
		if !slices.Equal(denseValues(wa), denseValues(wb)) {
			t.Errorf("%s: restored optimizer diverged: %v vs %v", name, denseValues(wa), denseValues(wb))
		}
	}

	adam := NewAdam(0.1)
	if err := adam.SetState(OptimizerState{Kind: "sgd"}); err == nil || !strings.Contains(err.Error(), `state is for optimizer "sgd", not "adam"`) {
		t.Errorf("SetState of other kind: %v", err)
	}
	if err := adam.SetState(OptimizerState{Kind: "adam", Slots: [][][]float64{{{1}}}}); err == nil || !strings.Contains(err.Error(), "1 slot kinds, want 2") {
		t.Errorf("SetState with missing slot: %v", err)
	}
	if err := adam.SetState(OptimizerState{Kind: "adam", Slots: [][][]float64{{{1}}, {{1, 2}}}}); err == nil {
		t.Error("SetState with mismatched slot lengths: no error")
	}
}

func TestOptimSetLR(t *testing.T) {
	for _, name := range OptimizerNames {
		opt, _ := NewOptimizer(name, 0.4)
		s, ok := opt.(LRSetter)
		if !ok {
			t.Fatalf("%s does not implement LRSetter", name)
		}
		for episode := 1; episode <= 6000; episode++ {
			if episode%2000 == 0 {
				s.SetLR(s.GetLR() / 2)
			}
		}
		if s.GetLR() != 0.05 || opt.State().LR != 0.05 {
			t.Errorf("%s: LR = %g after three halvings, want 0.05", name, s.GetLR())
		}
	}
	// A changed LR applies to the next step.
	w := dense64([]float64{1})
	sgd := NewSGD(1)
	sgd.SetLR(0.25)
	if err := sgd.Step([]*tensor.Dense{w}, []*tensor.Dense{dense64([]float64{2})}); err != nil {
		t.Fatal(err)
	}
	if got := denseValues(w)[0]; got != 0.5 {
		t.Errorf("w = %g, want 0.5", got)
	}
}

func TestNewOptimizer(t *testing.T) {
	for _, name := range []string{"sgd", "momentum", "adam", "Adam", " SGD ", "adamw"} {
		opt, err := NewOptimizer(name, 0.1)
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		if got, want := opt.Name(), strings.ToLower(strings.TrimSpace(name)); got != want {
			t.Errorf("%q: Name() = %q", name, got)
		}
	}
	_, err := NewOptimizer("rmsprop", 0.1)
	if err == nil || !strings.Contains(err.Error(), `unknown optimizer "rmsprop" (valid: sgd, momentum, adam, adamw)`) {
		t.Errorf("unknown name: %v", err)
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []*tensor.Dense{dense64([]float64{3, 0}), nil, dense32([]float64{0, 4}, 1, 2)}
	if n := GradNorm(g); n != 5 {
		t.Fatalf("GradNorm = %g, want 5", n)
	}
	if n := ClipGradNorm(g, 10); n != 5 || !slices.Equal(denseValues(g[0]), []float64{3, 0}) {
		t.Errorf("clip above the norm changed grads or returned %g", n)
	}
	if n := ClipGradNorm(g, 1); n != 5 {
		t.Errorf("ClipGradNorm returned %g, want pre-clip norm 5", n)
	}
	if got := denseValues(g[0]); maxAbsDiff(got, []float64{0.6, 0}) > 1e-15 {
		t.Errorf("clipped float64 grad = %v, want [0.6 0]", got)
	}
	if got := denseValues(g[2]); maxAbsDiff(got, []float64{0, 0.8}) > 1e-7 {
		t.Errorf("clipped float32 grad = %v, want [0 0.8]", got)
	}
	if n := GradNorm(g); math.Abs(n-1) > 1e-7 {
		t.Errorf("norm after clipping = %g, want 1", n)
	}
	if n := ClipGradNorm(g, 0); math.Abs(n-1) > 1e-7 {
		t.Errorf("maxNorm 0: returned %g", n)
	}
	inf := []*tensor.Dense{dense64([]float64{math.Inf(1), 1})}
	if n := ClipGradNorm(inf, 1); !math.IsInf(n, 1) || denseValues(inf[0])[1] != 1 {
		t.Errorf("infinite norm: returned %g, grads %v", n, denseValues(inf[0]))
	}
	if n := GradNorm(nil); n != 0 {
		t.Errorf("GradNorm(nil) = %g", n)
	}
}

// TestCosineLR: cosine annealing starts at the base rate, is halfway at
// half the steps, ends at the minimum and stays there; no total, no
// annealing.
func TestCosineLR(t *testing.T) {
	for _, c := range []struct {
		t, total int
		want     float64
	}{{0, 100, 1e-3}, {50, 100, (1e-3 + 1e-5) / 2}, {100, 100, 1e-5}, {150, 100, 1e-5}, {7, 0, 1e-3}} {
		if got := CosineLR(1e-3, 1e-5, c.t, c.total); math.Abs(got-c.want) > 1e-18 {
			t.Errorf("CosineLR at %d of %d: %g, want %g", c.t, c.total, got, c.want)
		}
	}
	prev := math.Inf(1)
	for i := 0; i <= 100; i++ {
		lr := CosineLR(1e-3, 1e-5, i, 100)
		if lr > prev {
			t.Fatalf("CosineLR rises at step %d: %g after %g", i, lr, prev)
		}
		prev = lr
	}
}
