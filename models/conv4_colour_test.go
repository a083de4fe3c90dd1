package models

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestConv4ColourImages: Conv-4 built for CIFAR's 3×32×32 images has
// 3-channel first filters, feature maps of 64×2×2 after four poolings and
// a head over their 256 values; flat and (N, C, H, W) inputs give the same
// logits as the block-by-block reference with the head applied.
func TestConv4ColourImages(t *testing.T) {
	const n, classes = 2, 5
	m, err := New("conv4", Spec{Input: []int{3, 32, 32}, Outputs: classes})
	if err != nil {
		t.Fatal(err)
	}
	c := m.(*Conv4)
	side := 32 / 2 / 2 / 2 / 2
	feat := 64 * side * side
	if m.Name() != "conv4-3x32x32-64filters-5classes" || !slices.Equal(c.FeatureShape(), []int{64, side, side}) || m.OutputSize() != classes {
		t.Fatalf("%s: features %v, %d outputs", m.Name(), c.FeatureShape(), m.OutputSize())
	}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := m.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]int{
		"conv1.w": {64, 3, 3, 3}, "conv2.w": {64, 64, 3, 3}, "conv4.w": {64, 64, 3, 3},
		"fc.w": {feat, classes}, "fc.b": {classes},
	} {
		if got := p.Get(name).Value.Shape(); !slices.Equal(got, want) {
			t.Errorf("%s has shape %v, want %v", name, got, want)
		}
	}
	if feat != 256 {
		t.Errorf("head fan-in %d, want 64·2·2 = 256", feat)
	}
	emb, err := New("conv4", Spec{Input: []int{3, 32, 32}, Embedding: true})
	if err != nil || emb.OutputSize() != feat {
		t.Errorf("embedding: %v, %d outputs, want %d", err, emb.OutputSize(), feat)
	}

	flat := G.NewMatrix(g, tensor.Float64, G.WithShape(n, 3*32*32), G.WithName("flat"))
	img := G.NewTensor(g, tensor.Float64, 4, G.WithShape(n, 3, 32, 32), G.WithName("img"))
	out, out4 := m.Forward(p.Weights(), flat), m.Forward(p.Weights(), img)
	ref := Linear(conv4Reference(p.Weights(), img, 4), p.Weights().MustGet("fc.w"), p.Weights().MustGet("fc.b"))
	r, err := graph.NewRunner(out, out4, ref)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	xs := make([]float64, n*3*32*32)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	if err := r.Feed(flat, xs); err != nil {
		t.Fatal(err)
	}
	if err := r.Feed(img, xs); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	a, b, want := r.Float64s(out), r.Float64s(out4), r.Float64s(ref)
	if len(a) != n*classes || !slices.Equal(a, want) || !slices.Equal(b, want) {
		t.Errorf("logits %v and %v, reference %v", a, b, want)
	}
}

// TestConv4ColourGradient checks the gradient of a small Conv-4 on
// 3-channel images (3×8×8, 2 filters, a head of 3 classes) under the
// cross-entropy loss against central finite differences, for every
// parameter and the input.
func TestConv4ColourGradient(t *testing.T) {
	const n = 3
	m, err := New("conv4", Spec{Input: []int{3, 8, 8}, Outputs: 3, Filters: 2, Pools: 3})
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := m.Init(p, 2); err != nil {
		t.Fatal(err)
	}
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(n, 3, 8, 8), G.WithName("x"))
	y := G.NewVector(g, tensor.Float64, G.WithShape(n), G.WithName("y"))
	var loss *G.Node
	if err := graph.Build(func() { loss = graph.CrossEntropy(m.Forward(p.Weights(), x), y) }); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, n*3*8*8)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	res, err := graph.CheckGradient(loss, append(p.Nodes(), x), graph.CheckOptions{
		Feeds: map[*G.Node][]float64{x: xs, y: {0, 2, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("max rel err %.2e over %d elements", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-5 {
		t.Errorf("gradient: max rel err %.2e (%s)", res.MaxRelErr, res.Worst)
	}
}
