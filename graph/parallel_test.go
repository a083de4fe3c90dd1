package graph

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestParallelKernelsDeterministic runs a Conv-4-like block on tensors big
// enough for the parallel kernels (forward and gradients: conv, batch norm,
// ReLU, pooling, broadcasts, reductions, transposes, softmax) with one and
// with several threads, and requires bit-identical results.
func TestParallelKernelsDeterministic(t *testing.T) {
	for _, dt := range testDtypes {
		var res [2][][]float64
		for k, procs := range []int{1, 3} {
			old := runtime.GOMAXPROCS(procs)
			res[k] = evalNodes(t, func() []*G.Node { return bigBlock(t, dt) })
			runtime.GOMAXPROCS(old)
		}
		for i := range res[0] {
			for j := range res[0][i] {
				a, b := res[0][i][j], res[1][i][j]
				if math.Float64bits(a) != math.Float64bits(b) {
					t.Fatalf("%v: output %d element %d: %v with 1 thread, %v with 3", dt, i, j, a, b)
				}
			}
		}
	}
}

// bigBlock builds conv → batch norm → ReLU → max-pool, plus a softmax and
// a transpose of the conv output, on a batch of (8, 4, 32, 32) images
// (conv output: 65,536 elements) and returns the loss and its gradients.
func bigBlock(t *testing.T, dt tensor.Dtype) []*G.Node {
	rng := rand.New(rand.NewPCG(5, 6))
	g := G.NewGraph()
	x := dtLeaf(g, dt, "x", []int{8, 4, 32, 32}, randomVals(rng, 8, 4, 32, 32))
	w := dtLeaf(g, dt, "w", []int{8, 4, 3, 3}, randomVals(rng, 8, 4, 3, 3))
	scale := dtLeaf(g, dt, "scale", []int{8}, randomVals(rng, 8))
	shift := dtLeaf(g, dt, "shift", []int{8}, randomVals(rng, 8))
	bias := dtLeaf(g, dt, "bias", []int{1, 8, 1, 1}, randomVals(rng, 1, 8, 1, 1))
	conv := Add(Conv2d(x, w, 1), bias)
	pooled := MaxPool2(ReLU(BatchNorm(Tanh(conv), scale, shift, 0)))
	soft := Softmax(Reshape(conv, 8*8*32, 32))
	perm := Transpose(conv, 0, 2, 3, 1)
	loss := Add(Add(Sum(Square(pooled)), Sum(Mul(soft, soft))), Mean(Sum(Mul(perm, perm), 3)))
	gs, err := Grad(loss, x, w, scale, shift, bias)
	if err != nil {
		t.Fatal(err)
	}
	return append([]*G.Node{loss, pooled}, gs...)
}

// TestBatchNormFusedMatchesComposed compares the fused batch-norm ops with
// their compositions from elementary ops on a tensor big enough for the
// parallel kernels.
func TestBatchNormFusedMatchesComposed(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	shape := []int{5, 16, 30, 30}
	xv, gv := randomVals(rng, shape...), randomVals(rng, shape...)
	for i := range xv {
		xv[i] = 3 + 2*xv[i] // an offset mean
	}
	sv := randomVals(rng, 16)
	for _, dt := range testDtypes {
		got := evalNodes(t, func() []*G.Node {
			g := G.NewGraph()
			x, gy, scale := dtLeaf(g, dt, "x", shape, xv), dtLeaf(g, dt, "g", shape, gv), dtLeaf(g, dt, "s", []int{16}, sv)
			geo := newBNGeom("test", x.Shape(), 1e-3)
			st := bnStats(geo, x)
			sums := bnSums(geo, gy, x, st)
			xhat, _ := bnNormComposed(geo, x)
			return []*G.Node{
				bnApply(geo, x, st, nil, nil), xhat,
				bnStats(geo, x), bnStatsComposed(geo, x),
				sums, bnSumsComposed(geo, gy, x),
				bnGradX(geo, gy, x, st, sums, scale), bnGradXComposed(geo, gy, x, scale),
			}
		})
		tol := 1e-10
		if dt == tensor.Float32 {
			tol = 2e-3
		}
		for i, name := range []string{"normalised x", "statistics", "sums", "dx"} {
			compareVals(t, dt.String()+" "+name, got[2*i], got[2*i+1], tol)
		}
	}
}
