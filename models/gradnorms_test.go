package models

import (
	"math"
	"testing"

	"github.com/metagon/metagon/graph"
)

// TestGradNorms: for a linear layer under the mean squared error against
// one-hot targets, L = mean((x·W + b − t)²) over the N×C outputs, the
// gradients are dW = xᵀ·R and db = Σ_rows R with R = 2(x·W + b − t)/(N·C);
// GradNorms after a Step gives their L2 norms, computed here from the
// weights before the step, in the order of Params.List.
func TestGradNorms(t *testing.T) {
	const n, in, classes = 7, 3, 2
	m := &MLP{Sizes: []int{in, classes}, BiasInit: TorchDefaultInit}
	tr, err := NewTrainer(m, graph.NewSGD(0.1), TrainerOptions{Loss: MSELoss, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	if tr.GradNorms() != nil {
		t.Errorf("GradNorms before the first step: %v, want nil", tr.GradNorms())
	}
	x, labels := randomBatch(2, n, in, classes)
	w := append([]float64(nil), tr.Params.Get("w1").Value.Float64s()...)
	b := append([]float64(nil), tr.Params.Get("b1").Value.Float64s()...)
	var dw, db [in * classes]float64
	for r := range n {
		for c := range classes {
			out := b[c]
			for k := range in {
				out += x[r*in+k] * w[k*classes+c]
			}
			target := 0.0
			if int(labels[r]) == c {
				target = 1
			}
			res := 2 * (out - target) / (n * classes)
			for k := range in {
				dw[k*classes+c] += x[r*in+k] * res
			}
			db[c] += res
		}
	}
	norm := func(v []float64) float64 {
		s := 0.0
		for _, e := range v {
			s += e * e
		}
		return math.Sqrt(s)
	}
	want := []float64{norm(dw[:]), norm(db[:classes])}
	if _, err := tr.Step(x, labels); err != nil {
		t.Fatal(err)
	}
	got := tr.GradNorms()
	if len(got) != len(tr.Params.List) {
		t.Fatalf("%d norms for %d parameters", len(got), len(tr.Params.List))
	}
	for i, p := range tr.Params.List {
		if math.Abs(got[i]-want[i]) > 1e-12*want[i] {
			t.Errorf("%s: gradient norm %.15g, want %.15g", p.Name, got[i], want[i])
		}
	}
}
