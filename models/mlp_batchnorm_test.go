package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMLPBatchNormParams: a batch-normalised MLP has w<i>, bn<i>.scale (ones)
// and bn<i>.shift (zeros) for each hidden layer, and a bias only in the
// last; the registered MLPs take the option, and their names say so.
func TestMLPBatchNormParams(t *testing.T) {
	m := &MLP{Sizes: []int{4, 6, 5, 3}, Hidden: SigmoidActivation, BatchNorm: true, Prefix: "net."}
	p := graph.NewParams(G.NewGraph(), tensor.Float64)
	if err := m.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, par := range p.List {
		names = append(names, par.Name)
	}
	want := []string{"net.w1", "net.bn1.scale", "net.bn1.shift", "net.w2", "net.bn2.scale", "net.bn2.shift", "net.w3", "net.b3"}
	if !slices.Equal(names, want) {
		t.Fatalf("parameters %v, want %v", names, want)
	}
	for i, size := range m.Sizes[1 : len(m.Sizes)-1] {
		scale, shift := m.NormNames(i + 1)
		for name, v := range map[string]float64{scale: 1, shift: 0} {
			got := p.Get(name).Value.Data().([]float64)
			if len(got) != size || slices.ContainsFunc(got, func(x float64) bool { return x != v }) {
				t.Errorf("%s = %v, want %d times %g", name, got, size, v)
			}
		}
	}
	for _, c := range []struct {
		model string
		spec  Spec
		want  string
	}{
		{"mlp", Spec{BatchNorm: true}, "mlp-784-100-10-relu-bn"},
		{"mlp", Spec{Activation: SigmoidActivation, BatchNorm: true, Hidden: []int{30, 30}}, "mlp-784-30-30-10-sigmoid-bn"},
		{"mlp", Spec{Activation: ReLUActivation}, "mlp-784-100-10-relu"},
		{"seed", Spec{BatchNorm: true}, "seed-784-30-10-bn"},
		{"seed", Spec{Activation: ReLUActivation}, "seed-784-30-10-relu"},
		{"seed", Spec{Activation: SigmoidActivation}, "seed-784-30-10"},
	} {
		got, err := New(c.model, c.spec)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name() != c.want {
			t.Errorf("New(%s, %+v).Name() = %s, want %s", c.model, c.spec, got.Name(), c.want)
		}
	}
	for _, c := range []struct {
		model string
		spec  Spec
	}{
		{"mlp", Spec{Activation: "swish"}},
		{"conv4", Spec{BatchNorm: true}},
		{"conv4", Spec{Activation: TanhActivation}},
		{"cnp", Spec{BatchNorm: true}},
	} {
		if _, err := New(c.model, c.spec); err == nil {
			t.Errorf("New(%s, %+v) took it", c.model, c.spec)
		}
	}
}

// TestMLPBatchNormForward compares a batch-normalised tanh MLP's output
// with the same network computed by hand: each hidden layer x·W,
// normalised per column over the batch with the biased variance and ε =
// 1e-5, scaled, shifted, then tanh; the last layer x·W + b.
func TestMLPBatchNormForward(t *testing.T) {
	const n = 7
	m := &MLP{Sizes: []int{3, 5, 4, 2}, Hidden: TanhActivation, BatchNorm: true}
	p := initTorchTest(t, m, tensor.Float64, 4) // random scales and shifts too
	rng := rand.New(rand.NewPCG(8, 9))
	xs := make([]float64, n*3)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	get := func(name string) []float64 { return p.Get(name).Value.Data().([]float64) }
	h, width := xs, 3
	for i := 1; i < len(m.Sizes); i++ {
		wn, bn := m.LayerNames(i)
		out := m.Sizes[i]
		next := matMul(h, get(wn), n, width, out)
		if m.HasBias(i) {
			for r := 0; r < n; r++ {
				for c := 0; c < out; c++ {
					next[r*out+c] += get(bn)[c]
				}
			}
		} else {
			scale, shift := m.NormNames(i)
			for c := 0; c < out; c++ {
				var mean, v float64
				for r := 0; r < n; r++ {
					mean += next[r*out+c] / n
				}
				for r := 0; r < n; r++ {
					v += (next[r*out+c] - mean) * (next[r*out+c] - mean) / n
				}
				for r := 0; r < n; r++ {
					next[r*out+c] = math.Tanh(get(scale)[c]*(next[r*out+c]-mean)/math.Sqrt(v+1e-5) + get(shift)[c])
				}
			}
		}
		h, width = next, out
	}
	x := G.NewMatrix(p.Nodes()[0].Graph(), tensor.Float64, G.WithShape(n, 3), G.WithName("x"))
	var y *G.Node
	if err := graph.Build(func() { y = m.Forward(p.Weights(), x) }); err != nil {
		t.Fatal(err)
	}
	r, err := graph.NewRunner(y)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Feed(x, xs); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	got := r.Float64s(y)
	for i := range h {
		if math.Abs(got[i]-h[i]) > 1e-12 {
			t.Fatalf("output %d = %v, want %v (all: %v, want %v)", i, got[i], h[i], got, h)
		}
	}
}

// matMul returns the (n, k) product of a (n, m) and b (m, k), row-major.
func matMul(a, b []float64, n, m, k int) []float64 {
	c := make([]float64, n*k)
	for i := 0; i < n; i++ {
		for j := 0; j < m; j++ {
			for l := 0; l < k; l++ {
				c[i*k+l] += a[i*m+j] * b[j*k+l]
			}
		}
	}
	return c
}

// TestMLPBatchNormGradient checks the gradient of a small batch-normalised
// sigmoid MLP under the cross-entropy loss against central finite
// differences, for every parameter and the input, and one second
// derivative: that of the squared gradient norm (what a meta-gradient
// differentiates).
func TestMLPBatchNormGradient(t *testing.T) {
	const n = 4
	m := &MLP{Sizes: []int{3, 5, 4, 3}, Hidden: SigmoidActivation, BatchNorm: true}
	p := initTorchTest(t, m, tensor.Float64, 2)
	g := p.Nodes()[0].Graph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(n, 3), G.WithName("x"))
	y := G.NewVector(g, tensor.Float64, G.WithShape(n), G.WithName("y"))
	var loss, gradNorm *G.Node
	if err := graph.Build(func() { loss = graph.CrossEntropy(m.Forward(p.Weights(), x), y) }); err != nil {
		t.Fatal(err)
	}
	grads, err := graph.Grad(loss, p.Nodes()...)
	if err != nil {
		t.Fatal(err)
	}
	if err := graph.Build(func() {
		for _, gr := range grads {
			sq := graph.Sum(graph.Square(gr))
			if gradNorm == nil {
				gradNorm = sq
			} else {
				gradNorm = graph.Add(gradNorm, sq)
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	xs := make([]float64, n*3)
	for i := range xs {
		xs[i] = rng.NormFloat64()
	}
	feeds := map[*G.Node][]float64{x: xs, y: {0, 2, 1, 2}}
	for _, c := range []struct {
		name string
		f    *G.Node
		wrt  []*G.Node
	}{
		{"gradient", loss, append(p.Nodes(), x)},
		{"second derivative", gradNorm, p.Nodes()},
	} {
		res, err := graph.CheckGradient(c.f, c.wrt, graph.CheckOptions{Feeds: feeds})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: max rel err %.2e over %d elements", c.name, res.MaxRelErr, res.Checked)
		if res.MaxRelErr > 1e-5 {
			t.Errorf("%s: max rel err %.2e (%s)", c.name, res.MaxRelErr, res.Worst)
		}
	}
}

// TestMLPBatchNormLearnsDeepSigmoid trains a deep sigmoid network (eight
// hidden layers of 16) by plain SGD on a 3-class problem a linear teacher
// labels: without batch norm its gradients vanish and it stays at the
// majority class; with batch norm it fits the training set.
func TestMLPBatchNormLearnsDeepSigmoid(t *testing.T) {
	const n, in, classes, batch, steps = 512, 10, 3, 64, 200
	rng := rand.New(rand.NewPCG(1, 2))
	teacher := make([]float64, in*classes)
	for i := range teacher {
		teacher[i] = rng.NormFloat64()
	}
	ds := randomSet{x: make([]float64, n*in), y: make([]float64, n), in: in}
	for i := range ds.x {
		ds.x[i] = rng.NormFloat64()
	}
	counts := make([]int, classes)
	scores := matMul(ds.x, teacher, n, in, classes)
	for i := range ds.y {
		c := argmax(scores[i*classes : (i+1)*classes])
		ds.y[i] = float64(c)
		counts[c]++
	}
	majority := float64(slices.Max(counts)) / n
	acc := map[bool]float64{}
	for _, bn := range []bool{false, true} {
		m := &MLP{Sizes: []int{in, 16, 16, 16, 16, 16, 16, 16, 16, classes}, Hidden: SigmoidActivation, BatchNorm: bn}
		tr, err := NewTrainer(m, graph.NewSGD(0.1), TrainerOptions{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		batches := rand.New(rand.NewPCG(4, 5))
		x, y, idx := make([]float64, batch*in), make([]float64, batch), make([]int, batch)
		for range steps {
			for k := range idx {
				idx[k] = batches.IntN(n)
			}
			ds.FillBatch(idx, x, y)
			if _, err := tr.Step(x, y); err != nil {
				t.Fatal(err)
			}
		}
		if acc[bn], err = tr.Accuracy(ds, n); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("training accuracy after %d steps: %.3f without batch norm, %.3f with (majority class %.3f)", steps, acc[false], acc[true], majority)
	if acc[false] > majority+0.05 {
		t.Errorf("without batch norm: accuracy %.3f; the test wants a network whose gradients vanish (majority class %.3f)", acc[false], majority)
	}
	if acc[true] < 0.9 {
		t.Errorf("with batch norm: accuracy %.3f, want at least 0.9", acc[true])
	}
}

func argmax(v []float64) int {
	best := 0
	for i := range v {
		if v[i] > v[best] {
			best = i
		}
	}
	return best
}
