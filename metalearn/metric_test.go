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

// checkEpisodeGradient compares the gradient of a metric learner's episode
// loss on task, with respect to every meta-parameter (the embedding's and
// the head's), with central finite differences.
func checkEpisodeGradient(t *testing.T, l *Metric, task Task) graph.CheckResult {
	t.Helper()
	s, q, ways, err := l.episodeShape(task)
	if err != nil {
		t.Fatal(err)
	}
	l.ensureWorkers()
	mg, err := l.episodeGraph(0, s, q, ways, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.feedEpisode(mg, task); err != nil {
		t.Fatal(err)
	}
	feeds := map[*G.Node][]float64{mg.x: mg.xBuf}
	for n, v := range map[*G.Node][]float64{mg.ep.avg: mg.avgBuf, mg.ep.oneHot: mg.oneHotBuf,
		mg.ep.labels: task.QueryY, mg.ep.labelsOH: mg.labelsOHBuf} {
		if n != nil {
			feeds[n] = v
		}
	}
	res, err := graph.CheckGradient(mg.loss, l.workers[0].p.Nodes(), graph.CheckOptions{Eps: 1e-6, Feeds: feeds})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// scaledHead is a test head with a parameter of its own, a learned scale
// of ProtoNet's logits, and a mean-squared-error loss on the one-hot
// labels, so that every input of Episode is used.
type scaledHead struct{}

func (scaledHead) Init(p *graph.Params, _ models.Model, _ uint64) error {
	_, err := p.Add("test.scale", []int{1}, graph.Constant{Value: 0.5})
	return err
}

func (scaledHead) Episode(w graph.Weights, e *Episode) (loss, logits *G.Node) {
	// class means twice: by the averaging matrix, and by the one-hot
	// matrix divided by its row sums
	sums := graph.MatMul(e.OneHot(), e.Support)
	means := graph.Div(sums, graph.SumKeep(e.OneHot(), 1))
	protos := graph.Scale(graph.Add(graph.MatMul(e.Average(), e.Support), means), 0.5)
	logits = graph.Mul(graph.Neg(graph.SquaredDistances(e.Query, protos)), w.MustGet("test.scale"))
	mse := graph.MSE(graph.Softmax(logits), e.LabelsOneHot())
	return graph.Add(mse, graph.Scale(graph.CrossEntropy(logits, e.Labels()), 0.1)), logits
}

// TestMetricHead: a head's own parameters are meta-parameters (after the
// model's), get exact gradients and are trained; the class matrices and
// one-hot labels are fed as documented, for classes of unequal sizes.
func TestMetricHead(t *testing.T) {
	m := &models.MLP{Sizes: []int{4, 5, 3}}
	spec := Spec{Support: 5, Query: 4, Input: []int{4}, Classes: 2}
	l, err := NewMetric("test", m, scaledHead{}, MetricOptions{Options: Options{Spec: spec, Seed: 3, Workers: 1}, LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	names := l.Params().Weights().Names
	if names[len(names)-1] != "test.scale" || len(l.modelNames) != len(names)-1 {
		t.Fatalf("meta-parameters %v: want the model's, then test.scale", names)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	task := randomTask(rng, spec)
	task.SupportY = []float64{0, 1, 1, 0, 1} // 2 and 3 examples
	res := checkEpisodeGradient(t, l, task)
	t.Logf("test head episode gradient: max rel err %.2e over %d weights", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-6 {
		t.Errorf("max rel err %.2e > 1e-6 (%s)", res.MaxRelErr, res.Worst)
	}
	mg := l.workers[0].graphs[[3]int{5, 4, 2}]
	counts := make([]float64, 2)
	for _, y := range task.SupportY {
		counts[int(y)]++
	}
	for c := 0; c < 2; c++ {
		for i, y := range task.SupportY {
			in := 0.0
			if int(y) == c {
				in = 1
			}
			if mg.oneHotBuf[c*5+i] != in || mg.avgBuf[c*5+i] != in/counts[c] {
				t.Fatalf("class %d, support %d (label %v): one-hot %v, average %v", c, i, y, mg.oneHotBuf[c*5+i], mg.avgBuf[c*5+i])
			}
		}
		for i, y := range task.QueryY {
			if want := float64(btoi(int(y) == c)); mg.labelsOHBuf[i*2+c] != want {
				t.Fatalf("query %d (label %v), class %d: one-hot %v, want %v", i, y, c, mg.labelsOHBuf[i*2+c], want)
			}
		}
	}
	before := l.Params().Get("test.scale").Value.Float64s()[0]
	if _, err := l.MetaStep([]Task{task}); err != nil {
		t.Fatal(err)
	}
	if after := l.Params().Get("test.scale").Value.Float64s()[0]; after == before {
		t.Errorf("the head's parameter was not trained: %v before and after a step", after)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestMetricRefusesNonFinite: a loss that is not finite leaves every
// parameter as it was and says so.
func TestMetricRefusesNonFinite(t *testing.T) {
	m := &models.MLP{Sizes: []int{2, 3}}
	spec := Spec{Support: 2, Query: 2, Input: []int{2}, Classes: 2}
	l, err := NewProtoNet(m, ProtoNetOptions{Options: Options{Spec: spec, Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	task := Task{SupportX: []float64{0, 1, 1, 0}, SupportY: []float64{0, 1}, QueryX: []float64{math.Inf(1), 0, 1, 1}, QueryY: []float64{0, 1}}
	var was [][]float64
	for _, v := range l.Params().Values() {
		was = append(was, append([]float64(nil), v.Float64s()...))
	}
	if _, err := l.MetaStep([]Task{task}); err == nil || !strings.Contains(err.Error(), "not updated") {
		t.Fatalf("error %v: want the step refused", err)
	}
	for i, v := range l.Params().Values() {
		if !slices.Equal(v.Float64s(), was[i]) {
			t.Fatalf("%s changed: %v, was %v", l.Params().List[i].Name, v.Float64s(), was[i])
		}
	}
}
