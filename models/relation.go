package models

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// Relation is the relation module g of Relation Networks (Sung et al.,
// "Learning to Compare: Relation Network for Few-Shot Learning", CVPR
// 2018, Fig. 2): it scores how alike two examples are from their feature
// maps. A pair is the two maps concatenated in depth, C(f(xᵢ), f(xⱼ)), of
// shape (2C, H, W); g is two blocks of a 3×3 convolution with padding 1,
// batch norm with batch statistics, ReLU and 2×2 max-pool, then a ReLU
// layer of Hidden units and one sigmoid output, the relation score in
// (0, 1).
//
// On Omniglot, with Conv-4 keeping 64 maps of 7×7 (Conv4.Pools = 2), the
// blocks give 3×3 and then 1×1 maps, so the first layer is 64 → 8 as in
// the authors' code (whose embedding, without padding in its first two
// convolutions, gives 5×5 maps and then the same 2×2 and 1×1). Padding 1
// is what lets two poolings fit: without it 7×7 maps would shrink to
// nothing.
//
// Parameters, all prefixed "relation.": conv1.w (F, 2C, 3, 3), bn1.scale,
// bn1.shift (F), conv2.w (F, F, 3, 3), bn2.scale, bn2.shift, fc1.w
// (F·h·w, Hidden), fc1.b (Hidden), fc2.w (Hidden, 1), fc2.b (1). The
// convolutions have no bias: batch norm's mean would cancel it exactly.
//
// Relation implements Model on pairs: Forward maps (N, 2C, H, W) to
// scores (N, 1). Scores builds the pairs of every query with every class
// and scores them.
type Relation struct {
	// Channels, Height and Width give the shape (C, H, W) of one
	// example's feature maps; a pair has 2·Channels channels.
	Channels, Height, Width int
	// Filters is the number of filters of each block. If zero, a default
	// of 64 is used.
	Filters int
	// Hidden is the width of the hidden layer. If zero, a default of 8 is
	// used.
	Hidden int
}

// RelationPrefix starts the name of every parameter of Relation.
const RelationPrefix = "relation."

func (r *Relation) filters() int {
	if r.Filters == 0 {
		return 64
	}
	return r.Filters
}

func (r *Relation) hidden() int {
	if r.Hidden == 0 {
		return 8
	}
	return r.Hidden
}

// blockShapes returns the spatial sizes after the first and the second
// block.
func (r *Relation) blockShapes() (h1, w1, h2, w2 int) {
	h1, w1 = r.Height/2, r.Width/2
	return h1, w1, h1 / 2, w1 / 2
}

// Name describes the module, e.g. "relation-128x7x7-64filters-8hidden".
func (r *Relation) Name() string {
	return fmt.Sprintf("relation-%dx%dx%d-%dfilters-%dhidden", 2*r.Channels, r.Height, r.Width, r.filters(), r.hidden())
}

// Init adds the module's parameters to p, initialised as the authors'
// code does (its weights_init): convolution weights from N(0, 2/n) with
// n = 3·3·F (He's rule on the fan-out), batch-norm scales 1 and shifts 0,
// linear weights from N(0, 0.01²) and linear biases 1.
func (r *Relation) Init(p *graph.Params, seed uint64) error {
	if r.Channels < 1 || r.Filters < 0 || r.Hidden < 0 {
		return fmt.Errorf("init %s: channels %d, filters %d, hidden %d: want positive (filters and hidden 0: defaults)", r.Name(), r.Channels, r.Filters, r.Hidden)
	}
	_, _, h2, w2 := r.blockShapes()
	if h2 < 1 || w2 < 1 {
		return fmt.Errorf("init %s: feature maps %dx%d are too small for two 2×2 poolings", r.Name(), r.Height, r.Width)
	}
	f, hid := r.filters(), r.hidden()
	convStd := math.Sqrt(2 / float64(9*f))
	for _, par := range []struct {
		name  string
		shape []int
		init  graph.Initializer
	}{
		{"conv1.w", []int{f, 2 * r.Channels, 3, 3}, graph.Normal{Std: convStd}},
		{"bn1.scale", []int{f}, graph.Constant{Value: 1}},
		{"bn1.shift", []int{f}, graph.Zeros{}},
		{"conv2.w", []int{f, f, 3, 3}, graph.Normal{Std: convStd}},
		{"bn2.scale", []int{f}, graph.Constant{Value: 1}},
		{"bn2.shift", []int{f}, graph.Zeros{}},
		{"fc1.w", []int{f * h2 * w2, hid}, graph.Normal{Std: 0.01}},
		{"fc1.b", []int{hid}, graph.Constant{Value: 1}},
		{"fc2.w", []int{hid, 1}, graph.Normal{Std: 0.01}},
		{"fc2.b", []int{1}, graph.Constant{Value: 1}},
	} {
		name := RelationPrefix + par.name
		if n, ok := par.init.(graph.Normal); ok {
			n.Seed = graph.InitSeed(seed, name)
			par.init = n
		}
		if _, err := p.Add(name, par.shape, par.init); err != nil {
			return fmt.Errorf("init %s: %w", r.Name(), err)
		}
	}
	return nil
}

// Forward returns the relation scores (N, 1) of pairs (N, 2C, H, W).
func (r *Relation) Forward(wt graph.Weights, pairs *G.Node) *G.Node {
	s := pairs.Shape()
	if len(s) != 4 || s[1] != 2*r.Channels || s[2] != r.Height || s[3] != r.Width {
		panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: pairs of shape %v, want (N, %d, %d, %d)", r.Name(), s, 2*r.Channels, r.Height, r.Width)})
	}
	get := func(n string) *G.Node { return wt.MustGet(RelationPrefix + n) }
	h := pairs
	for i := 1; i <= 2; i++ {
		h = graph.Conv2d(h, get(fmt.Sprintf("conv%d.w", i)), 1)
		h = graph.ReLU(graph.BatchNorm(h, get(fmt.Sprintf("bn%d.scale", i)), get(fmt.Sprintf("bn%d.shift", i)), 0))
		h = graph.MaxPool2(h)
	}
	n := s[0]
	h = graph.Reshape(h, n, graph.Size(h.Shape())/n)
	h = graph.ReLU(Linear(h, get("fc1.w"), get("fc1.b")))
	return graph.Sigmoid(Linear(h, get("fc2.w"), get("fc2.b")))
}

// Pairs concatenates, in depth, the feature maps of every class with those
// of every query: classes (W, C, H, W′) or (W, C·H·W′) and queries (Q, …)
// give (Q·W, 2C, H, W′), pair q·W + c being C(classes[c], queries[q]) —
// the class's maps first, as in the authors' code. It is a broadcast of
// each side to (Q, W, C·H·W′) and a concatenation, so its derivative is a
// sum over the broadcast axis and slices: ordinary graph ops, which
// differentiate again.
func (r *Relation) Pairs(classes, queries *G.Node) *G.Node {
	d := r.Channels * r.Height * r.Width
	flat := func(x *G.Node, what string) *G.Node {
		s := x.Shape()
		if graph.Size(s) == 0 || len(s) < 2 || graph.Size(s[1:]) != d {
			panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: %s of shape %v, want (n, %d, %d, %d) or (n, %d)", r.Name(), what, s, r.Channels, r.Height, r.Width, d)})
		}
		return graph.Reshape(x, s[0], d)
	}
	c, q := flat(classes, "classes"), flat(queries, "queries")
	nc, nq := c.Shape()[0], q.Shape()[0]
	cs := graph.BroadcastTo(graph.Reshape(c, 1, nc, d), []int{nq, nc, d})
	qs := graph.BroadcastTo(graph.Reshape(q, nq, 1, d), []int{nq, nc, d})
	four := func(x *G.Node) *G.Node { return graph.Reshape(x, nq*nc, r.Channels, r.Height, r.Width) }
	return graph.Concat(1, four(cs), four(qs))
}

// Scores returns the relation scores (Q, W) of every query with every
// class: r[q, c] = g(C(classes[c], queries[q])).
func (r *Relation) Scores(wt graph.Weights, classes, queries *G.Node) *G.Node {
	pairs := r.Pairs(classes, queries)
	return graph.Reshape(r.Forward(wt, pairs), queries.Shape()[0], classes.Shape()[0])
}

// InputShape returns a pair's shape [2C H W].
func (r *Relation) InputShape() []int { return []int{2 * r.Channels, r.Height, r.Width} }

// OutputSize returns 1: one score per pair.
func (r *Relation) OutputSize() int { return 1 }

// FLOPs returns the floating-point operations of scoring n pairs, counting
// a multiply-add as two: the convolutions (3·3·C_in·F per output value)
// and the linear layers. Batch norm, ReLU, pooling, the sigmoid and the
// pairs' concatenation are a few operations per value and are left out.
func (r *Relation) FLOPs(n int) int {
	f, hid := r.filters(), r.hidden()
	h1, w1, h2, w2 := r.blockShapes()
	conv1 := 9 * 2 * r.Channels * f * r.Height * r.Width
	conv2 := 9 * f * f * h1 * w1
	fc := f*h2*w2*hid + hid
	return 2 * n * (conv1 + conv2 + fc)
}
