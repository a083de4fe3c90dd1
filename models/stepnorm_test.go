package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// stepConv4 is a small Conv-4 with per-step batch norm.
func stepConv4(sn StepNorm) *Conv4 {
	return &Conv4{InChannels: 1, Height: 8, Width: 8, Filters: 3, Classes: 2, Pools: 2, PerStep: sn}
}

// TestStepNormParams: per-step weights are one scale and shift per block
// and step, named by the step from 1; shared weights keep the plain names;
// running statistics are not parameters; the name says the configuration.
func TestStepNormParams(t *testing.T) {
	names := func(m *Conv4) []string {
		p := graph.NewParams(G.NewGraph(), tensor.Float64)
		if err := m.Init(p, 1); err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, par := range p.List {
			ns = append(ns, par.Name)
		}
		return ns
	}
	per := names(stepConv4(StepNorm{Steps: 3, Weights: true, Running: true}))
	want := []string{"conv1.w", "bn1.scale.1", "bn1.shift.1", "bn1.scale.2", "bn1.shift.2", "bn1.scale.3", "bn1.shift.3", "conv2.w"}
	if !slices.Equal(per[:len(want)], want) || len(per) != 4*7+2 {
		t.Errorf("per-step parameters %v", per)
	}
	shared := names(stepConv4(StepNorm{Steps: 3, Running: true}))
	if plain := names(stepConv4(StepNorm{})); !slices.Equal(shared, plain) {
		t.Errorf("shared weights with running statistics: %v; want the plain network's %v", shared, plain)
	}
	m := stepConv4(StepNorm{Steps: 3, Weights: true, Running: true})
	if n := m.Name(); !strings.HasSuffix(n, "-bn3steps-weights-running") {
		t.Errorf("name %q", n)
	}
	if got := m.StepWeights(1); !slices.Equal(got, []string{"bn1.scale.2", "bn1.shift.2", "bn2.scale.2", "bn2.shift.2", "bn3.scale.2", "bn3.shift.2", "bn4.scale.2", "bn4.shift.2"}) {
		t.Errorf("step 1's weights %v", got)
	}
	if got, last := m.StepWeights(9), m.StepWeights(2); !slices.Equal(got, last) {
		t.Errorf("step 9's weights %v, want the last set's %v", got, last)
	}
	if st := m.RunningStats(0); len(st) != 8 || st[0].Name != "bn1.mean.1" || st[1].Name != "bn1.var.1" || st[1].Init != 1 || st[0].Shape[0] != 3 {
		t.Errorf("step 0's running statistics %+v", st)
	}
	for _, bad := range []StepNorm{{Weights: true}, {Steps: 2}, {Steps: -1}, {Steps: 2, Running: true, Momentum: 2}} {
		if err := stepConv4(bad).Init(graph.NewParams(G.NewGraph(), tensor.Float64), 1); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// TestStepNormRegistry: models.New passes Spec.PerStep to conv4 and the
// models without batch norm refuse it; Override carries it.
func TestStepNormRegistry(t *testing.T) {
	sn := StepNorm{Steps: 2, Weights: true}
	m, err := New("conv4", Spec{PerStep: sn})
	if err != nil || m.(Stepped).StepNorm() != sn {
		t.Fatalf("conv4 with %+v: %v, %v", sn, m, err)
	}
	for _, name := range []string{"mlp", "sinusoid-mlp", "cnp"} {
		if _, err := New(name, Spec{PerStep: sn}); err == nil || !strings.Contains(err.Error(), "batch norm") {
			t.Errorf("%s with per-step batch norm: %v", name, err)
		}
	}
	if got := (Spec{Filters: 4}).Override(Spec{PerStep: sn}); got.PerStep != sn || got.Filters != 4 {
		t.Errorf("Override: %+v", got)
	}
	w, err := (&Conv4{InChannels: 1, Height: 28, Width: 28}).WithStepNorm(sn)
	if err != nil || w.(*Conv4).PerStep != sn {
		t.Errorf("WithStepNorm: %v, %v", w, err)
	}
}

// stepInputs returns float64 parameters of m (per-step scales and shifts
// set to distinct values) and a batch of n images.
func stepInputs(t *testing.T, m *Conv4, rng *rand.Rand, n int) (*graph.Params, *G.Node) {
	t.Helper()
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float64)
	if err := m.Init(p, 2); err != nil {
		t.Fatal(err)
	}
	for _, par := range p.List {
		if strings.HasPrefix(par.Name, "bn") {
			for i := range par.Value.Float64s() {
				par.Value.Float64s()[i] = 0.5 + rng.Float64()
			}
		}
	}
	return p, input(g, rng, "x", n, 1, 8, 8)
}

// run evaluates nodes.
func run(t *testing.T, ns ...*G.Node) [][]float64 {
	t.Helper()
	r, err := graph.NewRunner(ns...)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Run(); err != nil {
		t.Fatal(err)
	}
	var out [][]float64
	for _, n := range ns {
		out = append(out, append([]float64(nil), r.Float64s(n)...))
	}
	return out
}

// TestForwardStepTrainingMode: in training mode step s's output is the
// plain network's with step s's scales and shifts (steps beyond the last
// use the last set), and Record receives each block's batch mean and
// biased variance, the first block's being those of its convolution.
func TestForwardStepTrainingMode(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	m := stepConv4(StepNorm{Steps: 3, Weights: true, Running: true})
	p, x := stepInputs(t, m, rng, 4)
	plain := stepConv4(StepNorm{})
	for _, step := range []int{0, 2, 5} {
		var rec []BatchStat
		var got, want, conv *G.Node
		if err := graph.Build(func() {
			got = m.ForwardStep(p.Weights(), x, step, Norm{Record: func(b BatchStat) { rec = append(rec, b) }})
			// the plain network reading step's set under the plain names
			w := graph.Weights{}
			for _, par := range p.List {
				name := par.Name
				if strings.HasPrefix(name, "bn") {
					base, k, _ := strings.Cut(name[len("bn1."):], ".")
					if k != fmt.Sprint(min(step, 2)+1) {
						continue
					}
					name = name[:len("bn1.")] + base
				}
				w.Names, w.Nodes = append(w.Names, name), append(w.Nodes, par.Node)
			}
			want = plain.Forward(w, x)
			conv = graph.Conv2d(x, p.Get("conv1.w").Node, 1)
		}); err != nil {
			t.Fatal(err)
		}
		if len(rec) != 4 || rec[0].Mean != fmt.Sprintf("bn1.mean.%d", min(step, 2)+1) || rec[3].Var != fmt.Sprintf("bn4.var.%d", min(step, 2)+1) || rec[0].Count != 4*8*8 {
			t.Fatalf("step %d: recorded %+v", step, rec)
		}
		v := run(t, got, want, rec[0].BatchMean, rec[0].BatchVar, conv)
		if !slices.Equal(v[0], v[1]) {
			t.Errorf("step %d: output %v, the plain network's with that step's weights %v", step, v[0], v[1])
		}
		// the first block's statistics, from its convolution's output
		c := v[4]
		for ch := 0; ch < 3; ch++ {
			var vals []float64
			for n := 0; n < 4; n++ {
				vals = append(vals, c[(n*3+ch)*64:(n*3+ch+1)*64]...)
			}
			var mean, sq float64
			for _, e := range vals {
				mean += e / float64(len(vals))
			}
			for _, e := range vals {
				sq += (e - mean) * (e - mean) / float64(len(vals))
			}
			if math.Abs(v[2][ch]-mean) > 1e-12 || math.Abs(v[3][ch]-sq) > 1e-10*sq {
				t.Errorf("step %d channel %d: recorded mean %g variance %g, want %g and %g", step, ch, v[2][ch], v[3][ch], mean, sq)
			}
		}
	}
}

// TestForwardStepEvaluationMode: in evaluation mode each example's output
// depends on it alone (the running statistics replace the batch's), so the
// first two images give the same outputs alone as in a batch of four; it
// reads the step's set of statistics; in training mode the batch matters.
// Without running statistics, evaluation mode is training mode.
func TestForwardStepEvaluationMode(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	m := stepConv4(StepNorm{Steps: 2, Weights: true, Running: true})
	p, x := stepInputs(t, m, rng, 4)
	stats := NewRunningStats(m, tensor.Float64)
	for i, v := range stats.Values {
		for k := range v.Float64s() {
			v.Float64s()[k] = rng.Float64() + float64(i%2) // variances ≥ 1
		}
	}
	var four, two, train4, train2, set1, set0 *G.Node
	if err := graph.Build(func() {
		w := p.Weights()
		for i, name := range stats.Names {
			n := G.NewTensor(p.Graph, tensor.Float64, 1, G.WithShape(stats.Values[i].Shape()...), G.WithName(name), G.WithValue(stats.Values[i]))
			w.Names, w.Nodes = append(w.Names, name), append(w.Nodes, n)
		}
		first := graph.Slice(x, 0, 0, 2)
		four = m.ForwardStep(w, x, 1, Norm{Eval: true})
		two = m.ForwardStep(w, first, 1, Norm{Eval: true})
		train4 = m.ForwardStep(w, x, 1, Norm{})
		train2 = m.ForwardStep(w, first, 1, Norm{})
		set1 = m.ForwardStep(w, x, 4, Norm{Eval: true})
		set0 = m.ForwardStep(w, x, 0, Norm{Eval: true})
	}); err != nil {
		t.Fatal(err)
	}
	v := run(t, four, two, train4, train2, set1, set0)
	if !slices.Equal(v[0][:4], v[1]) {
		t.Errorf("evaluation mode: first two outputs %v in a batch of four, %v alone", v[0][:4], v[1])
	}
	if slices.Equal(v[2][:4], v[3]) {
		t.Errorf("training mode: the batch does not change the outputs")
	}
	if !slices.Equal(v[0], v[4]) || slices.Equal(v[0], v[5]) {
		t.Errorf("evaluation mode: step 4 (last set) %v, step 1 %v, step 0 %v", v[4], v[0], v[5])
	}
	// without running statistics, Eval changes nothing
	m2 := stepConv4(StepNorm{Steps: 2, Weights: true})
	p2, x2 := stepInputs(t, m2, rng, 3)
	var a, b *G.Node
	if err := graph.Build(func() {
		a = m2.ForwardStep(p2.Weights(), x2, 1, Norm{Eval: true})
		b = m2.ForwardStep(p2.Weights(), x2, 1, Norm{})
	}); err != nil {
		t.Fatal(err)
	}
	if v := run(t, a, b); !slices.Equal(v[0], v[1]) {
		t.Errorf("no running statistics: evaluation mode differs from training mode")
	}
	if NewRunningStats(m2, tensor.Float64) != nil {
		t.Errorf("running statistics for a model that keeps none")
	}
}

// TestRunningStatsUpdate: running ← 0.9·running + 0.1·batch, the variance
// unbiased; statistics start at mean 0 and variance 1, every set's in
// model order; float32 statistics take the same arithmetic.
func TestRunningStatsUpdate(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		m := stepConv4(StepNorm{Steps: 2, Running: true})
		r := NewRunningStats(m, dt)
		if len(r.Names) != 16 || r.Names[0] != "bn1.mean.1" || r.Names[8] != "bn1.mean.2" {
			t.Fatalf("names %v", r.Names)
		}
		b := BatchStat{Mean: "bn2.mean.2", Var: "bn2.var.2", Count: 5}
		if err := r.Update(b, []float64{1, 2, 3}, []float64{4, 8, 0}); err != nil {
			t.Fatal(err)
		}
		got := func(name string) []float64 {
			v := make([]float64, 3)
			graph.ToFloat64s(v, r.Get(name))
			return v
		}
		wantMean := []float64{0.1, 0.2, 0.3}
		wantVar := []float64{0.9 + 0.1*4*5/4, 0.9 + 0.1*8*5/4, 0.9}
		for i := range wantMean {
			if math.Abs(got("bn2.mean.2")[i]-wantMean[i]) > 1e-7 || math.Abs(got("bn2.var.2")[i]-wantVar[i]) > 1e-6 {
				t.Errorf("%v: mean %v variance %v, want %v and %v", dt, got("bn2.mean.2"), got("bn2.var.2"), wantMean, wantVar)
			}
		}
		if v := got("bn2.var.1"); v[0] != 1 {
			t.Errorf("another set moved: %v", v)
		}
		if err := r.Update(BatchStat{Mean: "nope", Var: "bn1.var.1", Count: 2}, []float64{1, 2, 3}, []float64{1, 2, 3}); err == nil {
			t.Errorf("unknown statistic: no error")
		}
	}
}
