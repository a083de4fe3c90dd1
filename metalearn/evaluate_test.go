package metalearn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestAdaptAtMatchesAdapt: measuring only after some numbers of steps
// gives exactly the entries of the full adaptation at those steps, for the
// engine's learners and Reptile, and EvaluateAt the matching rows of
// Evaluate.
func TestAdaptAtMatchesAdapt(t *testing.T) {
	o := Options{Spec: smallSpec, InnerLR: 0.05, Seed: 4}
	maml, err := NewMAML(smallModel(), MAMLOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	reptile, err := NewReptile(smallModel(), ReptileOptions{Options: o, InnerAdam: true, CarryAdam: true, InnerBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	tasks := make([]Task, 3)
	for i := range tasks {
		tasks[i] = randomTask(rng, smallSpec)
	}
	at := []int{0, 2, 5}
	for _, l := range []StepAdapter{maml, reptile} {
		metaTrainSmall(t, l, rng, 2, 4) // so that Reptile carries an Adam state
		full, err := l.Adapt(tasks, 5)
		if err != nil {
			t.Fatal(err)
		}
		some, err := l.AdaptAt(tasks, at)
		if err != nil {
			t.Fatal(err)
		}
		for i := range tasks {
			if !slices.Equal(some[i].Steps, at) || len(some[i].Loss) != len(at) || full[i].Steps != nil || len(full[i].Loss) != 6 {
				t.Fatalf("%s task %d: AdaptAt steps %v with %d entries, Adapt steps %v with %d; want %v/3 and nil/6",
					l.Name(), i, some[i].Steps, len(some[i].Loss), full[i].Steps, len(full[i].Loss), at)
			}
			for k, s := range at {
				if some[i].Loss[k] != full[i].Loss[s] || !slices.Equal(some[i].Outputs[k], full[i].Outputs[s]) {
					t.Errorf("%s task %d after %d steps: loss %v, Adapt %v", l.Name(), i, s, some[i].Loss[k], full[i].Loss[s])
				}
			}
		}
		evAll, err := Evaluate(l, tasks, 5)
		if err != nil {
			t.Fatal(err)
		}
		evSome, err := EvaluateAt(l, tasks, at)
		if err != nil {
			t.Fatal(err)
		}
		for k, s := range at {
			if evSome.Loss[k] != evAll.Loss[s] || evSome.Steps[k] != s || evAll.Steps[s] != s {
				t.Errorf("%s: EvaluateAt row %d (%d steps) = %v, Evaluate row %d = %v", l.Name(), k, evSome.Steps[k], evSome.Loss[k], s, evAll.Loss[s])
			}
		}
		for _, bad := range [][]int{nil, {2, 1}, {-1, 3}, {1, 1}} {
			if _, err := l.AdaptAt(tasks, bad); err == nil {
				t.Errorf("%s: AdaptAt(%v): no error", l.Name(), bad)
			}
		}
	}
}
