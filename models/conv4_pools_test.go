package models

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// conv4Reference builds Conv-4's embedding block by block from graph ops,
// pooling after the first pools blocks: what Forward must compute.
func conv4Reference(wt graph.Weights, x *G.Node, pools int) *G.Node {
	h := x
	for i := 1; i <= 4; i++ {
		h = graph.Conv2d(h, wt.MustGet(fmt.Sprintf("conv%d.w", i)), 1)
		h = graph.BatchNorm(h, wt.MustGet(fmt.Sprintf("bn%d.scale", i)), wt.MustGet(fmt.Sprintf("bn%d.shift", i)), 0)
		h = graph.ReLU(h)
		if i <= pools {
			h = graph.MaxPool2(h)
		}
	}
	n := h.Shape()[0]
	return graph.Reshape(h, n, graph.Size(h.Shape())/n)
}

// TestConv4Pools checks the embedding with 4 (the default), 2 (Relation
// Networks') and no pooling blocks: the registered model's shape, name and
// feature maps, and its output against the block-by-block reference, bit
// for bit.
func TestConv4Pools(t *testing.T) {
	const n, size, filters = 3, 20, 5
	for _, pools := range []int{0, 4, 2, 1, -1} {
		t.Run(fmt.Sprint("pools=", pools), func(t *testing.T) {
			m, err := New("conv4", Spec{Input: []int{1, size, size}, Embedding: true, Filters: filters, Pools: pools})
			if err != nil {
				t.Fatal(err)
			}
			c := m.(*Conv4)
			want := c.pools()
			if pools == 0 && want != 4 || pools < 0 && want != 0 || pools > 0 && want != pools {
				t.Fatalf("pools() = %d for Pools %d", want, pools)
			}
			side := size
			for i := 0; i < want; i++ {
				side /= 2
			}
			if fs := m.(Spatial).FeatureShape(); !slices.Equal(fs, []int{filters, side, side}) {
				t.Errorf("FeatureShape %v, want [%d %d %d]", fs, filters, side, side)
			}
			if m.OutputSize() != filters*side*side {
				t.Errorf("OutputSize %d, want %d", m.OutputSize(), filters*side*side)
			}
			if named := strings.Contains(m.Name(), "pools"); named != (want != 4) {
				t.Errorf("name %q: a pooling count other than 4, and only it, is in the name", m.Name())
			}

			g := G.NewGraph()
			p := graph.NewParams(g, tensor.Float64)
			if err := m.Init(p, 3); err != nil {
				t.Fatal(err)
			}
			x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(n, 1, size, size), G.WithName("x"))
			out, ref := m.Forward(p.Weights(), x), conv4Reference(p.Weights(), x, want)
			if !slices.Equal(out.Shape(), []int{n, m.OutputSize()}) {
				t.Fatalf("output shape %v, want (%d, %d)", out.Shape(), n, m.OutputSize())
			}
			r, err := graph.NewRunner(out, ref)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			xs := make([]float64, n*size*size)
			for i := range xs {
				xs[i] = rng.NormFloat64()
			}
			if err := r.Feed(x, xs); err != nil {
				t.Fatal(err)
			}
			if err := r.Run(); err != nil {
				t.Fatal(err)
			}
			if got, exp := r.Float64s(out), r.Float64s(ref); !slices.Equal(got, exp) {
				t.Errorf("Forward differs from the block-by-block reference")
			}
		})
	}
}

// TestConv4PoolsDefault checks that Pools 4 and the zero value are the
// same model: same name (checkpoints keep their keys), same parameters.
func TestConv4PoolsDefault(t *testing.T) {
	a, b := &Conv4{InChannels: 1, Height: 28, Width: 28}, &Conv4{InChannels: 1, Height: 28, Width: 28, Pools: 4}
	if a.Name() != b.Name() || a.Name() != "conv4-1x28x28-64filters-embedding" {
		t.Errorf("names %q and %q, want both conv4-1x28x28-64filters-embedding", a.Name(), b.Name())
	}
	pa, pb := graph.NewParams(G.NewGraph(), tensor.Float64), graph.NewParams(G.NewGraph(), tensor.Float64)
	if err := a.Init(pa, 1); err != nil {
		t.Fatal(err)
	}
	if err := b.Init(pb, 1); err != nil {
		t.Fatal(err)
	}
	for i, p := range pa.List {
		if q := pb.List[i]; p.Name != q.Name || !slices.Equal(p.Value.Float64s(), q.Value.Float64s()) {
			t.Errorf("parameter %s differs", p.Name)
		}
	}
}

// TestConv4PoolsRejected checks the errors for a pooling count the model
// cannot take.
func TestConv4PoolsRejected(t *testing.T) {
	for _, c := range []struct {
		name string
		spec Spec
		msg  string
	}{
		{"conv4", Spec{Pools: 5}, "4 blocks"},
		{"mlp", Spec{Pools: 2}, "no pooling"},
		{"conv4", Spec{Input: []int{1, 2, 2}, Pools: 2}, ""}, // New accepts; Init refuses
	} {
		m, err := New(c.name, c.spec)
		if c.msg != "" {
			if err == nil || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("New(%s, %+v): error %v, want one saying %q", c.name, c.spec, err, c.msg)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Init(graph.NewParams(G.NewGraph(), tensor.Float64), 1); err == nil || !strings.Contains(err.Error(), "too small for 2") {
			t.Errorf("Init of %s: error %v, want one saying the input is too small for 2 poolings", m.Name(), err)
		}
	}
	if err := (&Conv4{InChannels: 1, Height: 28, Width: 28, Pools: 6}).Init(graph.NewParams(G.NewGraph(), tensor.Float64), 1); err == nil {
		t.Error("Init with Pools 6: no error")
	}
}

// TestSpecOverride checks which fields Override takes.
func TestSpecOverride(t *testing.T) {
	s := Spec{Input: []int{1, 28, 28}, Outputs: 5, Embedding: true, Filters: 32, Init: "torch"}
	got := s.Override(Spec{Input: []int{3}, Outputs: 2, Pools: 2, Hidden: []int{7}, Activation: TanhActivation, BatchNorm: true})
	if !slices.Equal(got.Input, s.Input) || got.Outputs != 5 || !got.Embedding {
		t.Errorf("Override changed the shape: %+v", got)
	}
	if got.Filters != 32 || got.Init != "torch" || got.Pools != 2 || !slices.Equal(got.Hidden, []int{7}) || got.Activation != TanhActivation || !got.BatchNorm {
		t.Errorf("Override: %+v, want Filters 32, Init torch, Pools 2, Hidden [7], Activation tanh, BatchNorm", got)
	}
}
