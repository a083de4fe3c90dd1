package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// omniglotRelation returns the relation module over the feature maps of
// Conv-4 with two pooling blocks on Omniglot's 28×28 images.
func omniglotRelation(t *testing.T) (*Relation, Spatial) {
	t.Helper()
	m, err := New("conv4", Spec{Input: []int{1, 28, 28}, Embedding: true, Pools: 2})
	if err != nil {
		t.Fatal(err)
	}
	s, ok := m.(Spatial)
	if !ok {
		t.Fatalf("%s has no feature maps", m.Name())
	}
	fs := s.FeatureShape()
	return &Relation{Channels: fs[0], Height: fs[1], Width: fs[2]}, s
}

// TestRelationShapes checks the module on the paper's Omniglot shapes:
// 64 maps of 7×7 from the embedding (28 halved twice), pairs of 128
// channels, 3×3 and then 1×1 maps after the blocks, so that the hidden
// layer is 64·1·1 → 8; scores (Q, W) in (0, 1). It also checks the
// initialisation: batch-norm scales 1, shifts 0, linear biases 1, and
// convolution weights with the standard deviation √(2/(9F)).
func TestRelationShapes(t *testing.T) {
	r, emb := omniglotRelation(t)
	side := 28 / 2 / 2
	if fs := emb.FeatureShape(); !slices.Equal(fs, []int{64, side, side}) {
		t.Fatalf("embedding feature maps %v, want [64 %d %d]", fs, side, side)
	}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := r.Init(p, 4); err != nil {
		t.Fatal(err)
	}
	after := side / 2 / 2
	want := map[string][]int{
		"conv1.w": {64, 128, 3, 3}, "conv2.w": {64, 64, 3, 3}, "bn1.scale": {64}, "bn2.shift": {64},
		"fc1.w": {64 * after * after, 8}, "fc1.b": {8}, "fc2.w": {8, 1}, "fc2.b": {1},
	}
	for n, s := range want {
		par := p.Get(RelationPrefix + n)
		if par == nil {
			t.Fatalf("no parameter %s", RelationPrefix+n)
		}
		if !slices.Equal(par.Value.Shape(), s) {
			t.Errorf("%s: shape %v, want %v", n, par.Value.Shape(), s)
		}
	}
	if len(p.List) != 10 {
		t.Errorf("%d parameters, want 10", len(p.List))
	}
	for n, v := range map[string]float64{"bn1.scale": 1, "bn2.scale": 1, "bn1.shift": 0, "bn2.shift": 0, "fc1.b": 1, "fc2.b": 1} {
		for _, x := range p.Get(RelationPrefix + n).Value.Float64s() {
			if x != v {
				t.Fatalf("%s holds %v, want all %v", n, x, v)
			}
		}
	}
	for _, n := range []string{"conv1.w", "conv2.w"} {
		w := p.Get(RelationPrefix + n).Value.Float64s()
		ss := 0.0
		for _, x := range w {
			ss += x * x
		}
		std, wantStd := math.Sqrt(ss/float64(len(w))), math.Sqrt(2/float64(9*64))
		// The sample standard deviation of n normal draws is within 5/√(2n)
		// of the truth, relatively, but for a five-sigma accident.
		if math.Abs(std/wantStd-1) > 5/math.Sqrt(2*float64(len(w))) {
			t.Errorf("%s: standard deviation %.5f, want %.5f", n, std, wantStd)
		}
	}

	const ways, queries = 5, 3
	rng := rand.New(rand.NewPCG(3, 3))
	classes := input(g, rng, "classes", ways, r.Channels*r.Height*r.Width)
	qs := input(g, rng, "queries", queries, r.Channels, r.Height, r.Width)
	scores := r.Scores(p.Weights(), classes, qs)
	if !slices.Equal(scores.Shape(), []int{queries, ways}) {
		t.Fatalf("scores of shape %v, want (%d, %d)", scores.Shape(), queries, ways)
	}
	run, err := graph.NewRunner(scores)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Run(); err != nil {
		t.Fatal(err)
	}
	for _, s := range run.Float64s(scores) {
		if !(s > 0 && s < 1) {
			t.Fatalf("score %v is not in (0, 1)", s)
		}
	}
}

// TestRelationPairs checks the pairs element by element: pair q·W + c is
// class c's maps followed, in depth, by query q's.
func TestRelationPairs(t *testing.T) {
	r := &Relation{Channels: 2, Height: 3, Width: 4}
	const ways, queries = 3, 4
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(1, 1))
	c := input(g, rng, "classes", ways, r.Channels, r.Height, r.Width)
	q := input(g, rng, "queries", queries, r.Channels*r.Height*r.Width)
	pairs := r.Pairs(c, q)
	if !slices.Equal(pairs.Shape(), []int{queries * ways, 2 * r.Channels, r.Height, r.Width}) {
		t.Fatalf("pairs of shape %v", pairs.Shape())
	}
	run, err := graph.NewRunner(pairs)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Run(); err != nil {
		t.Fatal(err)
	}
	got, cv, qv := run.Float64s(pairs), c.Value().Data().([]float64), q.Value().Data().([]float64)
	d := r.Channels * r.Height * r.Width
	for qi := 0; qi < queries; qi++ {
		for ci := 0; ci < ways; ci++ {
			pair := got[(qi*ways+ci)*2*d : (qi*ways+ci+1)*2*d]
			if !slices.Equal(pair[:d], cv[ci*d:(ci+1)*d]) || !slices.Equal(pair[d:], qv[qi*d:(qi+1)*d]) {
				t.Fatalf("pair (query %d, class %d) is not the class's maps followed by the query's", qi, ci)
			}
		}
	}
}

// TestRelationGradient checks the first and second derivatives of an MSE
// of the scores, through the pairs' broadcast and concatenation, batch
// norm, max-pool and the sigmoid, with respect to every parameter and to
// the class and query feature maps, against finite differences in float64.
// The second order is the gradient of Σₖ vₖ⊙∂loss/∂wₖ for fixed random vₖ.
func TestRelationGradient(t *testing.T) {
	r := &Relation{Channels: 2, Height: 5, Width: 4, Filters: 3, Hidden: 4}
	const ways, queries = 3, 2
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := r.Init(p, 9); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	// Larger hidden weights than the paper's N(0, 0.01²), so that every
	// layer's contribution is well above the finite differences' noise.
	for _, n := range []string{"fc1.w", "fc2.w", "bn1.shift", "bn2.shift"} {
		v := p.Get(RelationPrefix + n).Value.Float64s()
		for i := range v {
			v[i] = rng.NormFloat64()
		}
	}
	classes := input(g, rng, "classes", ways, r.Channels, r.Height, r.Width)
	qs := input(g, rng, "queries", queries, r.Channels, r.Height, r.Width)
	target := input(g, rng, "target", queries, ways)
	wrt := append(p.Nodes(), classes, qs)
	var l1, l2 *G.Node
	err := graph.Build(func() {
		l1 = graph.MSE(r.Scores(p.Weights(), classes, qs), target)
		gs, err := graph.Grad(l1, wrt...)
		if err != nil {
			panic(&graph.ShapeError{Msg: err.Error()})
		}
		for k, gk := range gs {
			term := graph.Sum(graph.Mul(gk, input(g, rng, fmt.Sprintf("v%d", k), gk.Shape()...)))
			if l2 == nil {
				l2 = term
			} else {
				l2 = graph.Add(l2, term)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for order, l := range []*G.Node{l1, l2} {
		res, err := graph.CheckGradient(l, wrt, graph.CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("order %d: max rel err %.2e over %d values", order+1, res.MaxRelErr, res.Checked)
		if res.MaxRelErr > 1e-6 {
			t.Errorf("order %d: max rel err %.2e > 1e-6 (%s)", order+1, res.MaxRelErr, res.Worst)
		}
	}
}

// TestRelationFLOPs checks FLOPs against a count from the parameters'
// shapes: 2 · (outputs · inputs per output) for each convolution and
// linear layer, the convolutions' outputs being as large as their inputs
// (padding 1) and the second's input a pooled first output.
func TestRelationFLOPs(t *testing.T) {
	r, _ := omniglotRelation(t)
	p := graph.NewParams(G.NewGraph(), tensor.Float64)
	if err := r.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	shape := func(n string) []int { return p.Get(RelationPrefix + n).Value.Shape() }
	const pairs = 75 * 5
	count := 0
	h, w := r.Height, r.Width
	for _, n := range []string{"conv1.w", "conv2.w"} {
		s := shape(n)
		count += 2 * pairs * (s[0] * h * w) * (s[1] * s[2] * s[3])
		h, w = h/2, w/2
	}
	for _, n := range []string{"fc1.w", "fc2.w"} {
		s := shape(n)
		count += 2 * pairs * s[0] * s[1]
	}
	if got := r.FLOPs(pairs); got != count {
		t.Errorf("FLOPs(%d) = %d, want %d", pairs, got, count)
	}
}

// TestRelationRejects checks the errors for shapes the module cannot take.
func TestRelationRejects(t *testing.T) {
	p := graph.NewParams(G.NewGraph(), tensor.Float64)
	if err := (&Relation{Channels: 4, Height: 3, Width: 7}).Init(p, 1); err == nil {
		t.Error("Init with 3×7 maps: no error (two poolings leave 0×1)")
	}
	if err := (&Relation{Height: 7, Width: 7}).Init(p, 1); err == nil {
		t.Error("Init without channels: no error")
	}
	r := &Relation{Channels: 2, Height: 4, Width: 4}
	g := G.NewGraph()
	rng := rand.New(rand.NewPCG(1, 1))
	err := graph.Build(func() { r.Pairs(input(g, rng, "c", 2, 3, 4, 4), input(g, rng, "q", 2, 32)) })
	if err == nil {
		t.Error("Pairs of 3-channel classes: no error")
	}
}
