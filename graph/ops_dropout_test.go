package graph

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// dropoutMaskInput fills input i with a dropout mask at rate p drawn from a
// fixed generator (the gradient checks hold the mask fixed).
func dropoutMaskInput(i int, p float64) func(int, []float64) {
	return func(j int, v []float64) {
		if j != i {
			return
		}
		m := tensor.New(tensor.WithBacking(v), tensor.WithShape(len(v)))
		FillDropoutMask(m, p, rand.New(rand.NewPCG(uint64(len(v)), 99)))
	}
}

// TestDropoutForward: y = x ⊙ mask / (1 − p) element by element, in both
// element types, with a mask that keeps some units and drops others.
func TestDropoutForward(t *testing.T) {
	const p = 0.25
	xs := []float64{1.5, -2, 0.25, 3, -0.5, 4}
	mask := []float64{1, 0, 1, 1, 0, 1}
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		g := G.NewGraph()
		x := G.NewMatrix(g, dt, G.WithShape(2, 3), G.WithName("x"))
		m := G.NewMatrix(g, dt, G.WithShape(2, 3), G.WithName("mask"))
		y := Dropout(x, m, p)
		r, err := NewRunner(y)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.FeedFloat64s(x, xs); err != nil {
			t.Fatal(err)
		}
		if err := r.FeedFloat64s(m, mask); err != nil {
			t.Fatal(err)
		}
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		tol := 0.0
		if dt == tensor.Float32 {
			tol = 1e-6
		}
		for i, got := range r.Float64s(y) {
			want := xs[i] * mask[i] / (1 - p)
			if math.Abs(got-want) > tol*math.Abs(want) {
				t.Errorf("%v: y[%d] = %g, want %g", dt, i, got, want)
			}
		}
	}
}

// TestDropoutMaskStatistics draws large masks: the fraction dropped is p
// within five standard deviations of a Bernoulli mean, √(p(1−p)/n), and so
// is the mean of Dropout(1): 1, the expectation inverted dropout keeps,
// within five of its standard deviations √(p/((1−p)n)).
func TestDropoutMaskStatistics(t *testing.T) {
	const n = 200_000
	for _, p := range []float64{0, 0.1, 0.5, 0.9} {
		m := tensor.New(tensor.WithShape(n), tensor.Of(tensor.Float64))
		FillDropoutMask(m, p, rand.New(rand.NewPCG(1, 2)))
		dropped := 0
		for _, v := range m.Float64s() {
			switch v {
			case 0:
				dropped++
			case 1:
			default:
				t.Fatalf("p=%g: mask value %g, want 0 or 1", p, v)
			}
		}
		frac := float64(dropped) / n
		if tol := 5 * math.Sqrt(p*(1-p)/n); math.Abs(frac-p) > tol || (p == 0 && dropped != 0) {
			t.Errorf("p=%g: dropped %.4f of the units, want within %.4f of p", p, frac, tol)
		}
		mean := float64(n-dropped) / (1 - p) / n // mean of x ⊙ mask/(1−p) for x = 1
		if tol := 5 * math.Sqrt(p/((1-p)*n)); math.Abs(mean-1) > tol {
			t.Errorf("p=%g: mean of dropout(1) %.4f, want within %.4f of 1", p, mean, tol)
		}
	}
}

// TestDropoutMaskSeeded: the same generator state gives the same mask, in
// both element types; another seed gives another.
func TestDropoutMaskSeeded(t *testing.T) {
	draw := func(dt tensor.Dtype, seed uint64) []float64 {
		m := tensor.New(tensor.WithShape(64, 32), tensor.Of(dt))
		FillDropoutMask(m, 0.5, rand.New(rand.NewPCG(seed, 7)))
		get, _ := elementAccess(m)
		out := make([]float64, m.DataSize())
		for i := range out {
			out[i] = get(i)
		}
		return out
	}
	a, b := draw(tensor.Float64, 3), draw(tensor.Float64, 3)
	if !slices.Equal(a, b) {
		t.Errorf("two masks from the same seed differ")
	}
	if !slices.Equal(a, draw(tensor.Float32, 3)) {
		t.Errorf("float32 and float64 masks from the same seed differ")
	}
	if slices.Equal(a, draw(tensor.Float64, 4)) {
		t.Errorf("masks from seeds 3 and 4 are equal")
	}
}

// TestDropoutShapeErrors: a rate outside [0, 1), a mask of another shape or
// element type are refused with a ShapeError naming dropout.
func TestDropoutShapeErrors(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 3), G.WithName("x"))
	m := G.NewMatrix(g, tensor.Float64, G.WithShape(2, 3), G.WithName("m"))
	other := G.NewMatrix(g, tensor.Float64, G.WithShape(3, 2), G.WithName("other"))
	m32 := G.NewMatrix(g, tensor.Float32, G.WithShape(2, 3), G.WithName("m32"))
	cases := []struct {
		name string
		f    func()
	}{
		{"p = 1", func() { Dropout(x, m, 1) }},
		{"negative p", func() { Dropout(x, m, -0.1) }},
		{"NaN p", func() { Dropout(x, m, math.NaN()) }},
		{"mask of another shape", func() { Dropout(x, other, 0.5) }},
		{"mask of another type", func() { Dropout(x, m32, 0.5) }},
	}
	for _, c := range cases {
		err := Build(c.f)
		var se *ShapeError
		if !errors.As(err, &se) || se.Msg[:7] != "dropout" {
			t.Errorf("%s: error %v, want a ShapeError from dropout", c.name, err)
		}
	}
}
