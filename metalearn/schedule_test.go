package metalearn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
)

// sameState fails unless the two learners hold the same meta-parameters
// and outer optimizer state, bit for bit.
func sameState(t *testing.T, what string, a, b Learner) {
	t.Helper()
	sa, sb := stateOf(a), stateOf(b)
	if len(sa) != len(sb) {
		t.Fatalf("%s: %d and %d values of state", what, len(sa), len(sb))
	}
	for i := range sa {
		if math.Float64bits(sa[i]) != math.Float64bits(sb[i]) {
			t.Fatalf("%s: state value %d is %v, the old rule's %v", what, i, sa[i], sb[i])
		}
	}
}

// TestProtoNetHalvingIsStepSchedule: ProtoNet's halving, now the schedule
// step:7:0.5, reproduces bit for bit over 50 episodes what the old code
// did, kept here as the reference: a ProtoNet without a schedule whose
// Adam rate is halved by hand after every 7th episode.
func TestProtoNetHalvingIsStepSchedule(t *testing.T) {
	spec := Spec{Support: 6, Query: 6, Input: []int{4}, Classes: 3}
	net := func() models.Model { return &models.MLP{Sizes: []int{4, 8, 5}} }
	opts := func(halving int) ProtoNetOptions {
		return ProtoNetOptions{Options: Options{Spec: spec, Seed: 2, Workers: 1}, LR: 0.01, LRHalvingEvery: halving}
	}
	l, err := NewProtoNet(net(), opts(7))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewProtoNet(net(), opts(-1))
	if err != nil {
		t.Fatal(err)
	}
	if ref.Schedule() != nil || l.Schedule() != (graph.StepDecay{Every: 7, Gamma: 0.5}) {
		t.Fatalf("schedules %v and %v", l.Schedule(), ref.Schedule())
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for episode := 1; episode <= 50; episode++ {
		task := []Task{randomTask(rng, spec)}
		if _, err := l.MetaStep(task); err != nil {
			t.Fatal(err)
		}
		if _, err := ref.MetaStep(task); err != nil {
			t.Fatal(err)
		}
		if episode%7 == 0 { // the old rule
			s := ref.Optimizer().(graph.LRSetter)
			s.SetLR(s.GetLR() / 2)
		}
	}
	sameState(t, "protonet", l, ref)
	if lr := l.Optimizer().State().LR; lr != 0.01/128 {
		t.Errorf("rate after 50 episodes %v, want 0.01 halved 7 times", lr)
	}
}

// TestReptileAnnealingIsLinearSchedule: Reptile's annealing of ε, now the
// schedule linear:steps=40, reproduces bit for bit over 50 iterations
// (past its end, where ε is 0) what the old code did, kept here as the
// reference: a Reptile without annealing whose SGD rate is set by hand
// before every meta-step to ε·max(1 − iteration/40, 0).
func TestReptileAnnealingIsLinearSchedule(t *testing.T) {
	const iterations, eps = 40, 0.3
	opts := func(anneal int) ReptileOptions {
		return ReptileOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.05, Seed: 4, Workers: 1},
			InnerBatch: 2, Iterations: anneal, OuterLR: eps}
	}
	l, err := NewReptile(smallModel(), opts(iterations))
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewReptile(smallModel(), opts(0))
	if err != nil {
		t.Fatal(err)
	}
	if ref.Schedule() != nil || l.Schedule() != (graph.LinearDecay{Steps: iterations}) {
		t.Fatalf("schedules %v and %v", l.Schedule(), ref.Schedule())
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for it := range 50 {
		tasks := smallTasks(smallSpec)(rng, 3)
		if _, err := l.MetaStep(tasks); err != nil {
			t.Fatal(err)
		}
		frac := 1 - float64(it)/float64(iterations) // the old rule
		ref.Optimizer().(graph.LRSetter).SetLR(eps * math.Max(frac, 0))
		if _, err := ref.MetaStep(tasks); err != nil {
			t.Fatal(err)
		}
	}
	sameState(t, "reptile", l, ref)
}

// TestLearnerScheduleOption: Options.Schedule replaces a learner's own
// schedule, and counts outer steps across a checkpoint (LoadState).
func TestLearnerScheduleOption(t *testing.T) {
	exp := graph.ExpDecay{Gamma: 0.9}
	l, err := NewReptile(smallModel(), ReptileOptions{Options: Options{Spec: smallSpec, Seed: 4, Workers: 1, Schedule: exp},
		Iterations: 3, OuterLR: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 4 {
		if _, err := l.MetaStep(smallTasks(smallSpec)(rng, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := l.Optimizer().State().LR, exp.Rate(0.5, 4); got != want {
		t.Errorf("ε after 4 iterations %v, want %v", got, want)
	}
	maml, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, Seed: 4, Workers: 1, Outer: graph.NewAdam(0.01), Schedule: exp}})
	if err != nil {
		t.Fatal(err)
	}
	ck := maml.Params().Snapshot("x")
	if err := maml.LoadState(ck, 6); err != nil {
		t.Fatal(err)
	}
	if got, want := maml.Optimizer().State().LR, exp.Rate(0.01, 6); got != want {
		t.Errorf("MAML's rate after resuming at iteration 6: %v, want %v", got, want)
	}
}

// TestMetaGradientClipping: with ClipNorm the outer step takes the
// meta-gradient scaled to that norm. With SGD at rate 1 the unclipped
// learner's step is −g, so the clipped one must end at θ₀ − g·c/‖g‖.
func TestMetaGradientClipping(t *testing.T) {
	tasks := smallTasks(smallSpec)(rand.New(rand.NewPCG(7, 8)), 3)
	learner := func(clip float64) Learner {
		l, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3, Workers: 1,
			Outer: graph.NewSGD(1), ClipNorm: clip}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	flat := func(l Learner) []float64 {
		var all []float64
		for _, v := range l.Params().Values() {
			all = append(all, v.Float64s()...)
		}
		return all
	}
	plain := learner(0)
	theta0 := flat(plain)
	if _, err := plain.MetaStep(tasks); err != nil {
		t.Fatal(err)
	}
	g, norm := flat(plain), 0.0
	for i := range g {
		g[i] = theta0[i] - g[i]
		norm += g[i] * g[i]
	}
	norm = math.Sqrt(norm)
	clip := norm / 5
	clipped := learner(clip)
	if _, err := clipped.MetaStep(tasks); err != nil {
		t.Fatal(err)
	}
	for i, got := range flat(clipped) {
		if want := theta0[i] - g[i]*clip/norm; math.Abs(got-want) > 1e-12 {
			t.Fatalf("meta-parameter %d: %v, want %v", i, got, want)
		}
	}
	if _, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, ClipNorm: -1}}); err == nil {
		t.Error("a negative clip norm was taken")
	}
}
