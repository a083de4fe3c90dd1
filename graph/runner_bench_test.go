package graph

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkRunner2000Steps compiles one training graph (a 20-64-64-5 ReLU
// MLP, MSE loss and its gradients) and runs 2,000 steps per iteration: feed
// a batch, Run, Adam step. A long training loop must not grow: it reports
// allocs/op (expected 0), the live heap grown over the iteration
// (heap-growth-KiB, after a GC, expected ≈ 0) and the process RSS at the
// end (rss-MiB).
func BenchmarkRunner2000Steps(b *testing.B) {
	const batch, in, hidden, out, steps = 32, 20, 64, 5, 2000
	g := G.NewGraph()
	p := NewParams(g, tensor.Float64)
	sizes := []int{in, hidden, hidden, out}
	for i := 0; i+1 < len(sizes); i++ {
		if _, err := p.Add("w"+strconv.Itoa(i), []int{sizes[i], sizes[i+1]}, GlorotUniform{Seed: uint64(i)}); err != nil {
			b.Fatal(err)
		}
		if _, err := p.Add("b"+strconv.Itoa(i), []int{sizes[i+1]}, Zeros{}); err != nil {
			b.Fatal(err)
		}
	}
	var x, y, loss *G.Node
	err := Build(func() {
		x = G.NewTensor(g, tensor.Float64, 2, G.WithShape(batch, in), G.WithName("x"))
		y = G.NewTensor(g, tensor.Float64, 2, G.WithShape(batch, out), G.WithName("y"))
		h := x
		for i, par := 0, p.List; i+1 < len(par); i += 2 {
			h = Add(MatMul(h, par[i].Node), par[i+1].Node)
			if i+2 < len(par) {
				h = ReLU(h)
			}
		}
		loss = MSE(h, y)
	})
	if err != nil {
		b.Fatal(err)
	}
	grads, err := Grad(loss, p.Nodes()...)
	if err != nil {
		b.Fatal(err)
	}
	r, err := NewRunner(append([]*G.Node{loss}, grads...)...)
	if err != nil {
		b.Fatal(err)
	}
	gradVals := make([]*tensor.Dense, len(grads))
	for i, gn := range grads {
		gradVals[i] = r.Value(gn)
	}
	params := p.Values()
	opt := NewAdam(1e-3)

	// a fixed pool of batches (a linear teacher), fed in turn
	rng := rand.New(rand.NewPCG(1, 2))
	const pool = 16
	xs := make([]float64, pool*batch*in)
	ys := make([]float64, pool*batch*out)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	for i := range ys {
		ys[i] = rng.NormFloat64()
	}
	step := func(s int) float64 {
		j := s % pool
		if err := r.FeedFloat64s(x, xs[j*batch*in:(j+1)*batch*in]); err != nil {
			b.Fatal(err)
		}
		if err := r.FeedFloat64s(y, ys[j*batch*out:(j+1)*batch*out]); err != nil {
			b.Fatal(err)
		}
		if err := r.Run(); err != nil {
			b.Fatal(err)
		}
		if err := opt.Step(params, gradVals); err != nil {
			b.Fatal(err)
		}
		return r.Scalar(loss)
	}
	step(0) // the optimizer allocates its moments on the first step

	heapInuse := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapInuse
	}
	before := heapInuse()
	b.ReportAllocs()
	b.ResetTimer()
	var last float64
	for i := 0; i < b.N; i++ {
		for s := 0; s < steps; s++ {
			last = step(s)
		}
	}
	b.StopTimer()
	after := heapInuse()
	b.ReportMetric((float64(after)-float64(before))/1024/float64(b.N), "heap-growth-KiB")
	if rss, ok := rssMiB(); ok {
		b.ReportMetric(rss, "rss-MiB")
	}
	b.ReportMetric(last, "loss")
}

// rssMiB reads the resident set size of this process from /proc/self/statm.
func rssMiB() (float64, bool) {
	buf, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(buf))
	if len(f) < 2 {
		return 0, false
	}
	pages, err := strconv.ParseFloat(f[1], 64)
	if err != nil {
		return 0, false
	}
	return pages * float64(os.Getpagesize()) / (1 << 20), true
}
