package graph

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// distinct replaces values by 0.1·rank (a random permutation of 0, 0.1,
// 0.2, ...), so every 2×2 window has one maximum, well separated from the
// rest: the ±1e-5 steps of the finite differences never flip an argmax.
func distinct(_ int, v []float64) {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	for rank, i := range idx {
		v[i] = 0.1 * float64(rank)
	}
}

// distinctInput applies distinct to input i only.
func distinctInput(i int) func(int, []float64) {
	return func(j int, v []float64) {
		if j == i {
			distinct(j, v)
		}
	}
}

// testGeom is the im2col/col2im geometry of the single-op cases below:
// x (2, 3, 5, 4), kernel 3×2, padding 1 → cols (18, 50).
var testGeom = newConvGeom("test", tensor.Shape{2, 3, 5, 4}, 3, 2, 1)

// cmajorGeom reads a channel-major batch (C=2, N=3, 4×5) with a 3×3 kernel
// and padding 1.
var cmajorGeom = func() convGeom {
	g := newConvGeom("test", tensor.Shape{3, 2, 4, 5}, 3, 3, 1)
	g.cmajor = true
	return g
}()

// nnOpCases covers convolution, pooling, batch norm and distances.
var nnOpCases = []opCase{
	{name: "im2col k3x2 p1", shapes: [][]int{{2, 3, 5, 4}}, build: func(in []*G.Node) *G.Node { return im2col(in[0], 3, 2, 1) }},
	{name: "im2col k2x3 p0 squared", shapes: [][]int{{1, 2, 4, 5}}, build: func(in []*G.Node) *G.Node { return Square(im2col(in[0], 2, 3, 0)) }},
	{name: "col2im k3x2 p1", shapes: [][]int{testGeom.colsShape()}, build: func(in []*G.Node) *G.Node { return col2im(in[0], testGeom) }},
	{name: "col2im squared", shapes: [][]int{testGeom.colsShape()}, build: func(in []*G.Node) *G.Node { return Square(col2im(in[0], testGeom)) }},
	{name: "conv2d pad 0", shapes: [][]int{{2, 3, 5, 4}, {4, 3, 3, 2}}, build: func(in []*G.Node) *G.Node { return Conv2d(in[0], in[1], 0) }},
	{name: "conv2d pad 1", shapes: [][]int{{2, 3, 5, 4}, {4, 3, 3, 2}}, build: func(in []*G.Node) *G.Node { return Conv2d(in[0], in[1], 1) }},
	{name: "conv2d one image pad 2", shapes: [][]int{{1, 2, 3, 4}, {3, 2, 2, 3}}, build: func(in []*G.Node) *G.Node { return Conv2d(in[0], in[1], 2) }},
	{name: "conv2d then square", shapes: [][]int{{2, 3, 5, 4}, {4, 3, 3, 2}}, build: func(in []*G.Node) *G.Node { return Square(Conv2d(in[0], in[1], 1)) }},
	{name: "conv2d bias tanh", shapes: [][]int{{2, 2, 4, 4}, {3, 2, 3, 3}, {1, 3, 1, 1}}, build: func(in []*G.Node) *G.Node {
		return Tanh(Add(Conv2d(in[0], in[1], 1), in[2]))
	}},
	// The fused product and its rules (ops_convmm.go): square kernels with
	// p ≤ kh−1 take the flipped-filter input gradient, others col2im.
	{name: "conv2d 3x3 pad 1 squared (flipped-filter input gradient)", shapes: [][]int{{2, 3, 5, 4}, {4, 3, 3, 3}}, build: func(in []*G.Node) *G.Node { return Square(Conv2d(in[0], in[1], 1)) }},
	{name: "conv2d 3x3 pad 0 squared", shapes: [][]int{{2, 2, 5, 6}, {3, 2, 3, 3}}, build: func(in []*G.Node) *G.Node { return Square(Conv2d(in[0], in[1], 0)) }},
	{name: "conv2d 2x2 pad 1 squared", shapes: [][]int{{3, 2, 3, 4}, {2, 2, 2, 2}}, build: func(in []*G.Node) *G.Node { return Square(Conv2d(in[0], in[1], 1)) }},
	{name: "conv2d 3x3 pad 2 squared (col2im input gradient)", shapes: [][]int{{1, 2, 3, 3}, {2, 2, 3, 3}}, build: func(in []*G.Node) *G.Node { return Square(Conv2d(in[0], in[1], 2)) }},
	{name: "convMM channel-major squared", shapes: [][]int{{3, 2 * 9}, {2, 3, 4, 5}}, build: func(in []*G.Node) *G.Node {
		return Square(convMM(in[0], in[1], cmajorGeom))
	}},
	{name: "convWGrad squared", shapes: [][]int{{4, 2 * 4 * 5}, {2, 3, 4, 5}}, build: func(in []*G.Node) *G.Node {
		return Square(convWGrad(in[0], in[1], newConvGeom("test", tensor.Shape{2, 3, 4, 5}, 3, 3, 1)))
	}},
	{name: "convWGrad channel-major squared", shapes: [][]int{{4, 3 * 4 * 5}, {2, 3, 4, 5}}, build: func(in []*G.Node) *G.Node {
		return Square(convWGrad(in[0], in[1], cmajorGeom))
	}},
	{name: "flipT squared", shapes: [][]int{{3, 2 * 2 * 3}}, build: func(in []*G.Node) *G.Node { return Square(flipT(in[0], 3, 2, 2, 3)) }},
	{name: "maxpool2 (2,3,4,6)", shapes: [][]int{{2, 3, 4, 6}}, fill: distinct, build: func(in []*G.Node) *G.Node { return MaxPool2(in[0]) }},
	{name: "maxpool2 odd (1,2,5,5)", shapes: [][]int{{1, 2, 5, 5}}, fill: distinct, build: func(in []*G.Node) *G.Node { return MaxPool2(in[0]) }},
	{name: "maxpool2 squared", shapes: [][]int{{2, 3, 4, 6}}, fill: distinct, build: func(in []*G.Node) *G.Node { return Square(MaxPool2(in[0])) }},
	{name: "maxpool2 of square, odd", shapes: [][]int{{1, 2, 5, 5}}, fill: distinct, build: func(in []*G.Node) *G.Node { return Mul(MaxPool2(Square(in[0])), MaxPool2(in[0])) }},
	{name: "maxpool2 of relu (pooled first)", shapes: [][]int{{2, 3, 4, 5}}, fill: func(i int, v []float64) {
		distinct(i, v)
		for j := range v {
			v[j] -= 0.1*float64(len(v)/2) + 0.05 // half negative, none near 0
		}
	}, build: func(in []*G.Node) *G.Node { return Square(MaxPool2(ReLU(in[0]))) }},
	{name: "pool gather at argmax", shapes: [][]int{{2, 2, 4, 5}, {2, 2, 4, 5}}, fixed: []int{1}, fill: distinctInput(1), build: func(in []*G.Node) *G.Node {
		return Square(gatherAt(in[0], poolArgmax(in[1])))
	}},
	{name: "pool gather", shapes: [][]int{{2, 2, 4, 5}, {2, 2, 4, 5}}, fixed: []int{1}, fill: distinctInput(1), build: func(in []*G.Node) *G.Node {
		return Square(poolGather(in[0], in[1]))
	}},
	{name: "pool scatter", shapes: [][]int{{2, 2, 2, 2}, {2, 2, 5, 4}}, fixed: []int{1}, fill: distinctInput(1), build: func(in []*G.Node) *G.Node {
		return Square(poolScatter(in[0], in[1]))
	}},
	{name: "conv pool squared", shapes: [][]int{{2, 2, 5, 5}, {2, 2, 2, 2}}, fill: func(i int, v []float64) {
		if i == 0 {
			distinct(i, v)
		} else {
			positive(i, v) // positive filters on distinct positive pixels keep the argmax stable
		}
	}, build: func(in []*G.Node) *G.Node { return Square(MaxPool2(Conv2d(in[0], in[1], 0))) }},
	{name: "batchnorm NCHW squared", shapes: [][]int{{4, 3, 3, 3}, {3}, {3}}, build: func(in []*G.Node) *G.Node {
		return Square(BatchNorm(in[0], in[1], in[2], 0))
	}},
	{name: "batchnorm NCHW tanh", shapes: [][]int{{4, 3, 3, 3}, {3}, {3}}, build: func(in []*G.Node) *G.Node {
		return Tanh(BatchNorm(in[0], in[1], in[2], 1e-3))
	}},
	{name: "batchnorm 2-D tanh", shapes: [][]int{{5, 4}, {4}, {4}}, build: func(in []*G.Node) *G.Node {
		return Tanh(BatchNorm(in[0], in[1], in[2], 0))
	}},
	{name: "batchnorm 2-D no affine", shapes: [][]int{{5, 4}}, build: func(in []*G.Node) *G.Node {
		return Mul(BatchNorm(in[0], nil, nil, 0), in[0])
	}},
	{name: "batchnorm NCHW shift only", shapes: [][]int{{3, 2, 2, 3}, {2}}, build: func(in []*G.Node) *G.Node {
		return Square(BatchNorm(in[0], nil, in[1], 0))
	}},
	{name: "batchnorm NCHW scale only", shapes: [][]int{{3, 2, 2, 3}, {2}}, build: func(in []*G.Node) *G.Node {
		return Square(BatchNorm(in[0], in[1], nil, 0))
	}},
	// BatchNormStats's statistics (mean, biased variance) as functions of x
	{name: "batchnorm stats NCHW", shapes: [][]int{{4, 3, 2, 3}, {3}, {3}}, build: func(in []*G.Node) *G.Node {
		y, mean, variance := BatchNormStats(in[0], in[1], in[2], 0)
		return Add(Sum(Square(y)), Sum(Mul(mean, Tanh(variance))))
	}},
	{name: "batchnorm stats 2-D variance", shapes: [][]int{{5, 4}}, build: func(in []*G.Node) *G.Node {
		_, mean, variance := BatchNormStats(in[0], nil, nil, 1e-3)
		return Concat(0, Square(mean), variance)
	}},
	// BatchNormWith: running statistics in place of the batch's (variance
	// positive), differentiated in every input
	{name: "batchnorm with statistics NCHW", shapes: [][]int{{3, 2, 2, 3}, {2}, {2}, {2}, {2}}, fill: func(i int, v []float64) {
		if i == 2 {
			positive(i, v)
		}
	}, build: func(in []*G.Node) *G.Node {
		return Tanh(BatchNormWith(in[0], in[1], in[2], in[3], in[4], 0))
	}},
	{name: "batchnorm with statistics 2-D no affine", shapes: [][]int{{5, 4}, {4}, {4}}, fill: func(i int, v []float64) {
		if i == 2 {
			positive(i, v)
		}
	}, build: func(in []*G.Node) *G.Node {
		return Mul(BatchNormWith(in[0], in[1], in[2], nil, nil, 1e-3), in[0])
	}},
	{name: "batchnorm with statistics NCHW scale only", shapes: [][]int{{2, 3, 2, 2}, {3}, {3}, {3}}, fill: func(i int, v []float64) {
		if i == 2 {
			positive(i, v)
		}
	}, build: func(in []*G.Node) *G.Node {
		return Square(BatchNormWith(in[0], in[1], in[2], in[3], nil, 0))
	}},
	{name: "bnstats NCHW", shapes: [][]int{{4, 3, 2, 3}}, build: func(in []*G.Node) *G.Node {
		return Square(bnStats(bnTestGeom(in[0]), in[0]))
	}},
	{name: "bnstats 2-D", shapes: [][]int{{5, 4}}, build: func(in []*G.Node) *G.Node {
		return Square(bnStats(bnTestGeom(in[0]), in[0]))
	}},
	{name: "bnsums NCHW", shapes: [][]int{{4, 3, 2, 3}, {4, 3, 2, 3}}, build: func(in []*G.Node) *G.Node {
		g := bnTestGeom(in[1])
		return Square(bnSums(g, in[0], in[1], bnStats(g, in[1])))
	}},
	{name: "bnsums 2-D", shapes: [][]int{{5, 4}, {5, 4}}, build: func(in []*G.Node) *G.Node {
		g := bnTestGeom(in[1])
		return Square(bnSums(g, in[0], in[1], bnStats(g, in[1])))
	}},
	{name: "bngradx NCHW", shapes: [][]int{{4, 3, 2, 3}, {4, 3, 2, 3}, {3}}, build: func(in []*G.Node) *G.Node {
		g := bnTestGeom(in[1])
		st := bnStats(g, in[1])
		return Square(bnGradX(g, in[0], in[1], st, bnSums(g, in[0], in[1], st), in[2]))
	}},
	{name: "bngradx 2-D no scale", shapes: [][]int{{5, 4}, {5, 4}}, build: func(in []*G.Node) *G.Node {
		g := bnTestGeom(in[1])
		st := bnStats(g, in[1])
		return Tanh(bnGradX(g, in[0], in[1], st, bnSums(g, in[0], in[1], st), nil))
	}},
	{name: "batchnorm grad of grad", shapes: [][]int{{3, 2, 2, 2}, {2}, {2}}, build: func(in []*G.Node) *G.Node {
		// a gradient of BatchNorm inside the function: its derivatives
		// reach third order through bnGradX's composed rule
		l := Sum(Square(Tanh(BatchNorm(in[0], in[1], in[2], 0))))
		gs, err := Grad(l, in[0])
		if err != nil {
			panic(shapeErrorf("%v", err))
		}
		return Mul(gs[0], in[0])
	}},
	{name: "relugrad", shapes: [][]int{{4, 3}, {4, 3}}, fill: func(i int, v []float64) {
		if i == 1 {
			awayFromZero(i, v)
		}
	}, build: func(in []*G.Node) *G.Node { return Square(reluGrad(in[0], in[1])) }},
	// dropout with a fixed mask (input 1, not differentiated)
	{name: "dropout p=0.3", shapes: [][]int{{4, 5}, {4, 5}}, fixed: []int{1}, fill: dropoutMaskInput(1, 0.3), build: func(in []*G.Node) *G.Node {
		return Dropout(in[0], in[1], 0.3)
	}},
	{name: "dropout squared", shapes: [][]int{{4, 5}, {4, 5}}, fixed: []int{1}, fill: dropoutMaskInput(1, 0.5), build: func(in []*G.Node) *G.Node {
		return Square(Dropout(in[0], in[1], 0.5))
	}},
	{name: "dropout in a tanh layer", shapes: [][]int{{3, 4}, {4, 6}, {3, 4}}, fixed: []int{2}, fill: dropoutMaskInput(2, 0.2), build: func(in []*G.Node) *G.Node {
		return Tanh(MatMul(Dropout(Tanh(in[0]), in[2], 0.2), in[1]))
	}},
	{name: "squared distances", shapes: [][]int{{3, 4}, {5, 4}}, build: func(in []*G.Node) *G.Node { return SquaredDistances(in[0], in[1]) }},
	{name: "squared distances log-softmax", shapes: [][]int{{3, 4}, {5, 4}}, build: func(in []*G.Node) *G.Node {
		return LogSoftmax(Neg(SquaredDistances(in[0], in[1])))
	}},
}

func TestNNOpGradients(t *testing.T) {
	for _, c := range nnOpCases {
		t.Run(c.name, func(t *testing.T) { checkOp(t, c) })
	}
}

// dtLeaf is a leaf of element type dt holding vals.
func dtLeaf(g *G.ExprGraph, dt tensor.Dtype, name string, shape []int, vals []float64) *G.Node {
	var v *tensor.Dense
	if dt == tensor.Float64 {
		v = tensor.New(tensor.WithBacking(append([]float64(nil), vals...)), tensor.WithShape(shape...))
	} else {
		f := make([]float32, len(vals))
		for i, x := range vals {
			f[i] = float32(x)
		}
		v = tensor.New(tensor.WithBacking(f), tensor.WithShape(shape...))
	}
	return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

func randomVals(rng *rand.Rand, shape ...int) []float64 {
	v := make([]float64, size(tensor.Shape(shape)))
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	return v
}

// evalNodes builds nodes with build (panicking ShapeErrors fail the test),
// runs them and returns their values as float64.
func evalNodes(t *testing.T, build func() []*G.Node) [][]float64 {
	t.Helper()
	var outs []*G.Node
	if err := Build(func() { outs = build() }); err != nil {
		t.Fatalf("build: %v", err)
	}
	r, err := NewRunner(outs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	res := make([][]float64, len(outs))
	for i, o := range outs {
		res[i] = append([]float64(nil), r.Float64s(o)...)
	}
	return res
}

// tolFor is the forward-value tolerance (relative, with an absolute floor of
// 1) for each element type.
func tolFor(dt tensor.Dtype) float64 {
	if dt == tensor.Float64 {
		return 1e-12
	}
	return 2e-5
}

func compareVals(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(got[i] - want[i]); d > tol*math.Max(1, math.Abs(want[i])) || math.IsNaN(got[i]) {
			t.Fatalf("%s: element %d: got %.9g, want %.9g", what, i, got[i], want[i])
		}
	}
}

var testDtypes = []tensor.Dtype{tensor.Float64, tensor.Float32}

// naiveConv is the direct 7-loop convolution.
func naiveConv(x []float64, xs []int, w []float64, ws []int, p int) ([]float64, []int) {
	n, c, h, wd := xs[0], xs[1], xs[2], xs[3]
	f, kh, kw := ws[0], ws[2], ws[3]
	ho, wo := h+2*p-kh+1, wd+2*p-kw+1
	out := make([]float64, n*f*ho*wo)
	for in := 0; in < n; in++ {
		for fi := 0; fi < f; fi++ {
			for i := 0; i < ho; i++ {
				for j := 0; j < wo; j++ {
					var s float64
					for ci := 0; ci < c; ci++ {
						for ki := 0; ki < kh; ki++ {
							for kj := 0; kj < kw; kj++ {
								ii, jj := i+ki-p, j+kj-p
								if ii < 0 || ii >= h || jj < 0 || jj >= wd {
									continue
								}
								s += w[((fi*c+ci)*kh+ki)*kw+kj] * x[((in*c+ci)*h+ii)*wd+jj]
							}
						}
					}
					out[((in*f+fi)*ho+i)*wo+j] = s
				}
			}
		}
	}
	return out, []int{n, f, ho, wo}
}

func TestConv2dForward(t *testing.T) {
	cases := []struct {
		xs, ws []int
		pad    int
	}{
		{[]int{2, 3, 5, 4}, []int{4, 3, 3, 2}, 0},
		{[]int{2, 3, 5, 4}, []int{4, 3, 3, 2}, 1},
		{[]int{1, 2, 6, 7}, []int{3, 2, 3, 3}, 1},
		{[]int{3, 1, 2, 3}, []int{2, 1, 4, 5}, 2}, // kernel larger than the image
		{[]int{2, 2, 4, 4}, []int{5, 2, 1, 1}, 0},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		x, w := randomVals(rng, c.xs...), randomVals(rng, c.ws...)
		want, wantShape := naiveConv(x, c.xs, w, c.ws, c.pad)
		for _, dt := range testDtypes {
			name := fmt.Sprintf("x%v w%v pad %d %v", c.xs, c.ws, c.pad, dt)
			var shape tensor.Shape
			got := evalNodes(t, func() []*G.Node {
				g := G.NewGraph()
				y := Conv2d(dtLeaf(g, dt, "x", c.xs, x), dtLeaf(g, dt, "w", c.ws, w), c.pad)
				shape = y.Shape()
				return []*G.Node{y}
			})
			if !shape.Eq(tensor.Shape(wantShape)) {
				t.Fatalf("%s: shape %v, want %v", name, shape, wantShape)
			}
			compareVals(t, name, got[0], want, tolFor(dt))
		}
	}
}

// TestIm2colAdjoint checks ⟨im2col(x), c⟩ = ⟨x, col2im(c)⟩ for random x, c.
func TestIm2colAdjoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, geo := range []convGeom{
		testGeom,
		newConvGeom("test", tensor.Shape{1, 2, 3, 3}, 3, 3, 2),
		newConvGeom("test", tensor.Shape{2, 1, 6, 2}, 1, 2, 0),
	} {
		xs := []int{geo.n, geo.c, geo.h, geo.w}
		x, cv := randomVals(rng, xs...), randomVals(rng, geo.colsShape()...)
		for _, dt := range testDtypes {
			got := evalNodes(t, func() []*G.Node {
				g := G.NewGraph()
				return []*G.Node{
					im2col(dtLeaf(g, dt, "x", xs, x), geo.kh, geo.kw, geo.p),
					col2im(dtLeaf(g, dt, "c", geo.colsShape(), cv), geo),
				}
			})
			var lhs, rhs float64
			for i, v := range got[0] {
				lhs += v * cv[i]
			}
			for i, v := range got[1] {
				rhs += v * x[i]
			}
			if math.Abs(lhs-rhs) > tolFor(dt)*10*math.Max(1, math.Abs(lhs)) {
				t.Errorf("%v %v: ⟨im2col x, c⟩ = %.12g but ⟨x, col2im c⟩ = %.12g", geo, dt, lhs, rhs)
			}
		}
	}
}

// TestIm2colHashKeepsKernels: on a (1, 2, 3, 7) image, a 1×4 and a 2×2
// kernel both give columns of shape (8, 12), so only the op's parameters
// tell the two nodes apart; Gorgonia must not merge them.
func TestIm2colHashKeepsKernels(t *testing.T) {
	g := G.NewGraph()
	x := leaf(g, "x", []int{1, 2, 3, 7}, make([]float64, 42))
	var a, b *G.Node
	if err := Build(func() { a, b = im2col(x, 1, 4, 0), im2col(x, 2, 2, 0) }); err != nil {
		t.Fatal(err)
	}
	if !a.Shape().Eq(b.Shape()) {
		t.Fatalf("test setup: shapes %v and %v differ", a.Shape(), b.Shape())
	}
	if a == b {
		t.Fatal("im2col with kernels 1×4 and 2×2 were merged into one node")
	}
}

func naivePool(x []float64, s []int) []float64 {
	ho, wo := s[2]/2, s[3]/2
	out := make([]float64, 0, s[0]*s[1]*ho*wo)
	for q := 0; q < s[0]*s[1]; q++ {
		for i := 0; i < ho; i++ {
			for j := 0; j < wo; j++ {
				m := math.Inf(-1)
				for di := 0; di < 2; di++ {
					for dj := 0; dj < 2; dj++ {
						m = math.Max(m, x[(q*s[2]+2*i+di)*s[3]+2*j+dj])
					}
				}
				out = append(out, m)
			}
		}
	}
	return out
}

func TestMaxPool2Forward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, s := range [][]int{{2, 3, 4, 6}, {1, 2, 5, 5}, {3, 1, 2, 7}} {
		x := randomVals(rng, s...)
		want := naivePool(x, s)
		for _, dt := range testDtypes {
			got := evalNodes(t, func() []*G.Node {
				g := G.NewGraph()
				return []*G.Node{MaxPool2(dtLeaf(g, dt, "x", s, x))}
			})
			compareVals(t, fmt.Sprintf("maxpool %v %v", s, dt), got[0], want, tolFor(dt))
		}
	}
}

// TestMaxPool2Ties: on a tie the gradient goes to the first maximum in
// row-major window order, and only there.
func TestMaxPool2Ties(t *testing.T) {
	g := G.NewGraph()
	// one 2×4 image: windows [1 3; 3 3] and [2 0; 0 2]
	x := leaf(g, "x", []int{1, 1, 2, 4}, []float64{1, 3, 2, 0, 3, 3, 0, 2})
	y := Sum(MaxPool2(x))
	gx := mustGrad(t, y, x)
	got := evalNodes(t, func() []*G.Node { return []*G.Node{y, gx} })
	if got[0][0] != 5 {
		t.Errorf("sum of maxima %g, want 5", got[0][0])
	}
	compareVals(t, "gradient", got[1], []float64{0, 1, 1, 0, 0, 0, 0, 0}, 0)
}

func TestMaxPool2NaN(t *testing.T) {
	g := G.NewGraph()
	x := leaf(g, "x", []int{1, 1, 2, 2}, []float64{1, 2, math.NaN(), 0})
	got := evalNodes(t, func() []*G.Node { return []*G.Node{MaxPool2(x)} })
	if !math.IsNaN(got[0][0]) {
		t.Errorf("max of a window holding NaN is %g, want NaN", got[0][0])
	}
}

// naiveBatchNorm normalises x (N, C, rest) per channel over N and rest.
func naiveBatchNorm(x []float64, n, c, rest int, scale, shift []float64, eps float64) []float64 {
	out := make([]float64, len(x))
	cnt := float64(n * rest)
	for ci := 0; ci < c; ci++ {
		var mean, v float64
		for in := 0; in < n; in++ {
			for k := 0; k < rest; k++ {
				mean += x[(in*c+ci)*rest+k]
			}
		}
		mean /= cnt
		for in := 0; in < n; in++ {
			for k := 0; k < rest; k++ {
				d := x[(in*c+ci)*rest+k] - mean
				v += d * d
			}
		}
		v /= cnt
		for in := 0; in < n; in++ {
			for k := 0; k < rest; k++ {
				i := (in*c+ci)*rest + k
				out[i] = scale[ci]*(x[i]-mean)/math.Sqrt(v+eps) + shift[ci]
			}
		}
	}
	return out
}

func TestBatchNormForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, s := range [][]int{{4, 3, 3, 3}, {5, 4}, {2, 2, 1, 5}} {
		c, rest := s[1], 1
		for _, d := range s[2:] {
			rest *= d
		}
		x := randomVals(rng, s...)
		for i := range x {
			x[i] = 3*x[i] + 2 // mean and variance far from 0 and 1
		}
		scale, shift := randomVals(rng, c), randomVals(rng, c)
		want := naiveBatchNorm(x, s[0], c, rest, scale, shift, 1e-5)
		ones, zeros := make([]float64, c), make([]float64, c)
		for i := range ones {
			ones[i] = 1
		}
		plain := naiveBatchNorm(x, s[0], c, rest, ones, zeros, 1e-5)
		for _, dt := range testDtypes {
			got := evalNodes(t, func() []*G.Node {
				g := G.NewGraph()
				xn := dtLeaf(g, dt, "x", s, x)
				return []*G.Node{
					BatchNorm(xn, dtLeaf(g, dt, "scale", []int{c}, scale), dtLeaf(g, dt, "shift", []int{c}, shift), 0),
					BatchNorm(xn, nil, nil, 0),
				}
			})
			name := fmt.Sprintf("batchnorm %v %v", s, dt)
			compareVals(t, name, got[0], want, 10*tolFor(dt))
			compareVals(t, name+" without affine", got[1], plain, 10*tolFor(dt))
			// without scale and shift: mean 0, variance 1 per channel
			for ci := 0; ci < c; ci++ {
				var m, v float64
				for in := 0; in < s[0]; in++ {
					for k := 0; k < rest; k++ {
						e := got[1][(in*c+ci)*rest+k]
						m += e
						v += e * e
					}
				}
				cnt := float64(s[0] * rest)
				m /= cnt
				v = v/cnt - m*m
				if math.Abs(m) > 1e-5 || math.Abs(v-1) > 1e-4 {
					t.Errorf("%s: channel %d has mean %.3g and variance %.6g, want 0 and 1", name, ci, m, v)
				}
			}
		}
	}
}

// TestBatchNormStatsForward: BatchNormStats returns BatchNorm's output and
// the batch's per-channel mean and biased variance; BatchNormWith given
// those statistics reproduces BatchNorm, and given others follows the
// formula y = scale·(x − mean)/√(variance + ε) + shift.
func TestBatchNormStatsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, s := range [][]int{{4, 3, 3, 3}, {5, 4}} {
		c, rest := s[1], 1
		for _, d := range s[2:] {
			rest *= d
		}
		x := randomVals(rng, s...)
		for i := range x {
			x[i] = 3*x[i] + 2
		}
		scale, shift := randomVals(rng, c), randomVals(rng, c)
		mean, variance := make([]float64, c), make([]float64, c)
		cnt := float64(s[0] * rest)
		for ci := 0; ci < c; ci++ {
			for n := 0; n < s[0]; n++ {
				for k := 0; k < rest; k++ {
					mean[ci] += x[(n*c+ci)*rest+k] / cnt
				}
			}
			for n := 0; n < s[0]; n++ {
				for k := 0; k < rest; k++ {
					d := x[(n*c+ci)*rest+k] - mean[ci]
					variance[ci] += d * d / cnt
				}
			}
		}
		// other statistics: y by the formula
		om, ov := randomVals(rng, c), randomVals(rng, c)
		for i := range ov {
			ov[i] = 0.5 + ov[i]*ov[i]
		}
		want := make([]float64, len(x))
		for n := 0; n < s[0]; n++ {
			for ci := 0; ci < c; ci++ {
				for k := 0; k < rest; k++ {
					i := (n*c+ci)*rest + k
					want[i] = scale[ci]*(x[i]-om[ci])/math.Sqrt(ov[ci]+1e-5) + shift[ci]
				}
			}
		}
		for _, dt := range testDtypes {
			got := evalNodes(t, func() []*G.Node {
				g := G.NewGraph()
				xn := dtLeaf(g, dt, "x", s, x)
				sc, sh := dtLeaf(g, dt, "scale", []int{c}, scale), dtLeaf(g, dt, "shift", []int{c}, shift)
				y, m, v := BatchNormStats(xn, sc, sh, 0)
				return []*G.Node{y, m, v, BatchNorm(xn, sc, sh, 0),
					BatchNormWith(xn, dtLeaf(g, dt, "mean", []int{c}, mean), dtLeaf(g, dt, "var", []int{c}, variance), sc, sh, 0),
					BatchNormWith(xn, dtLeaf(g, dt, "om", []int{c}, om), dtLeaf(g, dt, "ov", []int{c}, ov), sc, sh, 0)}
			})
			name := fmt.Sprintf("batchnorm stats %v %v", s, dt)
			compareVals(t, name+" output", got[0], got[3], 0)
			compareVals(t, name+" mean", got[1], mean, 10*tolFor(dt))
			compareVals(t, name+" variance", got[2], variance, 100*tolFor(dt))
			compareVals(t, name+" with the batch's statistics", got[4], got[3], 100*tolFor(dt))
			compareVals(t, name+" with other statistics", got[5], want, 10*tolFor(dt))
		}
	}
}

func TestSquaredDistancesForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	a, b := randomVals(rng, 3, 4), randomVals(rng, 5, 4)
	want := make([]float64, 0, 15)
	for i := 0; i < 3; i++ {
		for j := 0; j < 5; j++ {
			var s float64
			for k := 0; k < 4; k++ {
				d := a[i*4+k] - b[j*4+k]
				s += d * d
			}
			want = append(want, s)
		}
	}
	for _, dt := range testDtypes {
		got := evalNodes(t, func() []*G.Node {
			g := G.NewGraph()
			return []*G.Node{SquaredDistances(dtLeaf(g, dt, "a", []int{3, 4}, a), dtLeaf(g, dt, "b", []int{5, 4}, b))}
		})
		compareVals(t, fmt.Sprintf("distances %v", dt), got[0], want, 10*tolFor(dt))
	}
}

// TestNNShapeErrors: misuse is reported as a *ShapeError by Build.
func TestNNShapeErrors(t *testing.T) {
	g := G.NewGraph()
	x4 := leaf(g, "x4", []int{2, 3, 5, 4}, make([]float64, 120))
	x2 := leaf(g, "x2", []int{5, 3}, make([]float64, 15))
	w := leaf(g, "w", []int{4, 2, 3, 3}, make([]float64, 72))
	wBig := leaf(g, "wbig", []int{1, 3, 6, 2}, make([]float64, 36))
	v3 := leaf(g, "v3", []int{3}, make([]float64, 3))
	v4 := leaf(g, "v4", []int{4}, make([]float64, 4))
	b := leaf(g, "b", []int{6, 4}, make([]float64, 24))
	tiny := leaf(g, "tiny", []int{1, 1, 1, 4}, make([]float64, 4))
	for name, f := range map[string]func(){
		"conv channel mismatch":  func() { Conv2d(x4, w, 1) },
		"conv rank":              func() { Conv2d(x2, w, 0) },
		"conv kernel too big":    func() { Conv2d(x4, wBig, 0) },
		"conv negative pad":      func() { Conv2d(x4, wBig, -1) },
		"maxpool rank":           func() { MaxPool2(x2) },
		"maxpool too small":      func() { MaxPool2(tiny) },
		"batchnorm scale shape":  func() { BatchNorm(x4, v4, nil, 0) },
		"batchnorm shift shape":  func() { BatchNorm(x2, nil, v4, 0) },
		"batchnorm rank":         func() { BatchNorm(v3, nil, nil, 0) },
		"batchnorm eps":          func() { BatchNorm(x2, v3, v3, -1) },
		"with stats mean shape":  func() { BatchNormWith(x2, v4, v3, nil, nil, 0) },
		"with stats no variance": func() { BatchNormWith(x2, v3, nil, nil, nil, 0) },
		"with stats scale shape": func() { BatchNormWith(x4, v3, v3, v4, nil, 0) },
		"with stats rank":        func() { BatchNormWith(v3, v3, v3, nil, nil, 0) },
		"with stats eps":         func() { BatchNormWith(x2, v3, v3, nil, nil, -1) },
		"distances width":        func() { SquaredDistances(x2, b) },
		"distances rank":         func() { SquaredDistances(x4, b) },
	} {
		err := Build(f)
		var se *ShapeError
		if !errors.As(err, &se) {
			t.Errorf("%s: got %v, want a *ShapeError", name, err)
		}
	}
	// and the valid neighbours build
	if err := Build(func() {
		Conv2d(x4, wBig, 1)
		BatchNorm(x2, v3, v3, 0)
		SquaredDistances(x2, leaf(g, "c", []int{2, 3}, make([]float64, 6)))
	}); err != nil {
		t.Errorf("valid ops: %v", err)
	}
}

// bnTestGeom is the batch-norm geometry of x with the default ε.
func bnTestGeom(x *G.Node) bnGeom { return newBNGeom("test", x.Shape(), DefaultBatchNormEps) }
