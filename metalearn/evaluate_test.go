package metalearn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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

// fixedAdapter is a Learner whose adaptations are given.
type fixedAdapter struct {
	Learner
	res []Adaptation
}

func (f fixedAdapter) Adapt([]Task, int) ([]Adaptation, error) { return f.res, nil }

// TestEvaluateExtra: Evaluate summarises an Extra measure that every task
// reports (mean and 95% CI, as the loss), leaves out one that some task
// lacks, describes it by its name (Measure's defaults: column "query
// NLL", key query_nll) and the table gives it a column.
func TestEvaluateExtra(t *testing.T) {
	l := fixedAdapter{res: []Adaptation{
		{Loss: []float64{1}, Extra: map[string][]float64{"NLL": {0.5}, "other": {1}}},
		{Loss: []float64{3}, Extra: map[string][]float64{"NLL": {-1.5}}},
	}}
	ev, err := Evaluate(l, make([]Task, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []Measure{{Name: "NLL", Column: "query NLL", Key: "query_nll"}}; !slices.Equal(ev.Measures, want) || len(ev.Extra) != 1 {
		t.Fatalf("measures %v of %v, want %v", ev.Measures, ev.Extra, want)
	}
	// mean (0.5 − 1.5)/2; population std 1, so the CI is 1.96·1/√2
	if s, m, ci := ev.Extra["NLL"][0], (0.5-1.5)/2, 1.96/math.Sqrt2; s.Mean != m || math.Abs(s.CI95-ci) > 1e-15 || s.N != 2 {
		t.Errorf("NLL summary %+v, want %v ± %.4f over 2", s, m, ci)
	}
	ci := 1.96 / math.Sqrt2 // both measures: population std 1 over 2 tasks
	want := fmt.Sprintf("| query MSE (2 tasks, 95%% CI) | query NLL |\n|---|---|\n| %.3f ± %.3f | %.3f ± %.3f |\n", 2.0, ci, -0.5, ci)
	if got := ev.Table(); got != want {
		t.Errorf("table\n%s\nwant\n%s", got, want)
	}
}

// fixedMeasurer is a fixedAdapter that describes its measures.
type fixedMeasurer struct {
	fixedAdapter
	measures []Measure
}

func (f fixedMeasurer) Measures() []Measure { return f.measures }

// TestEvaluateMeasurer: a Measurer's measures come first, in its order and
// as it describes them (a percentage, its own column), then any other by
// name; a task with NaN is left out of that measure's summary, and a
// measure no task has a number for is summarised (N = 0) but has no
// column.
func TestEvaluateMeasurer(t *testing.T) {
	nan := math.NaN()
	l := fixedMeasurer{fixedAdapter{res: []Adaptation{
		{Loss: []float64{1}, Accuracy: []float64{0.5}, Extra: map[string][]float64{"b": {0.25}, "a": {2}, "c": {1}, "never": {nan}}},
		{Loss: []float64{3}, Accuracy: []float64{0.5}, Extra: map[string][]float64{"b": {nan}, "a": {4}, "c": {1}, "never": {nan}}},
	}}, []Measure{{Name: "b", Column: "B", Key: "b", Percent: true}, {Name: "never", Column: "N"}, {Name: "a"}, {Name: "unreported"}}}
	ev, err := Evaluate(l, make([]Task, 2), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []Measure{{Name: "b", Column: "B", Key: "b", Percent: true}, {Name: "never", Column: "N", Key: "query_never"},
		{Name: "a", Column: "query a", Key: "query_a"}, {Name: "c", Column: "query c", Key: "query_c"}}
	if !slices.Equal(ev.Measures, want) {
		t.Fatalf("measures %v, want %v", ev.Measures, want)
	}
	if b, never := ev.Extra["b"][0], ev.Extra["never"][0]; b.N != 1 || b.Mean != 0.25 || never.N != 0 || !math.IsNaN(never.Mean) {
		t.Errorf("summaries of b %+v and never %+v: want 0.25 over 1 task and none", b, never)
	}
	head := "| query accuracy (2 tasks, 95% CI) | query loss | B | query a | query c |\n"
	if got := ev.Table(); !strings.HasPrefix(got, head) || !strings.Contains(got, "| 25.00 ± 0.00% |") {
		t.Errorf("table\n%s\nwant the header\n%sand b as a percentage", got, head)
	}
}
