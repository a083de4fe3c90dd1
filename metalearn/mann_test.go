package metalearn

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
)

// tinyMANN is a MANN small enough for finite differences: 3-pixel images,
// 2 classes, 4 LSTM units, a memory of 5 slots of 3 with 2 heads.
func tinyMANN(t *testing.T, support int) *MANN {
	t.Helper()
	spec := Spec{Support: support, Query: 1, Input: []int{3}, Classes: 2}
	net := &MANNNetwork{Pixels: 3, Classes: 2, Controller: 4, Slots: 5, Width: 3, Heads: 2}
	l, err := NewMANN(net, MANNOptions{Options: Options{Spec: spec, Seed: 5, Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestMANNGradient checks the gradient of the loss of a batch of two
// 50-step episodes with respect to every weight (controller, heads,
// output) against finite differences in float64: backpropagation through
// time over the whole unrolled graph, memory writes, reads and usage
// included. The least-used slots are constants of the forward pass; the
// finite-difference step is far too small to change which slots they are.
func TestMANNGradient(t *testing.T) {
	const steps = 50
	l := tinyMANN(t, steps)
	rng := rand.New(rand.NewPCG(3, 9))
	tasks := []Task{randomTask(rng, l.base.opts.Spec), randomTask(rng, l.base.opts.Spec)}
	s, err := l.sequencesOf(tasks)
	if err != nil {
		t.Fatal(err)
	}
	l.ensureWorkers()
	mg, err := l.graphFor(0, len(tasks), s.steps, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.feed(mg, s); err != nil {
		t.Fatal(err)
	}
	res, err := graph.CheckGradient(mg.loss, l.workers[0].p.Nodes(), graph.CheckOptions{Eps: 1e-6,
		Feeds: map[*G.Node][]float64{mg.x: mg.xBuf, mg.labels: mg.yBuf}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("MANN loss over %d steps × %d episodes: max rel err %.2e over %d weights", steps, len(tasks), res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-6 {
		t.Errorf("max rel err %.2e > 1e-6 (%s)", res.MaxRelErr, res.Worst)
	}
	if n := graph.Size(l.Params().Get("controller.weight_ih").Value.Shape()); res.Checked <= n {
		t.Errorf("%d weights checked: fewer than the controller's input weights alone (%d)", res.Checked, n)
	}
}

// TestMANNSequenceFeed: what the network reads at each step is the image
// shown and the label of the step before, one-hot (nothing at the first
// step), and its targets are the labels of the steps, in the order of
// Order, for each episode of a batch (row t·B + b).
func TestMANNSequenceFeed(t *testing.T) {
	l := tinyMANN(t, 6)
	rng := rand.New(rand.NewPCG(4, 4))
	tasks := []Task{randomTask(rng, l.base.opts.Spec), randomTask(rng, l.base.opts.Spec)}
	s, err := l.sequencesOf(tasks)
	if err != nil {
		t.Fatal(err)
	}
	l.ensureWorkers()
	mg, err := l.graphFor(0, 2, 6, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.feed(mg, s); err != nil {
		t.Fatal(err)
	}
	const px, classes, in = 3, 2, 5
	for b, task := range tasks {
		order := l.Order(task)
		for step, j := range order {
			row := mg.xBuf[(step*2+b)*in : (step*2+b+1)*in]
			want := append([]float64(nil), task.SupportX[j*px:(j+1)*px]...)
			label := make([]float64, classes)
			if step > 0 {
				label[int(task.SupportY[order[step-1]])] = 1
			}
			want = append(want, label...)
			if !slices.Equal(row, want) {
				t.Errorf("episode %d, step %d: input %v, want %v", b, step, row, want)
			}
			if y := mg.yBuf[step*2+b]; y != task.SupportY[j] {
				t.Errorf("episode %d, step %d: target %v, want %v", b, step, y, task.SupportY[j])
			}
		}
	}
}

// TestMANNAdaptation: Adapt's loss, accuracy and accuracy by instance are
// those of its own outputs, recomputed here from the labels in the order
// shown; episodes give the same results alone and in a batch; an instance
// no class reaches is NaN and left out of Evaluate's summary; the
// evaluation table has a column per instance.
func TestMANNAdaptation(t *testing.T) {
	spec := Spec{Support: 6, Query: 1, Input: []int{3}, Classes: 2}
	net := &MANNNetwork{Pixels: 3, Classes: 2, Controller: 4, Slots: 5, Width: 3, Heads: 2}
	newMANN := func(batch int) *MANN {
		l, err := NewMANN(net, MANNOptions{Options: Options{Spec: spec, Seed: 5, Workers: 2}, Instances: []int{1, 2, 4}, Batch: batch})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	rng := rand.New(rand.NewPCG(7, 1))
	tasks := make([]Task, 5)
	for i := range tasks {
		tasks[i] = randomTask(rng, spec) // labels 0 1 0 1 0 1: three of each class
	}
	alone, err := newMANN(1).Adapt(tasks, 0)
	if err != nil {
		t.Fatal(err)
	}
	l := newMANN(3)
	res, err := l.Adapt(tasks, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		order := l.Order(tasks[i])
		out := r.Outputs[0]
		if len(out) != 6*2 || len(r.Loss) != 1 || len(r.Extra) != 3 {
			t.Fatalf("task %d: %d outputs, %d losses, measures %v", i, len(out), len(r.Loss), r.Extra)
		}
		loss, right := 0.0, 0.0
		hits, shown := map[int]float64{}, map[int]float64{}
		count := map[int]int{}
		for step, j := range order {
			y := int(tasks[i].SupportY[j])
			count[y]++
			a, b := out[2*step], out[2*step+1]
			m := math.Max(a, b)
			loss += m + math.Log(math.Exp(a-m)+math.Exp(b-m)) - out[2*step+y]
			shown[count[y]]++
			if (a >= b) == (y == 0) {
				right++
				hits[count[y]]++
			}
		}
		if math.Abs(r.Loss[0]-loss/6) > 1e-12 || r.Accuracy[0] != right/6 {
			t.Errorf("task %d: loss %v, accuracy %v; want %v, %v", i, r.Loss[0], r.Accuracy[0], loss/6, right/6)
		}
		for _, inst := range []int{1, 2} {
			if got, want := r.Extra[InstanceAccuracy(inst)], hits[inst]/shown[inst]; len(got) != 1 || got[0] != want {
				t.Errorf("task %d: %s instance accuracy %v, want [%v]", i, Ordinal(inst), got, want)
			}
		}
		if got := r.Extra[InstanceAccuracy(4)]; len(got) != 1 || !math.IsNaN(got[0]) {
			t.Errorf("task %d: 4th instance of classes shown 3 times: %v, want [NaN]", i, got)
		}
		for k := range out {
			if math.Abs(out[k]-alone[i].Outputs[0][k]) > 1e-12 {
				t.Fatalf("task %d: output %d is %v in a batch of 3 and %v alone", i, k, out[k], alone[i].Outputs[0][k])
			}
		}
	}
	ev, err := Evaluate(l, tasks, 0)
	if err != nil {
		t.Fatal(err)
	}
	first, fourth := ev.Extra[InstanceAccuracy(1)], ev.Extra[InstanceAccuracy(4)]
	if len(ev.Measures) != 3 || ev.Measures[1].Column != "2nd instance" || len(first) != 1 || first[0].N != len(tasks) || len(fourth) != 1 || fourth[0].N != 0 {
		t.Errorf("measures %v, summaries %v: want the 1st instance over %d tasks and the 4th over none", ev.Measures, ev.Extra, len(tasks))
	}
	table := ev.Table()
	for _, col := range []string{"| 1st instance | 2nd instance |\n", ev.Extra[InstanceAccuracy(2)][0].Percent()} {
		if !strings.Contains(table, col) {
			t.Errorf("table lacks %q:\n%s", col, table)
		}
	}
	if strings.Contains(table, "4th") {
		t.Errorf("table has a column for the 4th instance, which no task reported:\n%s", table)
	}
}

// TestMANNRefuses: a network for other episodes, labels beyond its
// classes, episodes of different lengths in one batch, options the
// registered model "mann" has no use for, and another model for the
// learner are errors, not panics.
func TestMANNRefuses(t *testing.T) {
	spec := Spec{Support: 4, Query: 1, Input: []int{3}, Classes: 2}
	if _, err := NewMANN(&MANNNetwork{Pixels: 3, Classes: 3}, MANNOptions{Options: Options{Spec: spec}}); err == nil {
		t.Error("a 3-class network for 2-class episodes: no error")
	}
	if _, err := NewMANN(&MANNNetwork{Pixels: 3, Classes: 2}, MANNOptions{Options: Options{Spec: spec}, Instances: []int{2, 1}}); err == nil {
		t.Error("instances 2, 1: no error")
	}
	l := tinyMANN(t, 4)
	rng := rand.New(rand.NewPCG(1, 1))
	bad := randomTask(rng, l.base.opts.Spec)
	bad.SupportY[0] = 2
	short := randomTask(rng, Spec{Support: 2, Query: 1, Input: []int{3}, Classes: 2})
	for name, tasks := range map[string][]Task{
		"label 2 of 2 classes": {bad},
		"4 and 2 steps":        {randomTask(rng, l.base.opts.Spec), short},
		"no episodes":          nil,
	} {
		if _, err := l.MetaStep(tasks); err == nil {
			t.Errorf("%s: MetaStep gave no error", name)
		}
	}
	for name, s := range map[string]models.Spec{
		"filters":           {Input: []int{3}, Outputs: 2, Filters: 8},
		"one output":        {Input: []int{3}, Outputs: 1},
		"two hidden layers": {Input: []int{3}, Outputs: 2, Hidden: []int{4, 4}},
		"an embedding":      {Input: []int{3}, Embedding: true},
		"an initialisation": {Input: []int{3}, Outputs: 2, Init: "finn"},
	} {
		if _, err := models.New("mann", s); err == nil {
			t.Errorf("a MANN network with %s: no error", name)
		}
	}
	if m, err := models.New("mann", models.Spec{Input: []int{1, 28, 28}, Outputs: 5, Hidden: []int{16}}); err != nil || m.Name() != "mann-784px-5way-lstm16-mem128x40-4heads" {
		t.Errorf("registered model mann for 5-way 28×28 episodes: %v, %v", m, err)
	}
	if _, _, err := Setup(Run{Learner: "mann", Source: "sinusoid", Settings: Fallback}); err == nil {
		t.Error("mann on sinusoid regression: no error")
	}
	if _, _, err := Setup(Run{Learner: "mann", Source: "sinusoid", Model: "sinusoid-mlp", Settings: Fallback}); err == nil || !strings.Contains(err.Error(), "MANN's network") {
		t.Errorf("mann with another model: %v, want an error saying it needs MANN's network", err)
	}
}
