package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
)

// randomSet is a LabeledSet of random inputs and labels.
type randomSet struct {
	x, y []float64
	in   int
}

func (s randomSet) Len() int { return len(s.y) }

func (s randomSet) FillBatch(idx []int, x, labels []float64) {
	for k, i := range idx {
		copy(x[k*s.in:(k+1)*s.in], s.x[i*s.in:(i+1)*s.in])
		labels[k] = s.y[i]
	}
}

// TestTrainerAccuracy: Accuracy counts the examples whose largest output is
// the label, whatever the batch size, including a last partial batch.
func TestTrainerAccuracy(t *testing.T) {
	m := &MLP{Sizes: []int{4, 6, 3}, Hidden: SigmoidActivation, ModelName: "mlp-4-6-3"}
	tr, err := NewTrainer(m, graph.NewSGD(0.1), TrainerOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 23
	ds := randomSet{x: make([]float64, n*4), y: make([]float64, n), in: 4}
	for i := range ds.x {
		ds.x[i] = rng.NormFloat64()
	}
	for i := range ds.y {
		ds.y[i] = float64(rng.IntN(3))
	}
	correct := 0
	for i := range n {
		out, err := tr.Predict(ds.x[i*4:(i+1)*4], 1)
		if err != nil {
			t.Fatal(err)
		}
		best := 0
		for c := range out {
			if out[c] > out[best] {
				best = c
			}
		}
		if best == int(ds.y[i]) {
			correct++
		}
	}
	want := float64(correct) / n
	if correct == 0 || correct == n {
		t.Fatalf("%d of %d correct: pick another seed so that the count means something", correct, n)
	}
	for _, batch := range []int{1, 5, 23, 0} {
		got, err := tr.Accuracy(ds, batch)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(got-want) > 1e-12 {
			t.Errorf("batch %d: accuracy %v, want %v (%d of %d)", batch, got, want, correct, n)
		}
	}
}
