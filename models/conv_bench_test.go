package models

import (
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
)

// BenchmarkConv4Step times one Adam step of Conv-4 (64 filters) on a batch
// of 32 MNIST-sized images, forward and backward.
func BenchmarkConv4Step(b *testing.B) {
	m, _ := New("conv4", Spec{})
	tr, err := NewTrainer(m, graph.NewAdam(1e-3), TrainerOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	x, y := make([]float64, 32*784), make([]float64, 32)
	for i := range x {
		x[i] = rng.Float64()
	}
	for i := range y {
		y[i] = float64(i % 10)
	}
	if _, err := tr.Step(x, y); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := tr.Step(x, y); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(32*float64(b.N)/b.Elapsed().Seconds(), "images/s")
}
