package metalearn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// convSpec is 2-way classification of 8×8 images, small enough for finite
// differences through Conv-4.
var convSpec = Spec{Support: 4, Query: 4, Input: []int{1, 8, 8}, Classes: 2}

// convModel is a tiny Conv-4 (2 filters, two pooling blocks) with per-step
// batch norm sn.
func convModel(sn models.StepNorm) *models.Conv4 {
	return &models.Conv4{InChannels: 1, Height: 8, Width: 8, Filters: 2, Classes: 2, Pools: 2, PerStep: sn}
}

// spreadBN gives every batch-norm scale and shift distinct values, so that
// a set used in the wrong place shows.
func spreadBN(p *graph.Params, rng *rand.Rand) {
	for _, par := range p.List {
		if strings.HasPrefix(par.Name, "bn") {
			for i := range par.Value.Float64s() {
				par.Value.Float64s()[i] = 0.5 + rng.Float64()
			}
		}
	}
}

// TestStepNormInnerLoop: with per-step batch norm, MAML's inner loop
// leaves the per-step scales and shifts alone (no learned rates for them),
// which still receive a meta-gradient; the adaptation graph (one graph fed
// each step's set) reaches the query loss the meta-graph computes (the
// query after step s measured with set s), in training mode.
func TestStepNormInnerLoop(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	task := randomTask(rng, convSpec)
	l, err := NewGradient("maml", convModel(models.StepNorm{Steps: 3, Weights: true}), GradientOptions{
		Options: Options{Spec: convSpec, InnerSteps: 3, Seed: 4, Workers: 1}, Rule: &PerLayerPerStep{Init0: 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	spreadBN(l.Params(), rng)
	if want := []string{"conv1.w", "conv2.w", "conv3.w", "conv4.w", "fc.w", "fc.b"}; !slices.Equal(l.adapting, want) {
		t.Errorf("adapting %v, want %v", l.adapting, want)
	}
	for _, p := range l.Params().List {
		if strings.HasPrefix(p.Name, "lslr.bn") {
			t.Errorf("learned rate %s for a per-step weight", p.Name)
		}
	}
	mg, err := l.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	for j, p := range l.Params().List {
		if strings.HasPrefix(p.Name, "bn") && slices.Max(mg.Grads[j]) == 0 && slices.Min(mg.Grads[j]) == 0 {
			t.Errorf("%s: no meta-gradient", p.Name)
		}
	}
	ad, err := l.Adapt([]Task{task}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := ad[0].Loss[3]; math.Abs(got-mg.Loss) > 1e-12*math.Max(1, math.Abs(mg.Loss)) {
		t.Errorf("query loss after 3 steps: %.15g adapting, %.15g in the meta-graph", got, mg.Loss)
	}
	after, err := l.AdaptedWeights(task, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range l.Params().List[:len(after)] {
		moved := !slices.Equal(after[i].Float64s(), p.Value.Float64s())
		if strings.HasPrefix(p.Name, "bn") == moved {
			t.Errorf("%s: moved by the inner loop: %v", p.Name, moved)
		}
	}
}

// TestStepNormEvaluationUsesRunningStats: with per-step running
// statistics and Options.RunningStatsEval, Adapt normalises every pass
// with the statistics of its step's set: its query losses after 0…4 steps
// (2 sets: steps 1 and beyond use the last) equal those of an inner loop
// unrolled by hand in evaluation mode (UnrollAt, ForwardStep with
// Norm.Eval), and changing the statistics changes them. Without
// RunningStatsEval (the default) they equal the loop unrolled in training
// mode, each batch normalised with its own statistics, and the running
// statistics change nothing.
func TestStepNormEvaluationUsesRunningStats(t *testing.T) {
	for _, running := range []bool{true, false} {
		t.Run(fmt.Sprintf("RunningStatsEval=%v", running), func(t *testing.T) { testStepNormEvaluation(t, running) })
	}
}

func testStepNormEvaluation(t *testing.T, running bool) {
	rng := rand.New(rand.NewPCG(33, 34))
	task := randomTask(rng, convSpec)
	m := convModel(models.StepNorm{Steps: 2, Weights: true, Running: true})
	l, err := NewMAML(m, MAMLOptions{Options: Options{Spec: convSpec, InnerSteps: 2, InnerLR: 0.2, Seed: 5, Workers: 1, RunningStatsEval: running}})
	if err != nil {
		t.Fatal(err)
	}
	spreadBN(l.Params(), rng)
	stats := l.RunningStats()
	for i, v := range stats.Values {
		for k := range v.Float64s() {
			v.Float64s()[k] = 0.5*rng.NormFloat64() + float64(i%2) // variances near 1
			if i%2 == 1 {
				v.Float64s()[k] = 0.5 + rng.Float64()
			}
		}
	}
	const steps = 4
	ad, err := l.Adapt([]Task{task}, steps)
	if err != nil {
		t.Fatal(err)
	}
	// by hand
	g := G.NewGraph()
	p := l.Params().Mirror(g)
	theta := l.modelWeightsOf(p)
	for i, name := range stats.Names {
		v := stats.Values[i]
		theta.Names = append(theta.Names, name)
		theta.Nodes = append(theta.Nodes, G.NewTensor(g, tensor.Float64, 1, G.WithShape(v.Shape()...), G.WithName(name), G.WithValue(v)))
	}
	sup, qry := convSpec.newSet(g, tensor.Float64, "s", 4), convSpec.newSet(g, tensor.Float64, "q", 4)
	var losses []*G.Node
	if err := graph.Build(func() {
		adapted, err := UnrollAt(theta, p.Weights(), func(w graph.Weights, s int) *G.Node {
			return convSpec.loss(m.ForwardStep(w, sup.x, s, models.Norm{Eval: running}), sup.y)
		}, UnrollOptions{Steps: steps, Rule: SGD{LR: 0.2}, Adapt: l.adapting})
		if err != nil {
			panic(err)
		}
		for s, w := range adapted {
			losses = append(losses, convSpec.loss(m.ForwardStep(w, qry.x, max(s-1, 0), models.Norm{Eval: running}), qry.y))
		}
	}); err != nil {
		t.Fatal(err)
	}
	r, err := graph.NewRunner(losses...)
	if err != nil {
		t.Fatal(err)
	}
	if err := feed(r, sup, qry, task); err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	for s := 0; s <= steps; s++ {
		if want, got := r.Scalar(losses[s]), ad[0].Loss[s]; math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("query loss after %d steps: %.15g adapting, %.15g by hand", s, got, want)
		}
	}
	// the statistics matter
	stats.Values[len(stats.Values)-1].Float64s()[0] *= 3
	ad2, err := l.Adapt([]Task{task}, steps)
	if err != nil {
		t.Fatal(err)
	}
	if changed := ad2[0].Loss[steps] != ad[0].Loss[steps]; changed != running {
		t.Errorf("changing a running variance changes the evaluation: %v", changed)
	}
}

// TestStepNormRunningStatsFollowTraining: a meta-step folds each pass's
// batch statistics into its set's running statistics, task after task,
// each step's support pass before its query pass (momentum 0.1, unbiased
// variances), the same with any number of workers; sets not used keep
// their initial values.
func TestStepNormRunningStatsFollowTraining(t *testing.T) {
	rng := rand.New(rand.NewPCG(35, 36))
	tasks := []Task{randomTask(rng, convSpec), randomTask(rng, convSpec), randomTask(rng, convSpec)}
	newL := func(workers int) *Gradient {
		l, err := NewMAML(convModel(models.StepNorm{Steps: 3, Running: true}), MAMLOptions{Options: Options{Spec: convSpec, InnerSteps: 2, InnerLR: 0.2, Seed: 5, Workers: workers}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l := newL(1)
	// the expected statistics, from the meta-graph's recorded batch
	// statistics of each task before the meta-step
	obj, err := l.Objective()
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*G.Node
	for _, b := range obj.batch {
		nodes = append(nodes, b.BatchMean, b.BatchVar)
	}
	r, err := graph.NewRunner(nodes...)
	if err != nil {
		t.Fatal(err)
	}
	// 2 steps: support 0, support 1, then the queries after steps 1 and 2
	// (MSL off: only the last), 4 batch norms each
	if len(obj.batch) != 3*4 || obj.batch[0].Mean != "bn1.mean.1" || obj.batch[4].Mean != "bn1.mean.2" || obj.batch[8].Mean != "bn1.mean.2" {
		t.Fatalf("recorded %d batch norms: %v, %v, %v", len(obj.batch), obj.batch[0].Mean, obj.batch[4].Mean, obj.batch[8].Mean)
	}
	want := models.NewRunningStats(l.stepped, tensor.Float64)
	for _, task := range tasks {
		r.Feed(obj.SupportX, task.SupportX)
		r.Feed(obj.SupportY, task.SupportY)
		r.Feed(obj.QueryX, task.QueryX)
		r.Feed(obj.QueryY, task.QueryY)
		if err := r.Run(); err != nil {
			t.Fatal(err)
		}
		for _, b := range obj.batch {
			if err := want.Update(b, r.Float64s(b.BatchMean), r.Float64s(b.BatchVar)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := l.MetaStep(tasks); err != nil {
		t.Fatal(err)
	}
	l3 := newL(3)
	if _, err := l3.MetaStep(tasks); err != nil {
		t.Fatal(err)
	}
	for i, name := range want.Names {
		got, got3, w := l.RunningStats().Values[i].Float64s(), l3.RunningStats().Values[i].Float64s(), want.Values[i].Float64s()
		if !slices.Equal(got, w) || !slices.Equal(got3, w) {
			t.Errorf("%s: %v after the meta-step (%v with 3 workers), want %v", name, got, got3, w)
		}
		if unused := strings.HasSuffix(name, ".3"); unused != (w[0] == float64(i%2)) {
			t.Errorf("%s: %v (set 3 is not used by 2 steps)", name, w)
		}
	}
}

// TestStepNormRefused: learners that run the model without inner steps
// refuse per-step batch norm.
func TestStepNormRefused(t *testing.T) {
	m := convModel(models.StepNorm{Steps: 2, Weights: true})
	if _, err := NewReptile(m, ReptileOptions{Options: Options{Spec: convSpec}}); err == nil || !strings.Contains(err.Error(), "per-step") {
		t.Errorf("reptile: %v", err)
	}
	if _, err := NewProtoNet(&models.Conv4{InChannels: 1, Height: 8, Width: 8, Filters: 2, Pools: 2, PerStep: models.StepNorm{Steps: 2, Running: true}}, ProtoNetOptions{Options: Options{Spec: convSpec}}); err == nil || !strings.Contains(err.Error(), "per-step") {
		t.Errorf("protonet: %v", err)
	}
}

// TestStepNormThroughSetup: per-step batch norm is a model option any
// gradient-based learner takes through Setup (Run.ModelOptions.PerStep),
// one set per inner step when Steps is left 0; a learner that runs the
// model as it is refuses it.
func TestStepNormThroughSetup(t *testing.T) {
	dir := data.OmniglotDirOrSkip(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(os.TempDir(), "metagon-test-cache"))
	le, _ := LookupLearner("metasgd")
	se, _ := LookupSource("omniglot")
	run := Run{Learner: "metasgd", Source: "omniglot", DataDir: dir, Settings: Resolve(Settings{InnerSteps: 3, Dtype: "float64"}, le, se, "omniglot"),
		ModelOptions: models.Spec{Filters: 2, PerStep: models.StepNorm{Weights: true, Running: true}}, Workers: 1}
	l, src, err := Setup(run)
	if err != nil {
		t.Fatal(err)
	}
	if sn := l.Model().(models.Stepped).StepNorm(); sn.Steps != 3 || !sn.Weights || !sn.Running {
		t.Errorf("metasgd's model: step norm %+v", sn)
	}
	if _, err := l.MetaStep(src.Train(0, 2)); err != nil {
		t.Fatal(err)
	}
	if st := l.(*Gradient).RunningStats(); st == nil || st.Values[1].Float64s()[0] == 1 {
		t.Errorf("running statistics did not follow the meta-step")
	}
	if _, err := l.Adapt(src.Test(1), 4); err != nil {
		t.Fatal(err)
	}
	run.Learner = "protonet"
	if _, _, err := Setup(run); err == nil || !strings.Contains(err.Error(), "per-step") {
		t.Errorf("protonet with per-step batch norm: %v", err)
	}
}
