package metalearn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// TestMultiStepWeights: MSL's importance vector as the paper's code
// computes it: uniform at the start, the non-final weights falling by
// p/S and the final one rising by what they lose, the non-final ones
// floored at 0.03/S (and the final one capped accordingly); one step
// weighs 1. Past the annealing MSL is over.
func TestMultiStepWeights(t *testing.T) {
	for _, c := range []struct {
		steps int
		p     float64
		want  []float64
	}{
		{5, 0, []float64{0.2, 0.2, 0.2, 0.2, 0.2}},
		{5, 0.5, []float64{0.1, 0.1, 0.1, 0.1, 0.6}},
		{5, 0.9, []float64{0.02, 0.02, 0.02, 0.02, 0.92}},
		{5, 1, []float64{0.006, 0.006, 0.006, 0.006, 0.976}},
		{3, 0.25, []float64{0.25, 0.25, 0.5}},
		{1, 0.3, []float64{1}},
	} {
		got := MultiStepWeights(c.steps, c.p)
		for i := range c.want {
			if math.Abs(got[i]-c.want[i]) > 1e-15 {
				t.Errorf("%d steps at %g: %v, want %v", c.steps, c.p, got, c.want)
				break
			}
		}
	}
	o := MAMLPPOptions{Options: Options{InnerSteps: 5}, Iterations: 100}.withDefaults()
	if o.MultiStepIterations != 10 || o.FirstOrderIterations != 50 || o.MinOuterLR != 1e-5 {
		t.Errorf("defaults %+v", o)
	}
	if v := o.multiStepAt(5); math.Abs(v[4]-0.6) > 1e-15 {
		t.Errorf("iteration 5 of 10: %v", v)
	}
	if o.multiStepAt(10) != nil {
		t.Errorf("MSL lasts past its iterations")
	}
	o.NoMultiStepLoss = true
	if o.multiStepAt(0) != nil {
		t.Errorf("MSL off, yet weights")
	}
}

// mamlppConv is MAML++ on the tiny Conv-4 with every switch on but DA
// (second order, so that finite differences check it), 3 inner steps,
// MSL halfway through its annealing, and distinct learned rates and
// batch-norm weights.
func mamlppConv(t *testing.T, rng *rand.Rand, o MAMLPPOptions) *MAMLPP {
	t.Helper()
	o.Options = Options{Spec: convSpec, InnerSteps: 3, InnerLR: 0.3, Seed: 6, Workers: 1}
	o.Iterations = 100
	l, err := NewMAMLPP(convModel(models.StepNorm{}), o)
	if err != nil {
		t.Fatal(err)
	}
	spreadBN(l.Params(), rng)
	for _, p := range l.Params().List {
		if strings.HasPrefix(p.Name, "lslr.") {
			p.Value.Float64s()[0] = 0.2 + 0.2*rng.Float64()
		}
	}
	l.SetIteration(5)
	return l
}

// TestMAMLPPMetaGradient checks MAML++'s meta-gradient with the
// multi-step loss, learned per-layer per-step rates and per-step
// batch-norm weights and statistics (the running statistics are not
// differentiated) on a tiny Conv-4 in float64 against central finite
// differences: max relative error ≤ 1e-6 over every meta-parameter.
func TestMAMLPPMetaGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 42))
	task := randomTask(rng, convSpec)
	l := mamlppConv(t, rng, MAMLPPOptions{NoDerivativeAnnealing: true})
	obj, err := l.Objective()
	if err != nil {
		t.Fatal(err)
	}
	if len(obj.StepLosses) != 3 || obj.Loss == obj.QueryLoss {
		t.Fatalf("not a multi-step objective: %d step losses", len(obj.StepLosses))
	}
	var bnw, lslr int
	for _, p := range l.Params().List {
		bnw += btoi(strings.HasPrefix(p.Name, "bn") && strings.Count(p.Name, ".") == 2)
		lslr += btoi(strings.HasPrefix(p.Name, "lslr."))
	}
	if bnw != 4*2*3 || lslr != 6*3 || len(l.RunningStats().Names) != 4*2*3 {
		t.Fatalf("%d per-step batch-norm weights, %d learned rates, %d running statistics", bnw, lslr, len(l.RunningStats().Names))
	}
	res, err := graph.CheckGradient(obj.Loss, obj.Params, graph.CheckOptions{Eps: 1e-6, Feeds: obj.Feeds(task)})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MAML++ (MSL, LSLR, BNWB, BNRS; second order): max rel err %.2e over %d meta-parameters", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-6 {
		t.Errorf("max rel err %.2e > 1e-6 (%s)", res.MaxRelErr, res.Worst)
	}
}

// maxRelDiff is the largest |a − b| / max(|a|, |b|, 1e-12) over the
// gradients.
func maxRelDiff(a, b [][]float64) float64 {
	worst := 0.0
	for j := range a {
		for k := range a[j] {
			d := math.Abs(a[j][k] - b[j][k])
			worst = math.Max(worst, d/math.Max(math.Max(math.Abs(a[j][k]), math.Abs(b[j][k])), 1e-12))
		}
	}
	return worst
}

// TestMAMLPPSwitchesOffIsMAML: MAML++ with every switch off is MAML:
// the same meta-parameters, the same meta-gradient bit for bit and, after
// meta-steps, the same parameters.
func TestMAMLPPSwitchesOffIsMAML(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 44))
	tasks := []Task{randomTask(rng, convSpec), randomTask(rng, convSpec)}
	opts := Options{Spec: convSpec, InnerSteps: 2, InnerLR: 0.3, Seed: 7, Workers: 1}
	pp, err := NewMAMLPP(convModel(models.StepNorm{}), mamlppWithout(MAMLPPOptions{Options: opts}, []string{"msl", "da", "bnwb", "bnrs", "lslr", "ca"}))
	if err != nil {
		t.Fatal(err)
	}
	opts.Outer = graph.NewAdam(1e-3)
	maml, err := NewMAML(convModel(models.StepNorm{}), MAMLOptions{Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	if pp.Model().Name() != maml.Model().Name() || len(pp.Params().List) != len(maml.Params().List) {
		t.Fatalf("%s with %d parameters, MAML's %s with %d", pp.Model().Name(), len(pp.Params().List), maml.Model().Name(), len(maml.Params().List))
	}
	a, err := pp.TaskGradient(tasks[0])
	if err != nil {
		t.Fatal(err)
	}
	b, err := maml.TaskGradient(tasks[0])
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(a.Grads, b.Grads); d != 0 || a.Loss != b.Loss {
		t.Errorf("meta-gradients differ by %.2e (loss %v, %v)", d, a.Loss, b.Loss)
	}
	for range 3 {
		if _, err := pp.MetaStep(tasks); err != nil {
			t.Fatal(err)
		}
		if _, err := maml.MetaStep(tasks); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range pp.Params().List {
		if !slices.Equal(p.Value.Float64s(), maml.Params().List[i].Value.Float64s()) {
			t.Fatalf("%s differs after 3 meta-steps", p.Name)
		}
	}
}

// TestMAMLPPMultiStepLoss: with MSL off MAML++'s meta-gradient is the
// plain one of the last step's query loss (MAML with the same rule and
// model); with MSL on, weights that put everything on the last step give
// it back, and the annealed weights give the gradient of Σₛ vₛ·Lₛ, whose
// value the objective reports.
func TestMAMLPPMultiStepLoss(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 46))
	task := randomTask(rng, convSpec)
	on := mamlppConv(t, rand.New(rand.NewPCG(1, 1)), MAMLPPOptions{NoDerivativeAnnealing: true})
	off := mamlppConv(t, rand.New(rand.NewPCG(1, 1)), MAMLPPOptions{NoDerivativeAnnealing: true, NoMultiStepLoss: true})
	plain, err := NewGradient("maml", off.Model(), GradientOptions{Options: Options{Spec: convSpec, InnerSteps: 3, InnerLR: 0.3, Seed: 6, Workers: 1}, Rule: &PerLayerPerStep{Init0: 0.3}})
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range off.Params().List {
		graph.CopyValues(plain.Params().List[i].Value, p.Value)
	}
	gOff, err := off.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	gPlain, err := plain.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(gOff.Grads, gPlain.Grads); d != 0 {
		t.Errorf("MSL off: differs from the plain meta-gradient by %.2e", d)
	}
	if gOff.Objective != gOff.Loss {
		t.Errorf("MSL off: objective %v, last query loss %v", gOff.Objective, gOff.Loss)
	}
	gOn, err := on.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(gOn.Grads, gOff.Grads); d < 1e-3 {
		t.Errorf("MSL on: the meta-gradient differs from the last step's by only %.2e", d)
	}
	// the objective is Σ v_s L_s: per-step losses from Adapt (training
	// mode is not Adapt's; compare with the meta-graph's own step losses)
	v := MultiStepWeights(3, 0.5)
	w := on.worker(0)
	var sum float64
	for s, l := range w.obj.StepLosses {
		sum += v[s] * w.run.Scalar(l)
	}
	if math.Abs(sum-gOn.Objective) > 1e-14*math.Abs(sum) || gOn.Loss != w.run.Scalar(w.obj.StepLosses[2]) {
		t.Errorf("MSL objective %.17g, Σ v·L = %.17g", gOn.Objective, sum)
	}
	// all the weight on the last step: the plain meta-gradient again
	graph.SetFloat64s(on.msl, []float64{0, 0, 1})
	gLast, err := on.TaskGradient(task)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxRelDiff(gLast.Grads, gOff.Grads); d > 1e-13 {
		t.Errorf("MSL weights (0, 0, 1): differs from the last step's meta-gradient by %.2e", d)
	}
}

// TestMAMLPPDerivativeAnnealing: DA's first-order phase gives first-order
// MAML's meta-gradient (same rule, same model), and from
// FirstOrderIterations on the second-order one; the learner rebuilds its
// graphs at the switch.
func TestMAMLPPDerivativeAnnealing(t *testing.T) {
	rng := rand.New(rand.NewPCG(47, 48))
	task := randomTask(rng, convSpec)
	l := mamlppConv(t, rand.New(rand.NewPCG(2, 2)), MAMLPPOptions{NoMultiStepLoss: true, FirstOrderIterations: 10})
	ref := func(firstOrder bool) MetaGradient {
		g, err := NewGradient("ref", l.Model(), GradientOptions{Options: Options{Spec: convSpec, InnerSteps: 3, InnerLR: 0.3, Seed: 6, Workers: 1}, Rule: &PerLayerPerStep{Init0: 0.3}, FirstOrder: firstOrder})
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range l.Params().List {
			graph.CopyValues(g.Params().List[i].Value, p.Value)
		}
		mg, err := g.TaskGradient(task)
		if err != nil {
			t.Fatal(err)
		}
		return mg
	}
	first, second := ref(true), ref(false)
	if d := maxRelDiff(first.Grads, second.Grads); d < 1e-3 {
		t.Fatalf("first- and second-order meta-gradients agree to %.2e: the test shows nothing", d)
	}
	for _, c := range []struct {
		it   int
		want MetaGradient
		name string
	}{{0, first, "first"}, {9, first, "first"}, {10, second, "second"}, {60, second, "second"}, {3, first, "first"}} {
		l.SetIteration(c.it)
		got, err := l.TaskGradient(task)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxRelDiff(got.Grads, c.want.Grads); d != 0 {
			t.Errorf("iteration %d: differs from the %s-order meta-gradient by %.2e", c.it, c.name, d)
		}
	}
}

// TestMAMLPPCosineAnnealing: the outer learning rate follows the cosine
// from Adam's 1e-3 to 1e-5 over the run's iterations, step by step; with
// CA off it stays.
func TestMAMLPPCosineAnnealing(t *testing.T) {
	rng := rand.New(rand.NewPCG(49, 50))
	tasks := []Task{randomTask(rng, smallSpec)}
	for _, off := range []bool{false, true} {
		l, err := NewMAMLPP(smallModel(), MAMLPPOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, Workers: 1, Seed: 1}, Iterations: 4, NoCosineAnnealing: off})
		if err != nil {
			t.Fatal(err)
		}
		lr := func() float64 { return l.Optimizer().(graph.LRSetter).GetLR() }
		for it := 0; it <= 5; it++ {
			want := graph.CosineLR(1e-3, 1e-5, it, 4)
			if off {
				want = 1e-3
			}
			if got := lr(); got != want {
				t.Errorf("CA off %v, iteration %d: lr %g, want %g", off, it, got, want)
			}
			if _, err := l.MetaStep(tasks); err != nil {
				t.Fatal(err)
			}
		}
		if !off && !strings.Contains(l.Describe(), "cosine-annealed to 1e-05 over 4 iterations") {
			t.Errorf("Describe: %s", l.Describe())
		}
	}
}

// TestMAMLPPResume: 4 meta-steps straight equal 2, a checkpoint (the
// parameters, Adam, the learner's state: iteration and running
// statistics) restored into a fresh learner, and 2 more, bit for bit,
// across the end of MSL and the switch to second order.
func TestMAMLPPResume(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	var batches [][]Task
	for range 4 {
		batches = append(batches, []Task{randomTask(rng, convSpec), randomTask(rng, convSpec)})
	}
	newL := func() *MAMLPP {
		l, err := NewMAMLPP(convModel(models.StepNorm{}), MAMLPPOptions{Options: Options{Spec: convSpec, InnerSteps: 2, InnerLR: 0.3, Seed: 8, Workers: 2},
			Iterations: 6, MultiStepIterations: 3, FirstOrderIterations: 2})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	straight := newL()
	for _, b := range batches {
		if _, err := straight.MetaStep(b); err != nil {
			t.Fatal(err)
		}
	}
	half := newL()
	for _, b := range batches[:2] {
		if _, err := half.MetaStep(b); err != nil {
			t.Fatal(err)
		}
	}
	ck := half.Params().Snapshot("mamlpp")
	st := half.Optimizer().State()
	ck.Optimizer = &st
	half.SaveState(ck)
	resumed := newL()
	if err := resumed.Params().Restore(ck, "mamlpp"); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Optimizer().SetState(*ck.Optimizer); err != nil {
		t.Fatal(err)
	}
	if err := resumed.LoadState(ck, 0); err != nil {
		t.Fatal(err)
	}
	if resumed.Iteration() != 2 {
		t.Fatalf("resumed at iteration %d", resumed.Iteration())
	}
	for _, b := range batches[2:] {
		if _, err := resumed.MetaStep(b); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range straight.Params().List {
		if !slices.Equal(p.Value.Float64s(), resumed.Params().List[i].Value.Float64s()) {
			t.Errorf("%s differs after resuming", p.Name)
		}
	}
	for i, name := range straight.RunningStats().Names {
		if !slices.Equal(straight.RunningStats().Values[i].Float64s(), resumed.RunningStats().Values[i].Float64s()) {
			t.Errorf("running statistic %s differs after resuming", name)
		}
	}
	if straight.firstOrder || straight.stepWeights != nil {
		t.Errorf("after 4 iterations: first order %v, MSL %v", straight.firstOrder, straight.stepWeights != nil)
	}
	// a checkpoint without running statistics does not fit
	delete(ck.States, statsKey)
	if err := newL().LoadState(ck, 2); err == nil {
		t.Errorf("a checkpoint without running statistics loaded")
	}
}

// TestMAMLPPRegistered: "mamlpp" resolves to the paper's settings on
// Omniglot and builds through Setup with switches turned off by name; a
// model without batch norm (sinusoids' MLP) has no per-step batch norm to
// make; unknown switches and -first-order are refused.
func TestMAMLPPRegistered(t *testing.T) {
	le, err := LookupLearner("mamlpp")
	if err != nil {
		t.Fatal(err)
	}
	se, _ := LookupSource("omniglot")
	if r := Resolve(Settings{}, le, se, "omniglot"); r.InnerSteps != 5 || r.EvalSteps != 5 || r.MetaBatch != 8 || r.InnerLR != 0.1 || r.Iterations != 50000 {
		t.Errorf("mamlpp on omniglot: %+v", r)
	}
	sin, _ := LookupSource("sinusoid")
	run := Run{Learner: "mamlpp", Source: "sinusoid", Settings: Resolve(Settings{Iterations: 100}, le, sin, "sinusoid"), Workers: 1}
	l, _, err := Setup(run)
	if err != nil {
		t.Fatal(err)
	}
	d := l.(Describer).Describe()
	for _, want := range []string{"5 inner steps", "learned α per weight tensor and step", "multi-step loss annealed over 10 iterations", "first order for 50 iterations", "cosine-annealed"} {
		if !strings.Contains(d, want) || strings.Contains(d, "batch norm") {
			t.Errorf("Describe: %q, want %q and no batch norm", d, want)
		}
	}
	run.Without = []string{"msl", "lslr"}
	l, _, err = Setup(run)
	if err != nil {
		t.Fatal(err)
	}
	if d := l.(Describer).Describe(); strings.Contains(d, "multi-step") || !strings.Contains(d, "SGD, α = 0.01") {
		t.Errorf("without msl and lslr: %s", d)
	}
	run.Without = []string{"nope"}
	if _, _, err := Setup(run); err == nil || !strings.Contains(err.Error(), "msl, da, bnwb, bnrs, lslr, ca") {
		t.Errorf("unknown switch: %v", err)
	}
	run.Without, run.FirstOrder = nil, true
	if _, _, err := Setup(run); err == nil {
		t.Errorf("-first-order accepted")
	}
	run.Learner, run.FirstOrder, run.Without = "maml", false, []string{"msl"}
	if _, _, err := Setup(run); err == nil || !strings.Contains(err.Error(), "no switches") {
		t.Errorf("maml without msl: %v", err)
	}
	// on Conv-4 the learner asks for one set per inner step
	m, err := NewMAMLPP(convModel(models.StepNorm{}), MAMLPPOptions{Options: Options{Spec: convSpec, InnerSteps: 4, Dtype: tensor.Float64}, NoBNStats: true})
	if err != nil {
		t.Fatal(err)
	}
	if sn := m.Model().(models.Stepped).StepNorm(); sn != (models.StepNorm{Steps: 4, Weights: true}) || m.RunningStats() != nil {
		t.Errorf("without bnrs: step norm %+v", sn)
	}
}
