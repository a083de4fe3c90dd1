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

// TestTrainerClipAndSchedule: a trainer with ClipNorm and a Schedule
// moves its parameters by the schedule's rate times the gradient scaled
// to norm ClipNorm. The gradient comes from a plain trainer with SGD at
// rate 1, whose step is −g.
func TestTrainerClipAndSchedule(t *testing.T) {
	m := &MLP{Sizes: []int{4, 6, 3}, Hidden: SigmoidActivation}
	rng := rand.New(rand.NewPCG(4, 5))
	x, y := make([]float64, 5*4), []float64{0, 1, 2, 1, 0}
	for i := range x {
		x[i] = 3 * rng.NormFloat64()
	}
	plain, err := NewTrainer(m, graph.NewSGD(1), TrainerOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	before := flatValues(plain.Params)
	if _, err := plain.Step(x, y); err != nil {
		t.Fatal(err)
	}
	g := flatValues(plain.Params)
	norm := 0.0
	for i := range g {
		g[i] = before[i] - g[i]
		norm += g[i] * g[i]
	}
	norm = math.Sqrt(norm)
	clip := norm / 4
	sched := graph.StepDecay{Every: 2, Gamma: 0.1}
	tr, err := NewTrainer(m, graph.NewSGD(0.5), TrainerOptions{Seed: 3, ClipNorm: clip, Schedule: sched})
	if err != nil {
		t.Fatal(err)
	}
	tr.Steps = 3 // the schedule's rate of step 3: 0.5·0.1
	if _, err := tr.Step(x, y); err != nil {
		t.Fatal(err)
	}
	lr := sched.Rate(0.5, 3)
	for i, got := range flatValues(tr.Params) {
		if want := before[i] - lr*g[i]*clip/norm; math.Abs(got-want) > 1e-12 {
			t.Fatalf("parameter %d: %v, want %v", i, got, want)
		}
	}
	if _, err := NewTrainer(m, noRate{graph.NewSGD(1)}, TrainerOptions{Schedule: sched}); err == nil {
		t.Error("a schedule on an optimizer without a settable rate was taken")
	}
}

// noRate is an optimizer whose rate cannot be set.
type noRate struct{ graph.Optimizer }

// flatValues returns every parameter's values, in order, as float64.
func flatValues(p *graph.Params) []float64 {
	var all []float64
	for _, v := range p.Values() {
		all = append(all, v.Float64s()...)
	}
	return all
}
