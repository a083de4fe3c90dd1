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
	"gorgonia.org/tensor"
)

// checkEpisodeGradient compares the gradient of a metric learner's episode
// loss on task, with respect to every meta-parameter (the embedding's and
// the head's), with central finite differences.
func checkEpisodeGradient(t *testing.T, l *Metric, task Task) graph.CheckResult {
	t.Helper()
	mg := fedEpisodeGraph(t, l, task)
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

// fedEpisodeGraph is worker 0's training graph of task's episode shape,
// fed with task.
func fedEpisodeGraph(t *testing.T, l *Metric, task Task) *metricGraph {
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
	return mg
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

// episodeGrads is the gradient of l's loss on one episode at the current
// parameters, in the parameters' dtype (copies), computed on worker 0's
// graph without a step.
func episodeGrads(t *testing.T, l *Metric, task Task) []*tensor.Dense {
	t.Helper()
	mg := fedEpisodeGraph(t, l, task)
	if err := mg.run.Run(); err != nil {
		t.Fatal(err)
	}
	grads := make([]*tensor.Dense, len(mg.grads))
	for i, g := range mg.grads {
		grads[i] = mg.run.Value(g).Clone().(*tensor.Dense)
	}
	return grads
}

// TestMetricOneEpisodeIsOneAdamStep: a meta-batch of one episode takes,
// bit for bit, one Adam step on that episode's gradient, the learning rate
// halved after every LRHalvingEvery-th: the reference learner takes those
// steps itself, from the gradient of its episode graph, in float64 and in
// float32.
func TestMetricOneEpisodeIsOneAdamStep(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		t.Run(dt.String(), func(t *testing.T) {
			build := func() *ProtoNet {
				l, err := NewProtoNet(metricConv(0), ProtoNetOptions{Options: Options{Spec: metricSpec, Seed: 4, Workers: 2, Dtype: dt}, LRHalvingEvery: 2})
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			l, ref := build(), build()
			rng := rand.New(rand.NewPCG(8, 9))
			const steps = 5
			for step := 1; step <= steps; step++ {
				task := randomTask(rng, metricSpec)
				if _, err := l.MetaStep([]Task{task}); err != nil {
					t.Fatal(err)
				}
				opt := ref.Optimizer()
				if err := opt.Step(ref.Params().Values(), episodeGrads(t, ref.Metric, task)); err != nil {
					t.Fatal(err)
				}
				if step%2 == 0 {
					s := opt.(graph.LRSetter)
					s.SetLR(s.GetLR() / 2)
				}
				if got, want := stateOf(l), stateOf(ref); !slices.Equal(got, want) {
					t.Fatalf("step %d: state differs from one Adam step on the episode's gradient", step)
				}
			}
			if lr := l.Optimizer().State().LR; lr != 1e-3/4 {
				t.Errorf("learning rate %v after %d episodes halved every 2, want %v", lr, steps, 1e-3/4)
			}
		})
	}
}

// TestMetricMetaBatchIsOneStep: a meta-batch of episodes is one Adam step
// on the mean of their gradients, computed here apart (summed in episode
// order in float64), and counts each episode towards the halving: with
// LRHalvingEvery 2, meta-batches of 3 reach 3 and 6 episodes, so the
// rate halves once after the first and twice after the second. Two copies
// of one episode take that episode's own step.
func TestMetricMetaBatchIsOneStep(t *testing.T) {
	build := func(halvingEvery int) *ProtoNet {
		l, err := NewProtoNet(metricConv(0), ProtoNetOptions{Options: Options{Spec: metricSpec, Seed: 5, Workers: 2}, LRHalvingEvery: halvingEvery})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	l, ref := build(2), build(2)
	rng := rand.New(rand.NewPCG(10, 11))
	lr := 1e-3
	for _, halvings := range []int{1, 2} {
		batch := []Task{randomTask(rng, metricSpec), randomTask(rng, metricSpec), randomTask(rng, metricSpec)}
		var sum []float64
		var grads []*tensor.Dense
		for _, task := range batch {
			grads = episodeGrads(t, ref.Metric, task)
			off := 0
			for _, g := range grads {
				v := g.Float64s()
				if len(sum) < off+len(v) {
					sum = append(sum, make([]float64, len(v))...)
				}
				for k, x := range v {
					sum[off+k] += x
				}
				off += len(v)
			}
		}
		off := 0
		for _, g := range grads {
			v := g.Float64s()
			for k := range v {
				v[k] = sum[off+k] / 3
			}
			off += len(v)
		}
		if err := ref.Optimizer().Step(ref.Params().Values(), grads); err != nil {
			t.Fatal(err)
		}
		for range halvings {
			lr /= 2
		}
		ref.Optimizer().(graph.LRSetter).SetLR(lr)
		if _, err := l.MetaStep(batch); err != nil {
			t.Fatal(err)
		}
		if got, want := stateOf(l), stateOf(ref); !slices.Equal(got, want) {
			t.Fatalf("after %d episodes: state differs from one Adam step on the mean gradient (learning rate %v, want %v)",
				l.steps, l.Optimizer().State().LR, lr)
		}
	}
	// two copies of one episode: the mean of g and g is g (no halving)
	one, two := build(-1), build(-1)
	task := randomTask(rng, metricSpec)
	if _, err := one.MetaStep([]Task{task}); err != nil {
		t.Fatal(err)
	}
	if _, err := two.MetaStep([]Task{task, task}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stateOf(one), stateOf(two)) {
		t.Fatal("a meta-batch of two copies of an episode differs from the episode alone")
	}
	if one.steps != 1 || two.steps != 2 {
		t.Errorf("episodes counted: %d and %d, want 1 and 2", one.steps, two.steps)
	}
}
