package metalearn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/metagon/metagon/graph"
	"gorgonia.org/tensor"
)

func reptileParams(t *testing.T, o ReptileOptions, iterations int) []float64 {
	t.Helper()
	l, err := NewReptile(smallModel(), o)
	if err != nil {
		t.Fatal(err)
	}
	return metaTrainSmall(t, l, rand.New(rand.NewPCG(20, 21)), iterations, 4)
}

// TestReptileInnerBatches: mini-batches are rows of the support set, the
// first ⌊n/b⌋ of them disjoint; a batch as large as the support set is the
// whole-set inner loop; workers do not change the result.
func TestReptileInnerBatches(t *testing.T) {
	base := ReptileOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.05, Seed: 4, Workers: 1}}

	l, err := NewReptile(smallModel(), ReptileOptions{Options: base.Options, InnerBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	task := randomTask(rand.New(rand.NewPCG(1, 2)), smallSpec)
	in := smallSpec.inputSize()
	batches := l.miniBatches(task, 0)
	if len(batches) != 3 {
		t.Fatalf("%d batches for 3 inner steps", len(batches))
	}
	seen := map[int]int{}
	for s, b := range batches {
		if len(b.SupportX) != 2*in || len(b.SupportY) != 2 {
			t.Fatalf("batch %d: %d inputs, %d targets; want 2 examples", s, len(b.SupportX)/in, len(b.SupportY))
		}
		for k := range 2 {
			row := -1
			for j := range smallSpec.Support {
				if slices.Equal(task.SupportX[j*in:(j+1)*in], b.SupportX[k*in:(k+1)*in]) && task.SupportY[j] == b.SupportY[k] {
					row = j
				}
			}
			if row < 0 {
				t.Fatalf("batch %d example %d is not a support example", s, k)
			}
			if s < 2 {
				seen[row]++
			}
		}
	}
	for row, n := range seen {
		if n > 1 {
			t.Errorf("support example %d appears %d times in the first two batches", row, n)
		}
	}
	if other := l.miniBatches(task, 1); slices.Equal(other[0].SupportY, batches[0].SupportY) && slices.Equal(other[1].SupportY, batches[1].SupportY) &&
		slices.Equal(other[0].SupportX, batches[0].SupportX) {
		t.Error("tasks 0 and 1 of a meta-batch got the same shuffle")
	}

	whole := reptileParams(t, base, 3)
	big := base
	big.InnerBatch = smallSpec.Support
	if got := reptileParams(t, big, 3); !slices.Equal(got, whole) {
		t.Error("inner batch = support size differs from the whole-set inner loop")
	}
	small := base
	small.InnerBatch = 2
	reptileVariant(t, whole, small, 3, "inner batches of 2", "whole-set steps")
}

// reptileVariant trains Reptile with options v for the given iterations,
// checks that it ends elsewhere than baseline (the meta-parameters of the
// setting it varies) and that 3 workers give the same result, and returns
// its meta-parameters.
func reptileVariant(t *testing.T, baseline []float64, v ReptileOptions, iterations int, what, than string) []float64 {
	t.Helper()
	got := reptileParams(t, v, iterations)
	if slices.Equal(got, baseline) {
		t.Errorf("%s gave the same meta-parameters as %s", what, than)
	}
	v.Workers = 3
	if other := reptileParams(t, v, iterations); !slices.Equal(other, got) {
		t.Errorf("3 workers changed the result of Reptile with %s", what)
	}
	return got
}

// TestZeroHead: the named weights are zero at the start and after every
// meta-update, for MAML and Reptile, while the others learn.
func TestZeroHead(t *testing.T) {
	o := Options{Spec: smallSpec, InnerLR: 0.05, Seed: 4, ZeroHead: []string{"w3", "b3"}}
	maml, err := NewMAML(smallModel(), MAMLOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	reptile, err := NewReptile(smallModel(), ReptileOptions{Options: o, InnerBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Learner{maml, reptile} {
		before := slices.Clone(l.Params().Get("w1").Value.Float64s())
		metaTrainSmall(t, l, rand.New(rand.NewPCG(5, 6)), 3, 4)
		for _, n := range []string{"w3", "b3"} {
			for _, v := range l.Params().Get(n).Value.Float64s() {
				if v != 0 {
					t.Fatalf("%s: %s = %v after meta-updates, want 0", l.Name(), n, v)
				}
			}
		}
		if slices.Equal(before, l.Params().Get("w1").Value.Float64s()) {
			t.Errorf("%s: w1 did not move", l.Name())
		}
	}
	if _, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, ZeroHead: []string{"fc.w"}}}); err == nil {
		t.Error("zeroing a weight the model lacks: no error")
	}
}

// TestMergeAdam: merging one task's final state gives that state exactly;
// merging several is within the documented bound of Adam run on the same
// gradients one task after another.
func TestMergeAdam(t *testing.T) {
	const k, n, size, beta2 = 5, 4, 7, 0.999
	rng := rand.New(rand.NewPCG(8, 9))
	params := func() []*tensor.Dense {
		return []*tensor.Dense{tensor.New(tensor.WithShape(size), tensor.WithBacking(make([]float64, size)))}
	}
	grads := make([][]*tensor.Dense, n*k)
	for s := range grads {
		g := make([]float64, size)
		for j := range g {
			g[j] = rng.NormFloat64() * float64(1+j)
		}
		grads[s] = []*tensor.Dense{tensor.New(tensor.WithShape(size), tensor.WithBacking(g))}
	}
	newAdam := func() *graph.Adam { return &graph.Adam{LR: 1e-3, Beta1: 1e-12, Beta2: beta2} }

	// a carried state to start from: 3 steps on the last gradients
	warm := newAdam()
	p := params()
	for s := 0; s < 3; s++ {
		if err := warm.Step(p, grads[len(grads)-1-s]); err != nil {
			t.Fatal(err)
		}
	}
	prev := warm.State()

	seq := newAdam()
	if err := seq.SetState(prev); err != nil {
		t.Fatal(err)
	}
	finals := make([]graph.OptimizerState, n)
	for i := range finals {
		a := newAdam()
		if err := a.SetState(prev); err != nil {
			t.Fatal(err)
		}
		for s := 0; s < k; s++ {
			g := grads[i*k+s]
			if err := a.Step(params(), g); err != nil {
				t.Fatal(err)
			}
			if err := seq.Step(p, g); err != nil {
				t.Fatal(err)
			}
		}
		finals[i] = a.State()
	}

	one := mergeAdam(prev, finals[:1], beta2)
	if one.Step != finals[0].Step || !slices.Equal(one.Slots[0][0], finals[0].Slots[0][0]) {
		t.Errorf("merge of one task: step %d, m %v; want step %d, m %v", one.Step, one.Slots[0][0], finals[0].Step, finals[0].Slots[0][0])
	}
	for j, v := range one.Slots[1][0] {
		if want := finals[0].Slots[1][0][j]; math.Abs(v-want) > 1e-15*want {
			t.Errorf("merge of one task: v[%d] = %v, want %v", j, v, want)
		}
	}

	all, want := mergeAdam(prev, finals, beta2), seq.State()
	if all.Step != want.Step {
		t.Errorf("merged step count %d, sequential %d", all.Step, want.Step)
	}
	bound := 1 - math.Pow(beta2, float64(n*k)) // the decay the merge ignores
	for j, v := range all.Slots[1][0] {
		w := want.Slots[1][0][j]
		if rel := math.Abs(v-w) / w; rel > bound {
			t.Errorf("merged v[%d] = %v, sequential %v: relative difference %.2g > %.2g", j, v, w, rel, bound)
		}
	}
}

// TestReptileCarryAdam: a carried inner Adam changes the result, does not
// depend on the number of workers, and resumes exactly from a saved
// InnerState.
func TestReptileCarryAdam(t *testing.T) {
	base := ReptileOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.01, Seed: 4, Workers: 1}, InnerAdam: true, InnerBatch: 2}
	fresh := reptileParams(t, base, 4)
	carry := base
	carry.CarryAdam = true
	got := reptileVariant(t, fresh, carry, 4, "a carried inner Adam", "a fresh Adam per task")

	// 2 meta-steps, save, restore into a new learner, 2 more: as 4 in a row
	first, err := NewReptile(smallModel(), carry)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(20, 21))
	metaTrainSmall(t, first, rng, 2, 4)
	state := first.InnerState()
	if state.Kind != "adam" || state.Step != 2*4*3 {
		t.Fatalf("inner state after 2 meta-steps of 4 tasks × 3 steps: kind %q, step %d; want adam, 24", state.Kind, state.Step)
	}
	second, err := NewReptile(smallModel(), carry)
	if err != nil {
		t.Fatal(err)
	}
	if err := second.Params().Restore(first.Params().Snapshot("m"), "m"); err != nil {
		t.Fatal(err)
	}
	if err := second.SetInnerState(state); err != nil {
		t.Fatal(err)
	}
	second.SetIteration(2)
	if resumed := metaTrainSmall(t, second, rng, 2, 4); !slices.Equal(resumed, got) {
		t.Error("resuming from InnerState differs from an uninterrupted run")
	}
	if err := second.SetInnerState(graph.OptimizerState{Kind: "sgd"}); err == nil {
		t.Error("SetInnerState accepted an SGD state")
	}
}
