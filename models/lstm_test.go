package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestLSTMCellStep checks one step's h′ and c′ against the equations
// computed element by element in plain Go from the same weights, with a
// state and from a nil (zero) state, and the weights' names, shapes and
// U(±1/√H) range.
func TestLSTMCellStep(t *testing.T) {
	const n, in, hid = 3, 4, 5
	cell := LSTMCell{In: in, Hidden: hid, Prefix: "enc"}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := cell.Init(p, 7); err != nil {
		t.Fatal(err)
	}
	wih, whh, bih, bhh := cell.Names()
	bound := 1 / math.Sqrt(hid)
	for _, c := range []struct {
		name  string
		shape []int
	}{{wih, []int{4 * hid, in}}, {whh, []int{4 * hid, hid}}, {bih, []int{4 * hid}}, {bhh, []int{4 * hid}}} {
		par := p.Get(c.name)
		if par == nil {
			t.Fatalf("no weight %q (have %v)", c.name, p.Weights().Names)
		}
		if fmt.Sprint(par.Value.Shape()) != fmt.Sprint(tensor.Shape(c.shape)) {
			t.Errorf("%s: shape %v, want %v", c.name, par.Value.Shape(), c.shape)
		}
		for _, v := range par.Value.Float64s() {
			if math.Abs(v) > bound {
				t.Fatalf("%s: %v outside ±1/√%d", c.name, v, hid)
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	x, h, c := input(g, rng, "x", n, in), input(g, rng, "h", n, hid), input(g, rng, "c", n, hid)
	var h1, c1, h0, c0 *G.Node
	if err := graph.Build(func() {
		h1, c1 = cell.Step(p.Weights(), x, h, c)
		h0, c0 = cell.Step(p.Weights(), x, nil, nil)
	}); err != nil {
		t.Fatal(err)
	}
	r, err := graph.NewRunner(h1, c1, h0, c0)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	W, U := p.Get(wih).Value.Float64s(), p.Get(whh).Value.Float64s()
	bi, bh := p.Get(bih).Value.Float64s(), p.Get(bhh).Value.Float64s()
	xv, hv, cv := x.Value().Data().([]float64), h.Value().Data().([]float64), c.Value().Data().([]float64)
	sigmoid := func(z float64) float64 { return 1 / (1 + math.Exp(-z)) }
	// byHand computes one step; zero drops the state
	byHand := func(zero bool) (hw, cw []float64) {
		for b := 0; b < n; b++ {
			gate := func(k, j int) float64 { // pre-activation of gate k, unit j
				row := k*hid + j
				z := bi[row] + bh[row]
				for i := 0; i < in; i++ {
					z += xv[b*in+i] * W[row*in+i]
				}
				if !zero {
					for i := 0; i < hid; i++ {
						z += hv[b*hid+i] * U[row*hid+i]
					}
				}
				return z
			}
			for j := 0; j < hid; j++ {
				ig, fg, gg, og := sigmoid(gate(0, j)), sigmoid(gate(1, j)), math.Tanh(gate(2, j)), sigmoid(gate(3, j))
				cn := ig * gg
				if !zero {
					cn += fg * cv[b*hid+j]
				}
				cw = append(cw, cn)
				hw = append(hw, og*math.Tanh(cn))
			}
		}
		return hw, cw
	}
	for _, k := range []struct {
		name   string
		zero   bool
		hn, cn *G.Node
	}{{"with state", false, h1, c1}, {"zero state", true, h0, c0}} {
		hw, cw := byHand(k.zero)
		for what, pair := range map[string][2][]float64{"h′": {r.Float64s(k.hn), hw}, "c′": {r.Float64s(k.cn), cw}} {
			for i := range pair[1] {
				if d := math.Abs(pair[0][i] - pair[1][i]); d > 1e-14*math.Max(1, math.Abs(pair[1][i])) {
					t.Fatalf("%s: %s[%d] = %.17g, by hand %.17g", k.name, what, i, pair[0][i], pair[1][i])
				}
			}
		}
	}
}

// TestLSTMCellGradient checks first and second derivatives of two chained
// steps, with respect to the four weights, the input and the initial
// state, against central finite differences in float64.
func TestLSTMCellGradient(t *testing.T) {
	const n, in, hid = 2, 3, 4
	cell := LSTMCell{In: in, Hidden: hid}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := cell.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	x1, x2 := input(g, rng, "x1", n, in), input(g, rng, "x2", n, in)
	h, c := input(g, rng, "h", n, hid), input(g, rng, "c", n, hid)
	wrt := append(p.Nodes(), x1, x2, h, c)
	var l1, l2 *G.Node
	if err := graph.Build(func() {
		ha, ca := cell.Step(p.Weights(), x1, h, c)
		hb, cb := cell.Step(p.Weights(), x2, ha, ca)
		l1 = graph.Add(graph.Sum(graph.Mul(hb, input(g, rng, "R", n, hid))), graph.Sum(graph.Mul(cb, input(g, rng, "S", n, hid))))
		grads, err := graph.Grad(l1, wrt...)
		if err != nil {
			t.Fatal(err)
		}
		for k, gk := range grads {
			term := graph.Sum(graph.Mul(gk, input(g, rng, fmt.Sprintf("V%d", k), gk.Shape()...)))
			if l2 == nil {
				l2 = term
			} else {
				l2 = graph.Add(l2, term)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	for order, l := range []*G.Node{l1, l2} {
		res, err := graph.CheckGradient(l, wrt, graph.CheckOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("order %d: max rel err %.2e over %d elements", order+1, res.MaxRelErr, res.Checked)
		if res.MaxRelErr > 1e-6 {
			t.Errorf("derivative of order %d: max rel err %.2e > 1e-6 (%s)", order+1, res.MaxRelErr, res.Worst)
		}
	}
}

// TestLSTMCellBadInput: widths below 1 and inputs of the wrong shape are
// errors, not panics, at the edge of a build.
func TestLSTMCellBadInput(t *testing.T) {
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := (LSTMCell{In: 0, Hidden: 3}).Init(p, 1); err == nil {
		t.Error("Init with input width 0: no error")
	}
	cell := LSTMCell{In: 2, Hidden: 3}
	if err := cell.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	if err := cell.Init(p, 1); err == nil {
		t.Error("a second Init into the same Params: no error about the names")
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for name, build := range map[string]func(){
		"input width": func() { cell.Step(p.Weights(), input(g, rng, "x3", 4, 3), nil, nil) },
		"state rows":  func() { cell.Step(p.Weights(), input(g, rng, "x", 4, 2), input(g, rng, "h5", 5, 3), nil) },
		"no weights":  func() { cell.Step(graph.Weights{}, input(g, rng, "x'", 4, 2), nil, nil) },
	} {
		if err := graph.Build(build); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
