// Package graph is metagon's differentiable layer over Gorgonia graphs.
//
// Models are ordinary *gorgonia.ExprGraph graphs built from this package's
// ops (MatMul, Add, ReLU, Conv2d, MaxPool2, BatchNorm, LogSoftmax, ...).
// Each op keeps its forward kernel and its derivative rule side by side,
// and every rule is written with other ops of the package, so a gradient is
// itself a graph that can be differentiated again. Grad walks the graph
// backwards itself (it never calls gorgonia.Grad, whose caching gives wrong
// second derivatives); this is what lets MAML differentiate through an
// unrolled inner loop.
//
// A Runner compiles the part of a graph that some outputs need and runs it
// many times without allocating. Params holds named trainable leaves with
// their values; the optimizers (SGD, Momentum, Adam, AdamW; weight decay
// as an option) update those values in place from gradients the Runner
// computed. Update wraps a step with a learning-rate Schedule (constant,
// step, exponential, cosine with warm-up, linear; ParseSchedule reads them
// from a spec) and gradient clipping by global norm; SaveCheckpoint writes them
// atomically. CheckGradient compares any gradient with finite differences.
// BatchNorm normalises with the batch's statistics; BatchNormStats also
// returns them, for running averages, and BatchNormWith normalises with
// given ones (evaluation mode). Dropout multiplies by a mask that is an
// input of the graph (FillDropoutMask draws it), so the same mask serves
// the forward pass and every derivative.
//
//	g := gorgonia.NewGraph()
//	p := graph.NewParams(g, tensor.Float64)
//	w, _ := p.Add("w", []int{3, 1}, graph.GlorotUniform{Seed: 1})
//	x := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(8, 3), gorgonia.WithName("x"))
//	y := gorgonia.NewMatrix(g, tensor.Float64, gorgonia.WithShape(8, 1), gorgonia.WithName("y"))
//	loss := graph.MSE(graph.MatMul(x, w), y)
//	grads, _ := graph.Grad(loss, w)
//	run, _ := graph.NewRunner(append([]*gorgonia.Node{loss}, grads...)...)
//	opt := graph.NewAdam(1e-3)
//	for step := 0; step < 100; step++ {
//		run.Feed(x, xs)
//		run.Feed(y, ys)
//		run.Run()
//		opt.Step(p.Values(), []*tensor.Dense{run.Value(grads[0])})
//	}
//
// Graph-building functions panic with a *ShapeError on shapes that do not
// fit; Build and Recover turn that into an error at the edge of a build.
package graph
