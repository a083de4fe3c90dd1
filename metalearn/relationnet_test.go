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

// tinyRelationNet is a Relation Network small enough for finite
// differences: 16×16 images, 3 filters, two pooling blocks (4×4 maps, then
// 2×2 and 1×1 in the relation module), a relation module of 3 filters and
// 4 hidden units; 3-way 2-shot episodes with 2 queries per class.
func tinyRelationNet(t *testing.T, dt tensor.Dtype) (*RelationNet, Spec) {
	t.Helper()
	m := &models.Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 3, Pools: 2}
	spec := Spec{Support: 6, Query: 6, Input: []int{1, 16, 16}, Classes: 3}
	l, err := NewRelationNet(m, RelationNetOptions{MetricOptions: MetricOptions{Options: Options{Spec: spec, Seed: 2, Workers: 1, Dtype: dt}},
		Filters: 3, Hidden: 4})
	if err != nil {
		t.Fatal(err)
	}
	return l, spec
}

// TestRelationNetGradient checks the gradient of the episode loss with
// respect to every meta-parameter — the embedding's, through batch norm
// and max-pool, and the relation module's, through the class sums, the
// pairs' broadcast and concatenation, the module and the squared error —
// against finite differences in float64. The relation module's linear
// weights and batch-norm shifts are redrawn from N(0, 1) first: with the
// paper's N(0, 0.01²) the embedding's gradients would be too small for the
// check to see an error in them. (The loss has kinks where a max-pool
// window's two largest values swap; finite differences across one are
// meaningless. The seed draws an episode with none within their reach:
// that of seed 5 has two values of a window of the relation module 5·10⁻⁶
// apart, and a "relative error" of 7%.)
func TestRelationNetGradient(t *testing.T) {
	l, spec := tinyRelationNet(t, tensor.Float64)
	rng := rand.New(rand.NewPCG(6, 6))
	for _, n := range []string{"fc1.w", "fc2.w", "bn1.shift", "bn2.shift"} {
		v := l.Params().Get(models.RelationPrefix + n).Value.Float64s()
		for i := range v {
			v[i] = rng.NormFloat64()
		}
	}
	res := checkEpisodeGradient(t, l.Metric, randomTask(rng, spec))
	t.Logf("RelationNet episode gradient: max rel err %.2e over %d weights", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-6 {
		t.Errorf("max rel err %.2e > 1e-6 (%s)", res.MaxRelErr, res.Worst)
	}
}

// TestRelationNetEpisode checks the head against the paper's formulas,
// computed apart: the class feature maps are the sums of each class's
// support embeddings (summed here in Go), the logits are the relation
// module's scores of every (query, class) pair, and the loss is their mean
// squared error against the one-hot labels.
func TestRelationNetEpisode(t *testing.T) {
	l, spec := tinyRelationNet(t, tensor.Float64)
	task := randomTask(rand.New(rand.NewPCG(7, 7)), spec)
	res, err := l.Adapt([]Task{task}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res[0].Loss) != 1 {
		t.Fatalf("%d entries per task, want 1 (no inner loop)", len(res[0].Loss))
	}

	// The embeddings of all images in one batch, as Metric computes them.
	g := G.NewGraph()
	p := l.Params().Mirror(g)
	m := l.Model()
	n := spec.Support + spec.Query
	x := G.NewTensor(g, tensor.Float64, 4, G.WithShape(n, 1, 16, 16), G.WithName("x"))
	emb := m.Forward(p.Weights(), x)
	run, err := graph.NewRunner(emb)
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Feed(x, append(append([]float64(nil), task.SupportX...), task.QueryX...)); err != nil {
		t.Fatal(err)
	}
	if err := run.Run(); err != nil {
		t.Fatal(err)
	}
	e, d := run.Float64s(emb), m.OutputSize()
	sums := make([]float64, spec.Classes*d)
	for i, y := range task.SupportY {
		for k := 0; k < d; k++ {
			sums[int(y)*d+k] += e[i*d+k]
		}
	}
	cls := G.NewTensor(g, tensor.Float64, 2, G.WithShape(spec.Classes, d), G.WithName("classes"))
	qs := G.NewTensor(g, tensor.Float64, 2, G.WithShape(spec.Query, d), G.WithName("queries"))
	scores := l.Module().Scores(p.Weights(), cls, qs)
	sr, err := graph.NewRunner(scores)
	if err != nil {
		t.Fatal(err)
	}
	if err := sr.Feed(cls, sums); err != nil {
		t.Fatal(err)
	}
	if err := sr.Feed(qs, e[spec.Support*d:]); err != nil {
		t.Fatal(err)
	}
	if err := sr.Run(); err != nil {
		t.Fatal(err)
	}
	want, got := sr.Float64s(scores), res[0].Outputs[0]
	mse := 0.0
	for q, y := range task.QueryY {
		for c := 0; c < spec.Classes; c++ {
			k := q*spec.Classes + c
			if math.Abs(got[k]-want[k]) > 1e-12 {
				t.Fatalf("score of query %d, class %d: %v, want %v", q, c, got[k], want[k])
			}
			diff := want[k]
			if int(y) == c {
				diff--
			}
			mse += diff * diff / float64(len(want))
		}
	}
	if math.Abs(res[0].Loss[0]-mse) > 1e-12 {
		t.Errorf("loss %v, want the scores' mean squared error %v", res[0].Loss[0], mse)
	}
}

// TestRelationNetRejects: an embedding without feature maps, with a
// classifier head, or with maps too small for the relation module's two
// poolings is an error, not a panic.
func TestRelationNetRejects(t *testing.T) {
	spec := Spec{Support: 2, Query: 2, Input: []int{1, 16, 16}, Classes: 2}
	o := RelationNetOptions{MetricOptions: MetricOptions{Options: Options{Spec: spec, Workers: 1}}}
	for _, c := range []struct {
		m    models.Model
		want string
	}{
		{&models.MLP{Sizes: []int{256, 8}}, "has none"},
		{&models.Conv4{InChannels: 1, Height: 16, Width: 16, Pools: 2, Classes: 2}, "classifier head"},
		{&models.Conv4{InChannels: 1, Height: 16, Width: 16}, "too small"},
	} {
		if _, err := NewRelationNet(c.m, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one saying %q", c.m.Name(), err, c.want)
		}
	}
}

// TestRelationNetRegistered: the registered learner asks for Conv-4
// without its last two max-pools (7×7 maps on Omniglot), resolves the
// paper's Omniglot settings — one 5-way 1-shot episode per step with 19
// queries per class, Adam at 1e-3, no inner loop — and builds a learner
// whose meta-parameters are the embedding's, then the relation module's.
func TestRelationNetRegistered(t *testing.T) {
	le, err := LookupLearner("relationnet")
	if err != nil {
		t.Fatal(err)
	}
	se, err := LookupSource("omniglot")
	if err != nil {
		t.Fatal(err)
	}
	r := Resolve(Settings{}, le, se, "omniglot")
	if r.MetaBatch != 1 || r.Queries != 19 || r.TrainWays != 5 || r.TrainShots != 1 || r.OuterLR != 1e-3 || r.EvalSteps != 0 || r.EvalQueries != se.Defaults.EvalQueries {
		t.Errorf("relationnet on omniglot: %+v", r)
	}
	src := shapeSource{input: []int{1, 28, 28}, ways: r.Ways}
	m, err := SourceModel(src, le.Embedding, "", le.ModelOptions)
	if err != nil {
		t.Fatal(err)
	}
	side := 28 / 2 / 2
	if fs := m.(models.Spatial).FeatureShape(); !slices.Equal(fs, []int{64, side, side}) {
		t.Fatalf("%s: feature maps %v, want [64 %d %d]", m.Name(), fs, side, side)
	}
	// -filters still applies over the learner's options.
	if m, err := SourceModel(src, le.Embedding, "", le.ModelOptions.Override(models.Spec{Filters: 8})); err != nil {
		t.Fatal(err)
	} else if fs := m.(models.Spatial).FeatureShape(); !slices.Equal(fs, []int{8, side, side}) {
		t.Errorf("-filters 8: feature maps %v, want [8 %d %d]", fs, side, side)
	}
	spec := Spec{Support: r.TrainWays * r.TrainShots, Query: r.TrainWays * r.Queries, Input: src.input, Classes: r.TrainWays}
	l, err := le.New(Config{Model: m, Spec: spec, Settings: r, Workers: 1, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	names := l.Params().Weights().Names
	mp := graph.NewParams(G.NewGraph(), tensor.Float64)
	if err := m.Init(mp, 1); err != nil {
		t.Fatal(err)
	}
	nm := len(mp.List)
	if l.Name() != "relationnet" || len(names) != nm+10 || !strings.HasPrefix(names[nm], models.RelationPrefix) {
		t.Errorf("%s: meta-parameters %v, want the model's %d then the relation module's 10", l.Name(), names, nm)
	}
	if h, ok := l.(Describer); !ok || !strings.Contains(h.Describe(), "relation score") {
		t.Errorf("relationnet does not describe its classifier")
	}
}

// shapeSource is a TaskSource that only names its model: Conv-4 for
// images of the given shape, as the Omniglot source does.
type shapeSource struct {
	TaskSource
	input []int
	ways  int
}

func (s shapeSource) Model(embedding bool) (string, models.Spec) {
	return "conv4", models.Spec{Input: s.input, Outputs: s.ways, Embedding: embedding}
}
