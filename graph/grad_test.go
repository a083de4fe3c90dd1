package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// scalarParam returns a 0-d float64 parameter node holding v.
func scalarParam(t *testing.T, g *G.ExprGraph, name string, v float64) *G.Node {
	t.Helper()
	val := tensor.New(tensor.WithBacking([]float64{v}), tensor.WithShape())
	return G.NewScalar(g, tensor.Float64, G.WithName(name), G.WithValue(val))
}

func evalScalar(t *testing.T, n *G.Node) float64 {
	t.Helper()
	r, err := NewRunner(n)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	return r.Scalar(n)
}

func mustGrad(t *testing.T, y, x *G.Node) *G.Node {
	t.Helper()
	gs, err := Grad(y, x)
	if err != nil {
		t.Fatal(err)
	}
	return gs[0]
}

// TestHigherOrderCube differentiates x³ three times at x = 2, where
// Gorgonia's own Grad returns 4 for the second derivative.
func TestHigherOrderCube(t *testing.T) {
	g := G.NewGraph()
	x0 := 2.0
	x := scalarParam(t, g, "x", x0)
	y := Mul(Mul(x, x), x)
	d1 := mustGrad(t, y, x)
	d2 := mustGrad(t, d1, x)
	d3 := mustGrad(t, d2, x)
	want := []float64{x0 * x0 * x0, 3 * x0 * x0, 6 * x0, 6}
	for i, n := range []*G.Node{y, d1, d2, d3} {
		if got := evalScalar(t, n); math.Abs(got-want[i]) > 1e-12 {
			t.Errorf("derivative %d of x³ at %g: got %g, want %g", i, x0, got, want[i])
		}
	}
}

// TestTanhSecondDerivative checks tanh” = −2 tanh (1 − tanh²), which
// Gorgonia's Grad returns as tanh'.
func TestTanhSecondDerivative(t *testing.T) {
	g := G.NewGraph()
	x0 := 0.7
	x := scalarParam(t, g, "x", x0)
	d2 := mustGrad(t, mustGrad(t, Tanh(x), x), x)
	th := math.Tanh(x0)
	want := -2 * th * (1 - th*th)
	if got := evalScalar(t, d2); math.Abs(got-want) > 1e-12 {
		t.Errorf("tanh''(%g): got %g, want %g", x0, got, want)
	}
}
