package graph

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestWeightDecaySGDClosedForm: SGD with weight decay λ on L(θ) = 0 (zero
// gradients) shrinks θ geometrically, θ_t = θ_0·(1 − ηλ)^t, in float64
// and float32.
func TestWeightDecaySGDClosedForm(t *testing.T) {
	const lr, wd, steps = 0.1, 0.3, 25
	theta0 := []float64{2, -0.5, 7}
	for _, dense := range []func([]float64, ...int) *tensor.Dense{dense64, dense32} {
		opt, err := NewOptimizerWith("sgd", OptimizerOptions{LR: lr, WeightDecay: wd})
		if err != nil {
			t.Fatal(err)
		}
		w, zero := dense(theta0), dense(make([]float64, len(theta0)))
		for range steps {
			if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{zero}); err != nil {
				t.Fatal(err)
			}
		}
		tol := 1e-13
		if w.Dtype() == tensor.Float32 {
			tol = 1e-5
		}
		for i, got := range denseValues(w) {
			want := theta0[i] * math.Pow(1-lr*wd, steps)
			if math.Abs(got-want) > tol*math.Abs(want) {
				t.Errorf("%v θ[%d] after %d steps: %v, want θ₀(1−ηλ)^t = %v", w.Dtype(), i, steps, got, want)
			}
		}
	}
}

// TestWeightDecayIsL2: for SGD, momentum and Adam, weight decay λ is the
// gradient of λ/2‖θ‖² added to the loss: stepping with decay equals
// stepping without it on g + λθ.
func TestWeightDecayIsL2(t *testing.T) {
	const wd = 0.05
	g := []float64{0.3, -1.2, 0.7}
	for _, name := range []string{"sgd", "momentum", "adam"} {
		decayed, _ := NewOptimizerWith(name, OptimizerOptions{LR: 0.01, WeightDecay: wd})
		plain, _ := NewOptimizerWith(name, OptimizerOptions{LR: 0.01})
		a, b := dense64(quadStart[:3]), dense64(quadStart[:3])
		for range 5 {
			if err := decayed.Step([]*tensor.Dense{a}, []*tensor.Dense{dense64(g)}); err != nil {
				t.Fatal(err)
			}
			l2 := make([]float64, len(g))
			for i, w := range denseValues(b) {
				l2[i] = g[i] + wd*w
			}
			if err := plain.Step([]*tensor.Dense{b}, []*tensor.Dense{dense64(l2)}); err != nil {
				t.Fatal(err)
			}
		}
		if d := maxAbsDiff(denseValues(a), denseValues(b)); d > 1e-15 {
			t.Errorf("%s: decay and the L2 gradient differ by %g", name, d)
		}
	}
}

// TestAdamWDecoupled: AdamW on a constant gradient g, whose bias-corrected
// moments are g and g² at every step, moves each weight by
// w ← (1 − ηλ)·w − η·g/(|g| + ε): after t steps
// w_t = a^t·w_0 − b·(1 − a^t)/(1 − a) with a = 1 − ηλ, b = η·g/(|g| + ε).
// With λ = 0 it is Adam, bit for bit.
func TestAdamWDecoupled(t *testing.T) {
	const lr, wd, steps, eps = 0.01, 0.2, 30, 1e-8
	g := []float64{0.3, -1.2, 2e-3}
	opt, err := NewOptimizerWith("adamw", OptimizerOptions{LR: lr, WeightDecay: wd})
	if err != nil {
		t.Fatal(err)
	}
	if opt.Name() != "adamw" {
		t.Fatalf("name %q", opt.Name())
	}
	w := dense64(quadStart[:3])
	for range steps {
		if err := opt.Step([]*tensor.Dense{w}, []*tensor.Dense{dense64(g)}); err != nil {
			t.Fatal(err)
		}
	}
	a := 1 - lr*wd
	at := math.Pow(a, steps)
	for i, got := range denseValues(w) {
		b := lr * g[i] / (math.Abs(g[i]) + eps)
		want := at*quadStart[i] - b*(1-at)/(1-a)
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("w[%d]: %v, want %v", i, got, want)
		}
	}
	// the decay stays out of the moments: L2 Adam goes elsewhere
	l2, _ := NewOptimizerWith("adam", OptimizerOptions{LR: lr, WeightDecay: wd})
	v := dense64(quadStart[:3])
	for range steps {
		_ = l2.Step([]*tensor.Dense{v}, []*tensor.Dense{dense64(g)})
	}
	if maxAbsDiff(denseValues(v), denseValues(w)) < 1e-4 {
		t.Errorf("AdamW and Adam with L2 decay end at the same weights %v", denseValues(w))
	}
	// λ = 0: Adam
	adamw, _ := NewOptimizerWith("adamw", OptimizerOptions{LR: lr})
	adam := NewAdam(lr)
	x, y := dense64(quadStart), dense64(quadStart)
	for range 5 {
		_ = adamw.Step([]*tensor.Dense{x}, []*tensor.Dense{quadGrad(x, quadTarget)})
		_ = adam.Step([]*tensor.Dense{y}, []*tensor.Dense{quadGrad(y, quadTarget)})
	}
	if d := maxAbsDiff(denseValues(x), denseValues(y)); d != 0 {
		t.Errorf("AdamW without decay differs from Adam by %g", d)
	}
	// its state is AdamW's, not Adam's
	if err := adam.SetState(adamw.State()); err == nil {
		t.Error("Adam took AdamW's state")
	}
}
