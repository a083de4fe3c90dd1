package models

import (
	"encoding/json"
	"math"
	"os"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// torchCase is a meta-gradient computed by PyTorch (scripts/torch_maml_case.py).
type torchCase struct {
	Alpha          float64
	Xs, Ys, Xq, Yq []float64
	QueryLoss      float64 `json:"query_loss"`
	Params, Grads  map[string][]float64
}

// TestMetaGradientMatchesPyTorch compares the second-order MAML
// meta-gradient of a full-size Conv-4 (5-way, 28×28) with the one PyTorch's
// autograd computes for the same weights and episode. It runs when
// METAGON_TORCH_CASE names a file written by scripts/torch_maml_case.py
// (scripts/crosscheck_torch.sh does both); the finite-difference check in
// TestMetaGradient needs no PyTorch and always runs.
func TestMetaGradientMatchesPyTorch(t *testing.T) {
	path := os.Getenv("METAGON_TORCH_CASE")
	if path == "" {
		t.Skip("METAGON_TORCH_CASE unset: run scripts/crosscheck_torch.sh (needs python3-torch)")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var c torchCase
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	const ways, size = 5, 28
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	m := &Conv4{InChannels: 1, Height: size, Width: size, Classes: ways}
	if err := m.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	for _, par := range p.List {
		v, dst := c.Params[par.Name], par.Value.Float64s()
		if len(v) != len(dst) {
			t.Fatalf("%s: %d values in the case, model has %d", par.Name, len(v), len(dst))
		}
		copy(dst, v)
	}
	leaf := func(name string, v []float64, shape ...int) *G.Node {
		return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name),
			G.WithValue(tensor.New(tensor.WithBacking(v), tensor.WithShape(shape...))))
	}
	xs, xq := leaf("xs", c.Xs, ways, 1, size, size), leaf("xq", c.Xq, ways, 1, size, size)
	ys, yq := leaf("ys", c.Ys, ways), leaf("yq", c.Yq, ways)
	var loss *G.Node
	var grads []*G.Node
	err = graph.Build(func() {
		loss = metaLoss(m, p, graph.CrossEntropy, xs, ys, xq, yq, c.Alpha, false)
		grads, err = graph.Grad(loss, p.Weights().Nodes...)
	})
	if err != nil {
		t.Fatal(err)
	}
	r, err := graph.NewRunner(append([]*G.Node{loss}, grads...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	if got := r.Scalar(loss); math.Abs(got-c.QueryLoss) > 1e-10*math.Abs(c.QueryLoss) {
		t.Errorf("query loss after one step: metagon %.12g, PyTorch %.12g", got, c.QueryLoss)
	}
	for i, par := range p.List {
		got, want := r.Float64s(grads[i]), c.Grads[par.Name]
		var diff, scale float64
		for k := range got {
			diff = math.Max(diff, math.Abs(got[k]-want[k]))
			scale = math.Max(scale, math.Abs(want[k]))
		}
		t.Logf("%-9s max |metagon − PyTorch| = %.2g (max |g| = %.2g)", par.Name, diff, scale)
		if diff > 1e-9*scale {
			t.Errorf("%s: meta-gradient differs from PyTorch's by %.3g (max |g| %.3g)", par.Name, diff, scale)
		}
	}
}
