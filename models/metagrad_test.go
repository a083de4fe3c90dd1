package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// input returns a float64 leaf holding random values.
func input(g *G.ExprGraph, rng *rand.Rand, name string, shape ...int) *G.Node {
	n := 1
	for _, d := range shape {
		n *= d
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	t := tensor.New(tensor.WithBacking(v), tensor.WithShape(shape...))
	return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(t))
}

func labelLeaf(g *G.ExprGraph, name string, n, classes int) *G.Node {
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(i % classes)
	}
	t := tensor.New(tensor.WithBacking(v), tensor.WithShape(n))
	return G.NewTensor(g, tensor.Float64, 1, G.WithShape(n), G.WithName(name), G.WithValue(t))
}

// metaLoss builds L_query(θ − α∇θ L_support(θ)), the one-step MAML
// objective, and with firstOrder the same with the inner gradient treated
// as a constant.
func metaLoss(m Model, p *graph.Params, loss func(out, y *G.Node) *G.Node, xs, ys, xq, yq *G.Node, alpha float64, firstOrder bool) *G.Node {
	w := p.Weights()
	ls := loss(m.Forward(w, xs), ys)
	grads, err := graph.Grad(ls, w.Nodes...)
	if err != nil {
		panic(err)
	}
	adapted := graph.Weights{Names: w.Names}
	for i, th := range w.Nodes {
		g := grads[i]
		if firstOrder {
			g = graph.StopGradient(g)
		}
		adapted.Nodes = append(adapted.Nodes, graph.Sub(th, graph.Scale(g, alpha)))
	}
	return loss(m.Forward(adapted, xq), yq)
}

// TestMetaGradient checks the full second-order MAML meta-gradient of an
// MLP and of Conv-4 (batch norm, max-pool) against finite differences, and
// that it differs measurably from the first-order approximation.
func TestMetaGradient(t *testing.T) {
	cases := []struct {
		name  string
		model Model
		in    []int
		loss  func(out, y *G.Node) *G.Node
		label bool
	}{
		{"mlp tanh regression", &MLP{Sizes: []int{3, 8, 8, 2}, Hidden: TanhActivation}, []int{3}, graph.MSE, false},
		{"mlp relu classifier", &MLP{Sizes: []int{4, 6, 3}, Hidden: ReLUActivation}, []int{4}, graph.CrossEntropy, true},
		{"conv4 bn maxpool classifier", &Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 3, Classes: 3}, []int{1, 16, 16}, graph.CrossEntropy, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 3))
			g := G.NewGraph()
			p := graph.NewParams(g, tensor.Float64)
			if err := c.model.Init(p, 5); err != nil {
				t.Fatal(err)
			}
			const n = 6
			out := c.model.OutputSize()
			xs := input(g, rng, "xs", append([]int{n}, c.in...)...)
			xq := input(g, rng, "xq", append([]int{n}, c.in...)...)
			var ys, yq *G.Node
			if c.label {
				ys, yq = labelLeaf(g, "ys", n, out), labelLeaf(g, "yq", n, out)
			} else {
				ys, yq = input(g, rng, "ys", n, out), input(g, rng, "yq", n, out)
			}
			var full, first *G.Node
			if err := graph.Build(func() {
				full = metaLoss(c.model, p, c.loss, xs, ys, xq, yq, 0.4, false)
				first = metaLoss(c.model, p, c.loss, xs, ys, xq, yq, 0.4, true)
			}); err != nil {
				t.Fatal(err)
			}
			res, err := graph.CheckGradient(full, p.Nodes(), graph.CheckOptions{Eps: 1e-6})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("second-order meta-gradient: max rel err %.2e over %d parameters (%s)", res.MaxRelErr, res.Checked, res.Worst)
			if res.MaxRelErr > 1e-5 {
				t.Errorf("meta-gradient max rel err %.2e > 1e-5 (%s)", res.MaxRelErr, res.Worst)
			}
			// the first-order gradient must differ from the full one
			gFull, _ := graph.Grad(full, p.Nodes()...)
			gFirst, _ := graph.Grad(first, p.Nodes()...)
			r, err := graph.NewRunner(append(gFull, gFirst...)...)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			var diff, norm float64
			for i := range gFull {
				a, b := r.Float64s(gFull[i]), r.Float64s(gFirst[i])
				for j := range a {
					diff += (a[j] - b[j]) * (a[j] - b[j])
					norm += a[j] * a[j]
				}
			}
			rel := math.Sqrt(diff / norm)
			t.Logf("‖full − first-order‖ / ‖full‖ = %.3g", rel)
			if rel < 1e-3 {
				t.Errorf("first-order and full meta-gradients agree to %.2g: the second-order term is missing", rel)
			}
		})
	}
}
