package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// randomBatch returns n random rows of width in and labels of classes.
func randomBatch(seed uint64, n, in, classes int) (x, labels []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x, labels = make([]float64, n*in), make([]float64, n)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for i := range labels {
		labels[i] = float64(rng.IntN(classes))
	}
	return x, labels
}

// TestMLPForwardTrainDropout builds an MLP's training-mode graph, draws its
// masks and checks the output against the network computed by hand with
// those masks: relu(x·W1 + b1) ⊙ m/(1 − p), then the linear last layer.
// Evaluation mode (Forward, or ForwardTrain without masks) is the network
// without dropout.
func TestMLPForwardTrainDropout(t *testing.T) {
	const n, in, hid, out, p = 5, 4, 6, 3, 0.4
	m := &MLP{Sizes: []int{in, hid, out}, Hidden: ReLUActivation, Dropout: p}
	g := G.NewGraph()
	params := graph.NewParams(g, tensor.Float64)
	if err := m.Init(params, 7); err != nil {
		t.Fatal(err)
	}
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(n, in), G.WithName("x"))
	masks := NewMasks("test.dropout")
	train := m.ForwardTrain(params.Weights(), x, masks)
	eval := m.Forward(params.Weights(), x)
	if masks.Len() != 1 {
		t.Fatalf("%d masks for one hidden layer", masks.Len())
	}
	run, err := graph.NewRunner(train, eval)
	if err != nil {
		t.Fatal(err)
	}
	xs, _ := randomBatch(1, n, in, out)
	if err := run.FeedFloat64s(x, xs); err != nil {
		t.Fatal(err)
	}
	if err := masks.Draw(run, 11, 0); err != nil {
		t.Fatal(err)
	}
	if err := run.Run(); err != nil {
		t.Fatal(err)
	}
	mask, _ := run.Input(masks.nodes[0])
	w1, b1 := params.Get("w1").Value.Float64s(), params.Get("b1").Value.Float64s()
	w2, b2 := params.Get("w2").Value.Float64s(), params.Get("b2").Value.Float64s()
	gotTrain, gotEval := run.Float64s(train), run.Float64s(eval)
	kept := 0
	for r := range n {
		h, hd := make([]float64, hid), make([]float64, hid)
		for j := range hid {
			s := b1[j]
			for k := range in {
				s += xs[r*in+k] * w1[k*hid+j]
			}
			h[j] = max(s, 0)
			hd[j] = h[j] * mask.Float64s()[r*hid+j] / (1 - p)
			kept += int(mask.Float64s()[r*hid+j])
		}
		for c := range out {
			wantTrain, wantEval := b2[c], b2[c]
			for j := range hid {
				wantTrain += hd[j] * w2[j*out+c]
				wantEval += h[j] * w2[j*out+c]
			}
			if d := math.Abs(gotTrain[r*out+c] - wantTrain); d > 1e-12 {
				t.Errorf("training output (%d, %d) = %g, want %g", r, c, gotTrain[r*out+c], wantTrain)
			}
			if d := math.Abs(gotEval[r*out+c] - wantEval); d > 1e-12 {
				t.Errorf("evaluation output (%d, %d) = %g, want %g", r, c, gotEval[r*out+c], wantEval)
			}
		}
	}
	if kept == 0 || kept == n*hid {
		t.Errorf("the mask kept %d of %d units: draw one that keeps some and drops some", kept, n*hid)
	}
}

// TestMasksDraw: a step's masks depend only on the seed and the step, not
// on the steps drawn before; other steps and seeds draw other masks.
func TestMasksDraw(t *testing.T) {
	g := G.NewGraph()
	x := G.NewMatrix(g, tensor.Float64, G.WithShape(8, 16), G.WithName("x"))
	masks := NewMasks("test.dropout")
	y := masks.Dropout(masks.Dropout(x, 0.5), 0.3)
	run, err := graph.NewRunner(y)
	if err != nil {
		t.Fatal(err)
	}
	draw := func(seed uint64, step int64) []float64 {
		if err := masks.Draw(run, seed, step); err != nil {
			t.Fatal(err)
		}
		var all []float64
		for _, n := range masks.nodes {
			buf, _ := run.Input(n)
			all = append(all, buf.Float64s()...)
		}
		return all
	}
	step3 := draw(5, 3)
	for s := range int64(3) {
		draw(5, s)
	}
	if !slices.Equal(step3, draw(5, 3)) {
		t.Errorf("step 3's masks changed after drawing steps 0 to 2")
	}
	if slices.Equal(step3, draw(5, 4)) || slices.Equal(step3, draw(6, 3)) {
		t.Errorf("another step or seed drew the same masks")
	}
	var nilMasks *Masks
	if nilMasks.Dropout(x, 0.5) != x || masks.Dropout(x, 0) != x {
		t.Errorf("nil masks or rate 0 should leave x alone")
	}
}

// trainSteps takes steps Adam steps on fixed random batches with an MLP
// of the given dropout and returns the trainer and the losses.
func trainSteps(t *testing.T, dropout float64, seed uint64, steps int) (*Trainer, []float64) {
	t.Helper()
	m := &MLP{Sizes: []int{6, 8, 8, 3}, Hidden: ReLUActivation, Dropout: dropout}
	tr, err := NewTrainer(m, graph.NewAdam(1e-2), TrainerOptions{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	var losses []float64
	for s := range steps {
		x, y := randomBatch(uint64(s), 10, 6, 3)
		loss, err := tr.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss)
	}
	return tr, losses
}

// TestTrainerDropoutReproducible: two trainers with the same seed take
// bit-identical steps with dropout; a trainer restored at step 3 (the
// parameters, the optimizer state and Steps, as cmd/train's -resume does)
// ends bit for bit where the uninterrupted one does; dropout changes the
// losses, and evaluation (Predict) ignores it.
func TestTrainerDropoutReproducible(t *testing.T) {
	const steps = 6
	a, la := trainSteps(t, 0.5, 3, steps)
	_, lb := trainSteps(t, 0.5, 3, steps)
	if !slices.Equal(la, lb) {
		t.Errorf("same seed, different losses:\n%v\n%v", la, lb)
	}
	_, plain := trainSteps(t, 0, 3, steps)
	if la[0] == plain[0] {
		t.Errorf("dropout 0.5 left the first loss as it was without dropout: %g", la[0])
	}

	half, _ := trainSteps(t, 0.5, 3, steps/2)
	resumed, err := NewTrainer(half.Model, graph.NewAdam(1e-2), TrainerOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := resumed.Params.Restore(half.Params.Snapshot(half.Model.Name()), half.Model.Name()); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Opt.SetState(half.Opt.State()); err != nil {
		t.Fatal(err)
	}
	resumed.Steps = half.Steps
	for s := steps / 2; s < steps; s++ {
		x, y := randomBatch(uint64(s), 10, 6, 3)
		loss, err := resumed.Step(x, y)
		if err != nil {
			t.Fatal(err)
		}
		if loss != la[s] {
			t.Errorf("resumed step %d: loss %v, want %v", s, loss, la[s])
		}
	}
	for i, p := range a.Params.List {
		if !slices.Equal(p.Value.Float64s(), resumed.Params.List[i].Value.Float64s()) {
			t.Errorf("%s differs between the uninterrupted and the resumed trainer", p.Name)
		}
	}

	// evaluation: the same weights predict the same with and without dropout
	noDrop := &MLP{Sizes: []int{6, 8, 8, 3}, Hidden: ReLUActivation}
	ev, err := NewTrainer(noDrop, graph.NewAdam(1e-2), TrainerOptions{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := ev.Params.Restore(a.Params.Snapshot(a.Model.Name()), noDrop.Name()); err != nil {
		t.Fatal(err)
	}
	x, _ := randomBatch(99, 10, 6, 3)
	pa, err := a.Predict(x, 10)
	if err != nil {
		t.Fatal(err)
	}
	pe, err := ev.Predict(x, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(pa, pe) {
		t.Errorf("Predict with dropout 0.5 differs from Predict without dropout")
	}
}

// TestDropoutOptions: Spec.Dropout reaches the MLP and Conv-4 (before its
// head: one mask of the flattened features); rates outside [0, 1) and
// dropout on Conv-4's embedding are refused.
func TestDropoutOptions(t *testing.T) {
	m, err := New("mlp", Spec{Dropout: 0.25, Hidden: []int{5, 4}, Input: []int{3}, Outputs: 2})
	if err != nil || m.(*MLP).Dropout != 0.25 {
		t.Fatalf("mlp with dropout: %v, %+v", err, m)
	}
	c, err := New("conv4", Spec{Dropout: 0.5, Filters: 2, Input: []int{1, 16, 16}, Outputs: 3})
	if err != nil {
		t.Fatal(err)
	}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := c.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	masks := NewMasks("test.dropout")
	c.(Stochastic).ForwardTrain(p.Weights(), G.NewMatrix(g, tensor.Float64, G.WithShape(4, 256), G.WithName("x")), masks)
	if masks.Len() != 1 || !masks.nodes[0].Shape().Eq(tensor.Shape{4, 2}) {
		t.Errorf("conv4 made %d masks (first %v); want one of shape (4, 2), the features before the head", masks.Len(), masks.nodes[0].Shape())
	}
	bad := []struct {
		name string
		spec Spec
		want string
	}{
		{"mlp", Spec{Dropout: 1}, "want 0 ≤ p < 1"},
		{"mlp", Spec{Dropout: -0.5}, "want 0 ≤ p < 1"},
		{"conv4", Spec{Dropout: math.NaN()}, "want 0 ≤ p < 1"},
		{"conv4", Spec{Dropout: 0.5, Embedding: true}, "has none"},
	}
	for _, b := range bad {
		if _, err := New(b.name, b.spec); err == nil || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s with dropout %g: error %v, want one saying %q", b.name, b.spec.Dropout, err, b.want)
		}
	}
	if err := (&MLP{Sizes: []int{2, 2}, Dropout: 2}).Init(graph.NewParams(G.NewGraph(), tensor.Float64), 1); err == nil {
		t.Errorf("MLP.Init took dropout 2")
	}
}
