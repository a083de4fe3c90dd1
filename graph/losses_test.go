package graph

import (
	"math"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestGaussianNLLValue checks GaussianNLL against the log-density of the
// normal distribution written out per element, −log(e^(−(y−μ)²/2σ²)/(σ√2π)),
// with values from Go's math package.
func TestGaussianNLLValue(t *testing.T) {
	mu := []float64{0, 1.5, -2, 0.25}
	sigma := []float64{2, 0.1, 1, 0.7}
	y := []float64{1, 1.45, 0.5, 0.25}
	g := G.NewGraph()
	nodes := []*G.Node{leaf(g, "mu", []int{4}, mu), leaf(g, "sigma", []int{4}, sigma), leaf(g, "y", []int{4}, y)}
	nll := GaussianNLL(nodes[0], nodes[1], nodes[2])
	r, err := NewRunner(nll)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	want := 0.0
	for i := range mu {
		d := y[i] - mu[i]
		density := math.Exp(-d*d/(2*sigma[i]*sigma[i])) / (sigma[i] * math.Sqrt(2*math.Pi))
		want -= math.Log(density) / float64(len(mu))
	}
	if got := r.Scalar(nll); math.Abs(got-want) > 1e-14*math.Abs(want) {
		t.Errorf("GaussianNLL = %.17g, want %.17g", got, want)
	}
}
