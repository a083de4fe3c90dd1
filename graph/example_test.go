package graph_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Derivatives of any order: x³ at x = 2, differentiated three times.
func ExampleGrad() {
	g := G.NewGraph()
	x := G.NewScalar(g, tensor.Float64, G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithBacking([]float64{2}), tensor.WithShape())))
	y := graph.Mul(graph.Mul(x, x), x)
	d1, _ := graph.Grad(y, x)
	d2, _ := graph.Grad(d1[0], x)
	d3, _ := graph.Grad(d2[0], x)
	run, _ := graph.NewRunner(y, d1[0], d2[0], d3[0])
	_ = run.Run()
	fmt.Println(run.Scalar(y), run.Scalar(d1[0]), run.Scalar(d2[0]), run.Scalar(d3[0]))
	// Output: 8 12 12 6
}

// Checking a gradient against central finite differences.
func ExampleCheckGradient() {
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	w, _ := p.Add("w", []int{4, 3}, graph.Normal{Std: 1, Seed: 1})
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(5, 4), G.WithName("x"))
	loss := graph.Sum(graph.Tanh(graph.MatMul(x, w)))
	xs := []float64{0.1, -0.2, 0.3, 0.4, 0.5, -0.6, 0.7, 0.8, 0.9, -1.0, 1.1, 1.2, 1.3, -1.4, 1.5, 1.6, 1.7, 1.8, -1.9, 2.0}
	res, _ := graph.CheckGradient(loss, []*G.Node{w}, graph.CheckOptions{Feeds: map[*G.Node][]float64{x: xs}})
	fmt.Println(res.Checked, res.MaxRelErr < 1e-6)
	// Output: 12 true
}

// Training a linear model with Adam: compile once, run many times.
func ExampleRunner() {
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	w, _ := p.Add("w", []int{2, 1}, graph.Zeros{})
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(4, 2), G.WithName("x"))
	y := G.NewMatrix(g, tensor.Float64, G.WithShape(4, 1), G.WithName("y"))
	loss := graph.MSE(graph.MatMul(x, w), y)
	grads, _ := graph.Grad(loss, w)
	run, _ := graph.NewRunner(loss, grads[0])
	_ = run.Feed(x, []float64{1, 0, 0, 1, 1, 1, 2, 1})
	_ = run.Feed(y, []float64{3, -1, 2, 5}) // y = 3·x₁ − x₂
	opt := graph.NewAdam(0.1)
	for step := 0; step < 500; step++ {
		_ = run.Run()
		_ = opt.Step(p.Values(), []*tensor.Dense{run.Value(grads[0])})
	}
	fmt.Printf("w = %.3f, %.3f\n", p.Values()[0].Float64s()[0], p.Values()[0].Float64s()[1])
	// Output: w = 3.000, -1.000
}

// Inverted dropout with a mask drawn from a seeded generator: kept units
// are scaled by 1/(1 − p), and the gradient goes through the same mask.
func ExampleDropout() {
	g := G.NewGraph()
	x := G.NewVector(g, tensor.Float64, G.WithShape(6), G.WithName("x"),
		G.WithValue(tensor.New(tensor.WithBacking([]float64{1, 2, 3, 4, 5, 6}))))
	mask := G.NewVector(g, tensor.Float64, G.WithShape(6), G.WithName("mask"))
	y := graph.Dropout(x, mask, 0.5)
	dx, _ := graph.Grad(graph.Sum(y), x)
	run, _ := graph.NewRunner(y, dx[0])
	buf, _ := run.Input(mask)
	graph.FillDropoutMask(buf, 0.5, rand.New(rand.NewPCG(1, 2)))
	_ = run.Run()
	fmt.Println("mask", buf.Float64s())
	fmt.Println("y   ", run.Float64s(y))
	fmt.Println("dy/dx", run.Float64s(dx[0]))
	// Output:
	// mask [1 0 1 0 1 0]
	// y    [2 0 6 0 10 0]
	// dy/dx [2 0 2 0 2 0]
}
