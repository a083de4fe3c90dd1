package metalearn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// smallSpec is a regression task family small enough for finite
// differences over every meta-parameter.
var smallSpec = Spec{Support: 5, Query: 4, Input: []int{2}, Outputs: 1}

func smallModel() models.Model {
	return &models.MLP{Sizes: []int{2, 6, 5, 1}, Hidden: models.TanhActivation}
}

// randomTask draws a task of the spec from rng.
func randomTask(rng *rand.Rand, s Spec) Task {
	draw := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return v
	}
	in, tw := s.inputSize(), s.targetWidth()
	t := Task{SupportX: draw(s.Support * in), SupportY: draw(s.Support * tw), QueryX: draw(s.Query * in), QueryY: draw(s.Query * tw)}
	if s.Classes > 0 {
		for i := range t.SupportY {
			t.SupportY[i] = float64(i % s.Classes)
		}
		for i := range t.QueryY {
			t.QueryY[i] = float64(i % s.Classes)
		}
	}
	return t
}

// checkMetaGradient compares the learner's meta-gradient for one task with
// finite differences of its meta-objective, through the public Objective.
func checkMetaGradient(t *testing.T, l *Gradient, task Task) graph.CheckResult {
	t.Helper()
	obj, err := l.Objective()
	if err != nil {
		t.Fatal(err)
	}
	res, err := graph.CheckGradient(obj.Loss, obj.Params, graph.CheckOptions{Eps: 1e-6, Feeds: obj.Feeds(task)})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestMAMLMetaGradient checks MAML's second-order meta-gradient through 1,
// 2 and 5 unrolled inner steps against finite differences.
func TestMAMLMetaGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	task := randomTask(rng, smallSpec)
	for _, steps := range []int{1, 2, 5} {
		l, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: steps, InnerLR: 0.1, Seed: 3}})
		if err != nil {
			t.Fatal(err)
		}
		res := checkMetaGradient(t, l, task)
		t.Logf("MAML, %d inner steps: max rel err %.2e over %d meta-parameters", steps, res.MaxRelErr, res.Checked)
		if res.MaxRelErr > 1e-5 {
			t.Errorf("MAML %d steps: max rel err %.2e > 1e-5 (%s)", steps, res.MaxRelErr, res.Worst)
		}
	}
}

// TestMetaSGDMetaGradient checks Meta-SGD's meta-gradient with respect to
// the weights and the learned rates α (per weight, and per step).
func TestMetaSGDMetaGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	task := randomTask(rng, smallSpec)
	for _, perStep := range []bool{false, true} {
		l, err := NewMetaSGD(smallModel(), MetaSGDOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3}, PerStep: perStep})
		if err != nil {
			t.Fatal(err)
		}
		// give the rates distinct values so that ∂/∂α is not symmetric
		for _, p := range l.Params().List {
			if len(p.Name) > 3 && p.Name[:3] == "lr." {
				d := p.Value.Float64s()
				for i := range d {
					d[i] = 0.05 + 0.1*rng.Float64()
				}
			}
		}
		res := checkMetaGradient(t, l, task)
		t.Logf("Meta-SGD (per step %v): max rel err %.2e over %d meta-parameters (α included)", perStep, res.MaxRelErr, res.Checked)
		if res.MaxRelErr > 1e-5 {
			t.Errorf("Meta-SGD per step %v: max rel err %.2e > 1e-5 (%s)", perStep, res.MaxRelErr, res.Worst)
		}
	}
}

// TestFOMAMLIsQueryGradientAtAdaptedWeights checks that first-order MAML's
// meta-gradient equals ∇L_query evaluated at the adapted weights, computed
// independently: adapt with the adaptation graph, then differentiate the
// query loss of a fresh model at those weights.
func TestFOMAMLIsQueryGradientAtAdaptedWeights(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	task := randomTask(rng, smallSpec)
	const steps = 3
	l, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: steps, InnerLR: 0.1, Seed: 3, Workers: 1}, FirstOrder: true})
	if err != nil {
		t.Fatal(err)
	}
	mg, err := l.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	// adapted weights, stepped outside the graph
	adapted, err := l.AdaptedWeights(task, steps)
	if err != nil {
		t.Fatal(err)
	}
	// the query gradient at the adapted weights, in a fresh graph
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	for i, v := range adapted {
		if _, err := p.AddValue(l.Params().List[i].Name, v); err != nil {
			t.Fatal(err)
		}
	}
	qry := smallSpec.newSet(g, tensor.Float64, "q", smallSpec.Query)
	loss := smallSpec.loss(l.Model().Forward(p.Weights(), qry.x), qry.y)
	grads, err := graph.Grad(loss, p.Nodes()...)
	if err != nil {
		t.Fatal(err)
	}
	r, err := graph.NewRunner(grads...)
	if err != nil {
		t.Fatal(err)
	}
	r.Feed(qry.x, task.QueryX)
	r.Feed(qry.y, task.QueryY)
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	for i := range grads {
		want, got := r.Float64s(grads[i]), mg.Grads[i]
		for k := range want {
			if math.Abs(want[k]-got[k]) > 1e-12*math.Max(1, math.Abs(want[k])) {
				t.Fatalf("%s[%d]: FOMAML meta-gradient %.15g, query gradient at adapted weights %.15g", l.Params().List[i].Name, k, got[k], want[k])
			}
		}
	}
}

// TestANILBodyDoesNotAdapt checks that ANIL's inner loop leaves the body's
// weights where they were (a zero inner update) and moves the head, while
// the body still receives a meta-gradient.
func TestANILBodyDoesNotAdapt(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	task := randomTask(rng, smallSpec)
	l, err := NewANIL(smallModel(), []string{"w3", "b3"}, MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3, Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := l.Objective()
	if err != nil {
		t.Fatal(err)
	}
	theta, adapted := obj.Adapted[0], obj.Adapted[2]
	for i, name := range theta.Names {
		same := adapted.Nodes[i] == theta.Nodes[i]
		if head := name == "w3" || name == "b3"; head == same {
			t.Errorf("%s: adapted node is θ itself = %v, want %v", name, same, !head)
		}
	}
	// numerically: adapting moves only the head
	after, err := l.AdaptedWeights(task, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range after {
		name := l.Params().List[i].Name
		before := l.Params().Get(name).Value.Float64s()
		moved := 0.0
		for k := range before {
			moved = math.Max(moved, math.Abs(v.Float64s()[k]-before[k]))
		}
		if head := name == "w3" || name == "b3"; head != (moved > 0) {
			t.Errorf("%s: inner loop moved it by %g (head %v)", name, moved, head)
		}
	}
	// and the meta-gradient still reaches the body
	res := checkMetaGradient(t, l, task)
	if res.MaxRelErr > 1e-5 {
		t.Errorf("ANIL meta-gradient: max rel err %.2e (%s)", res.MaxRelErr, res.Worst)
	}
}

// TestWorkersDoNotChangeResults runs the same meta-steps with 1 and 3
// workers: the meta-parameters must be bit-identical.
func TestWorkersDoNotChangeResults(t *testing.T) {
	run := func(workers int) []float64 {
		l, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3, Workers: workers}})
		if err != nil {
			t.Fatal(err)
		}
		return metaTrainSmall(t, l, rand.New(rand.NewPCG(10, 11)), 5, 7)
	}
	a, b := run(1), run(3)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("parameter %d: %v with 1 worker, %v with 3", i, a[i], b[i])
		}
	}
}

// metaTrainSmall takes iterations meta-steps of batch random smallSpec tasks
// drawn from rng and returns all meta-parameters, flattened.
func metaTrainSmall(t *testing.T, l Learner, rng *rand.Rand, iterations, batch int) []float64 {
	t.Helper()
	for it := 0; it < iterations; it++ {
		tasks := make([]Task, batch)
		for i := range tasks {
			tasks[i] = randomTask(rng, smallSpec)
		}
		if _, err := l.MetaStep(tasks); err != nil {
			t.Fatal(err)
		}
	}
	var all []float64
	for _, v := range l.Params().Values() {
		all = append(all, v.Float64s()...)
	}
	return all
}

// TestLSLRMetaGradient checks the meta-gradient of MAML with MAML++'s
// per-layer per-step learned rates, with respect to the weights and the
// rates, and that Apply (outside the graph) matches Update (in it).
func TestLSLRMetaGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	task := randomTask(rng, smallSpec)
	l, err := NewGradient("maml++", smallModel(), GradientOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.1, Seed: 3}, Rule: &PerLayerPerStep{Init0: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	rates := 0
	for _, p := range l.Params().List {
		if len(p.Name) > 5 && p.Name[:5] == "lslr." {
			p.Value.Float64s()[0] = 0.05 + 0.1*rng.Float64()
			rates++
		}
	}
	if want := 3 * 6; rates != want { // 3 steps × 6 weight tensors
		t.Fatalf("%d learned rates, want %d", rates, want)
	}
	res := checkMetaGradient(t, l, task)
	t.Logf("LSLR: max rel err %.2e over %d meta-parameters (rates included)", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-5 {
		t.Errorf("LSLR: max rel err %.2e > 1e-5 (%s)", res.MaxRelErr, res.Worst)
	}
	// the query loss after 3 steps outside the graph equals the graph's
	mg, err := l.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	ad, err := l.Adapt([]Task{task}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got := ad[0].Loss[3]; math.Abs(got-mg.Loss) > 1e-12*math.Max(1, math.Abs(mg.Loss)) {
		t.Errorf("query loss after 3 steps: %.15g outside the graph, %.15g in it", got, mg.Loss)
	}
}
