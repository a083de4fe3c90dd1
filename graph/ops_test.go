package graph

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// opCase is one row of the gradient table: an op applied to random inputs.
type opCase struct {
	name   string
	shapes [][]int                     // input shapes
	build  func(in []*G.Node) *G.Node  // the op under test
	fill   func(i int, vals []float64) // optional: set input i's values
	fixed  []int                       // inputs that are not differentiated (labels, references)
	tol    float64                     // max relative error; if zero, 1e-6
}

// checkOp checks first and second derivatives of c against central finite
// differences in float64. The output y is reduced to a scalar with fixed
// random weights, Σ R⊙y, so every output element counts; the second-order
// check differentiates Σₖ Vₖ⊙∇ₖ(Σ R⊙y) again, with fixed random Vₖ.
func checkOp(t *testing.T, c opCase) {
	t.Helper()
	tol := c.tol
	if tol == 0 {
		tol = 1e-6
	}
	rng := rand.New(rand.NewPCG(uint64(len(c.name)), 7))
	g := G.NewGraph()
	var in, wrt []*G.Node
	for i, s := range c.shapes {
		vals := make([]float64, size(tensor.Shape(s)))
		for j := range vals {
			vals[j] = rng.NormFloat64()
		}
		if c.fill != nil {
			c.fill(i, vals)
		}
		n := leaf(g, fmt.Sprintf("in%d", i), s, vals)
		in = append(in, n)
		if !contains(c.fixed, i) {
			wrt = append(wrt, n)
		}
	}
	var l1, l2 *G.Node
	err := Build(func() {
		y := c.build(in)
		l1 = Sum(Mul(y, randomLeaf(g, rng, "R", y.Shape())))
		gs, err := Grad(l1, wrt...)
		if err != nil {
			panic(shapeErrorf("%v", err))
		}
		for k, gk := range gs {
			term := Sum(Mul(gk, randomLeaf(g, rng, fmt.Sprintf("V%d", k), gk.Shape())))
			if l2 == nil {
				l2 = term
			} else {
				l2 = Add(l2, term)
			}
		}
	})
	if err != nil {
		t.Fatalf("%s: build: %v", c.name, err)
	}
	for order, l := range []*G.Node{l1, l2} {
		res, err := CheckGradient(l, wrt, CheckOptions{})
		if err != nil {
			t.Fatalf("%s: order %d: %v", c.name, order+1, err)
		}
		if res.MaxRelErr > tol {
			t.Errorf("%s: derivative of order %d: max rel err %.2e > %.0e (%s)", c.name, order+1, res.MaxRelErr, tol, res.Worst)
		}
	}
}

func leaf(g *G.ExprGraph, name string, shape []int, vals []float64) *G.Node {
	v := tensor.New(tensor.WithBacking(vals), tensor.WithShape(shape...))
	return G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(v))
}

func randomLeaf(g *G.ExprGraph, rng *rand.Rand, name string, shape tensor.Shape) *G.Node {
	vals := make([]float64, size(shape))
	for j := range vals {
		vals[j] = rng.NormFloat64()
	}
	if len(shape) == 0 {
		v := tensor.New(tensor.WithBacking(vals), tensor.WithShape())
		return G.NewScalar(g, tensor.Float64, G.WithName(name), G.WithValue(v))
	}
	return leaf(g, name, shape, vals)
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// positive makes input values lie in [0.5, 2.5) (for log, sqrt, division).
func positive(_ int, v []float64) {
	for j := range v {
		v[j] = 0.5 + math.Abs(math.Mod(v[j], 2))
	}
}

// awayFromZero keeps values at least 0.1 from the kink of ReLU and friends.
func awayFromZero(_ int, v []float64) {
	for j := range v {
		if math.Abs(v[j]) < 0.1 {
			v[j] += math.Copysign(0.2, v[j])
		}
	}
}

// widen multiplies input values by k (both branches of a piecewise
// formula, such as softplus's max(x, 0) + log(1 + e^−|x|)).
func widen(k float64) func(int, []float64) {
	return func(_ int, v []float64) {
		for j := range v {
			v[j] *= k
		}
	}
}

// coreOpCases covers the elementwise, matrix, reduction, shape, softmax and
// loss ops. Conv, pooling, batch norm and distances add theirs in
// ops_nn_test.go.
var coreOpCases = []opCase{
	{name: "cube x·x·x", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Mul(Mul(in[0], in[0]), in[0]) }},
	{name: "add", shapes: [][]int{{3, 4}, {3, 4}}, build: func(in []*G.Node) *G.Node { return Mul(Add(in[0], in[1]), in[0]) }},
	{name: "add bias over rows", shapes: [][]int{{5, 3}, {3}}, build: func(in []*G.Node) *G.Node { return Square(Add(in[0], in[1])) }},
	{name: "add per channel NCHW", shapes: [][]int{{2, 3, 4, 5}, {1, 3, 1, 1}}, build: func(in []*G.Node) *G.Node { return Square(Add(in[0], in[1])) }},
	{name: "sub broadcast column", shapes: [][]int{{4, 3}, {4, 1}}, build: func(in []*G.Node) *G.Node { return Square(Sub(in[0], in[1])) }},
	{name: "mul", shapes: [][]int{{3, 5}, {3, 5}}, build: func(in []*G.Node) *G.Node { return Mul(in[0], in[1]) }},
	{name: "mul scalar broadcast", shapes: [][]int{{3, 5}, {}}, build: func(in []*G.Node) *G.Node { return Mul(Mul(in[0], in[1]), in[1]) }},
	{name: "div", shapes: [][]int{{3, 4}, {3, 4}}, fill: func(i int, v []float64) {
		if i == 1 {
			positive(i, v)
		}
	}, build: func(in []*G.Node) *G.Node { return Div(in[0], in[1]) }},
	{name: "neg", shapes: [][]int{{2, 3}}, build: func(in []*G.Node) *G.Node { return Mul(Neg(in[0]), in[0]) }},
	{name: "exp", shapes: [][]int{{3, 2}}, build: func(in []*G.Node) *G.Node { return Exp(in[0]) }},
	{name: "log", shapes: [][]int{{3, 2}}, fill: positive, build: func(in []*G.Node) *G.Node { return Log(in[0]) }},
	{name: "sqrt", shapes: [][]int{{3, 2}}, fill: positive, build: func(in []*G.Node) *G.Node { return Sqrt(in[0]) }},
	{name: "square", shapes: [][]int{{4, 3}}, build: func(in []*G.Node) *G.Node { return Mul(Square(in[0]), in[0]) }},
	{name: "sigmoid", shapes: [][]int{{4, 3}}, build: func(in []*G.Node) *G.Node { return Sigmoid(in[0]) }},
	{name: "softplus", shapes: [][]int{{4, 3}}, fill: widen(4), build: func(in []*G.Node) *G.Node { return Softplus(in[0]) }},
	{name: "tanh", shapes: [][]int{{4, 3}}, build: func(in []*G.Node) *G.Node { return Tanh(in[0]) }},
	{name: "relu", shapes: [][]int{{4, 3}}, fill: awayFromZero, build: func(in []*G.Node) *G.Node { return Mul(ReLU(in[0]), in[0]) }},
	{name: "affine", shapes: [][]int{{4, 3}}, build: func(in []*G.Node) *G.Node { return Square(Affine(in[0], -1.5, 0.3)) }},
	{name: "matmul", shapes: [][]int{{3, 4}, {4, 5}}, build: func(in []*G.Node) *G.Node { return Square(MatMul(in[0], in[1])) }},
	{name: "matmul Aᵀ·Bᵀ", shapes: [][]int{{4, 3}, {5, 4}}, build: func(in []*G.Node) *G.Node { return Square(MatMulT(in[0], in[1], true, true)) }},
	{name: "matmul A·Bᵀ", shapes: [][]int{{3, 4}, {5, 4}}, build: func(in []*G.Node) *G.Node { return Square(MatMulT(in[0], in[1], false, true)) }},
	{name: "matmul Aᵀ·B", shapes: [][]int{{4, 3}, {4, 5}}, build: func(in []*G.Node) *G.Node { return Square(MatMulT(in[0], in[1], true, false)) }},
	{name: "batched matmul", shapes: [][]int{{2, 3, 4}, {2, 4, 5}}, build: func(in []*G.Node) *G.Node { return Square(BatchedMatMul(in[0], in[1])) }},
	{name: "sum all", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Square(Sum(Square(in[0]))) }},
	{name: "sum axis 0", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Square(Sum(in[0], 0)) }},
	{name: "sum axes 0,2", shapes: [][]int{{2, 3, 4}}, build: func(in []*G.Node) *G.Node { return Square(Sum(in[0], 0, 2)) }},
	{name: "mean all", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Square(Mean(Square(in[0]))) }},
	{name: "mean axis 1", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Square(Mean(in[0], 1)) }},
	{name: "broadcast to", shapes: [][]int{{3, 1}}, build: func(in []*G.Node) *G.Node { return Square(BroadcastTo(in[0], tensor.Shape{2, 3, 4})) }},
	{name: "reshape", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Square(Reshape(in[0], 2, 6)) }},
	{name: "transpose 2-D", shapes: [][]int{{3, 4}}, build: func(in []*G.Node) *G.Node { return Mul(Transpose(in[0]), Transpose(in[0])) }},
	{name: "transpose 4-D", shapes: [][]int{{2, 3, 4, 5}}, build: func(in []*G.Node) *G.Node { return Square(Transpose(in[0], 1, 0, 3, 2)) }},
	{name: "slice", shapes: [][]int{{4, 5}}, build: func(in []*G.Node) *G.Node { return Square(Slice(in[0], 1, 1, 4)) }},
	{name: "pad", shapes: [][]int{{3, 2}}, build: func(in []*G.Node) *G.Node { return Square(Pad(in[0], 1, 1, 5)) }},
	{name: "concat", shapes: [][]int{{2, 3}, {4, 3}}, build: func(in []*G.Node) *G.Node { return Square(Concat(0, in[0], in[1])) }},
	{name: "softmax", shapes: [][]int{{3, 5}}, build: func(in []*G.Node) *G.Node { return Softmax(in[0]) }},
	{name: "log-softmax", shapes: [][]int{{3, 5}}, build: func(in []*G.Node) *G.Node { return LogSoftmax(in[0]) }},
	{name: "pick", shapes: [][]int{{4, 3}, {4}}, fixed: []int{1}, fill: labels(3), build: func(in []*G.Node) *G.Node { return Square(Pick(in[0], in[1])) }},
	{name: "mse", shapes: [][]int{{5, 2}, {5, 2}}, build: func(in []*G.Node) *G.Node { return MSE(Tanh(in[0]), in[1]) }},
	{name: "quadratic cost", shapes: [][]int{{5, 3}, {5, 3}}, build: func(in []*G.Node) *G.Node { return QuadraticCost(Sigmoid(in[0]), in[1]) }},
	// SmallestK's marks are constant: the gradient flows through the
	// factor x alone, to the marked entries (random normals are far apart
	// compared with the finite-difference step, so no mark moves).
	{name: "smallest-k marks", shapes: [][]int{{2, 5}}, build: func(in []*G.Node) *G.Node {
		return Square(Mul(SmallestK(in[0], 3), Reshape(in[0], 2, 1, 5)))
	}},
	{name: "smallest-k marks 3-D", shapes: [][]int{{2, 3, 4}}, build: func(in []*G.Node) *G.Node {
		return Mul(Sum(Mul(SmallestK(in[0], 2), Reshape(in[0], 2, 3, 1, 4)), 3), SumKeep(in[0], 2))
	}},
	{name: "gaussian nll", shapes: [][]int{{5, 2}, {5, 2}, {5, 2}}, fill: func(i int, v []float64) {
		if i == 1 {
			positive(i, v)
		}
	}, build: func(in []*G.Node) *G.Node { return GaussianNLL(Tanh(in[0]), in[1], in[2]) }},
	{name: "cross-entropy", shapes: [][]int{{6, 4}, {6}}, fixed: []int{1}, fill: labels(4), build: func(in []*G.Node) *G.Node { return CrossEntropy(in[0], in[1]) }},
}

// labels fills input 1 with class indices 0..classes−1.
func labels(classes int) func(int, []float64) {
	return func(i int, v []float64) {
		if i == 1 {
			for j := range v {
				v[j] = float64(j % classes)
			}
		}
	}
}

func TestOpGradients(t *testing.T) {
	for _, c := range coreOpCases {
		t.Run(c.name, func(t *testing.T) { checkOp(t, c) })
	}
}

// TestStopGradient checks that d/dx [sg(x²) ⊙ x] = x², not 3x²: finite
// differences cannot see a stopped gradient, so the expectation is computed.
func TestStopGradient(t *testing.T) {
	g := G.NewGraph()
	vals := []float64{-1.5, 0.3, 2}
	x := leaf(g, "x", []int{3}, vals)
	y := Sum(Mul(StopGradient(Square(x)), x))
	gx := mustGrad(t, y, x)
	r, err := NewRunner(gx)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	for i, v := range r.Float64s(gx) {
		if want := vals[i] * vals[i]; math.Abs(v-want) > 1e-15 {
			t.Errorf("element %d: got %g, want %g", i, v, want)
		}
	}
}

// TestSmallestKForward: the marks of SmallestK in both element types, with
// ties (the lower position first) and NaN (after every number), computed
// from the definition.
func TestSmallestKForward(t *testing.T) {
	nan := math.NaN()
	rows := [][]float64{
		{3, -1, 2, -1, 0},    // tie at −1: position 1, then 3, then 0 (position 4)
		{0, 0, 0, 0, 0},      // all tied: positions 0, 1, 2
		{nan, 5, nan, -2, 1}, // −2, 1, 5; NaN last
		{nan, nan, 7, nan, nan},
	}
	want := [][]int{{1, 3, 4}, {0, 1, 2}, {3, 4, 1}, {2, 0, 1}}
	var x []float64
	for _, r := range rows {
		x = append(x, r...)
	}
	for _, dt := range testDtypes {
		got := evalNodes(t, func() []*G.Node {
			return []*G.Node{SmallestK(dtLeaf(G.NewGraph(), dt, "x", []int{2, 2, 5}, x), 3)}
		})[0]
		if len(got) != 4*3*5 {
			t.Fatalf("%v: %d values, want %d", dt, len(got), 4*3*5)
		}
		for r, pos := range want {
			for j, p := range pos {
				for i := 0; i < 5; i++ {
					v := got[(r*3+j)*5+i]
					if w := map[bool]float64{true: 1, false: 0}[i == p]; v != w {
						t.Errorf("%v: row %d, mark %d, position %d: %v, want %v", dt, r, j, i, v, w)
					}
				}
			}
		}
	}
	for _, k := range []int{0, 6} {
		if err := Build(func() { SmallestK(dtLeaf(G.NewGraph(), tensor.Float64, "x", []int{2, 5}, x[:10]), k) }); err == nil {
			t.Errorf("k = %d of 5: no error", k)
		}
	}
}

// TestSoftplusStable checks Softplus against log(1 + eˣ) where that is
// exact enough (−15 ≤ x ≤ 30), and elsewhere against series that are:
// x + e⁻ˣ for large x (where eˣ overflows from x = 710 on) and
// e^u − e^2u/2 + e^3u/3 − e^4u/4 with u = x for very negative x (where
// 1 + eˣ loses the digits of eˣ, and rounds to 1 from x = −37 on).
// Float32, whose exp overflows at 89, must stay finite too.
func TestSoftplusStable(t *testing.T) {
	xs := []float64{-800, -60, -20, -1, 0, 0.5, 20, 60, 800}
	want := func(x float64) float64 {
		switch {
		case x > 30:
			return x + math.Exp(-x)
		case x < -15:
			e := math.Exp(x)
			return e - e*e/2 + e*e*e/3 - e*e*e*e/4
		}
		return math.Log(1 + math.Exp(x))
	}
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		g := G.NewGraph()
		x := G.NewTensor(g, dt, 1, G.WithShape(len(xs)), G.WithName("x"))
		y := Softplus(x)
		r, err := NewRunner(y)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Feed(x, xs); err != nil {
			t.Fatal(err)
		}
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		tol := 1e-15
		if dt == tensor.Float32 {
			tol = 1e-7
		}
		for i, got := range r.Float64s(y) {
			w := want(xs[i])
			if dt == tensor.Float32 {
				w = float64(float32(w))
			}
			if math.IsNaN(got) || math.IsInf(got, 0) || math.Abs(got-w) > tol*math.Max(math.Abs(w), math.SmallestNonzeroFloat64) {
				t.Errorf("%v: softplus(%g) = %g, want %g", dt, xs[i], got, w)
			}
		}
	}
}
