package metalearn

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// miniImageNetTestSource loads the mini-imagenet source as a run does
// (-data DIR, the default cache, here in a temporary $XDG_CACHE_HOME)
// from a synthetic folder of 5/5/5 classes of 3 images
// (data.WriteSyntheticMiniImageNet), with the settings a run of learner
// resolves to, changed by set.
func miniImageNetTestSource(t *testing.T, learner string, set Settings) (*miniImageNetSource, LearnerEntry, Settings) {
	t.Helper()
	le, err := LookupLearner(learner)
	if err != nil {
		t.Fatal(err)
	}
	se, err := LookupSource("mini-imagenet")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := data.WriteSyntheticMiniImageNet(dir, [3]int{5, 5, 5}, 3, 1); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	s := Resolve(set, le, se, "mini-imagenet")
	src, err := se.New(SourceConfig{Settings: s, Seed: 3, DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return src.(*miniImageNetSource), le, s
}

// TestMiniImageNetSource: mini-imagenet resolves to MAML's mini-ImageNet
// settings, gives episodes of 3×84×84 images of the right shape, training
// episodes from train.csv's classes only, the same episodes for the same
// seed, class batches labelled among train.csv's classes (ClassBatcher), and Conv-4 for 3-channel 84×84 inputs: 64 feature maps of 5×5, so
// a head of fan-in 64·5·5 = 1,600, or the 1,600-wide embedding.
func TestMiniImageNetSource(t *testing.T) {
	src, _, s := miniImageNetTestSource(t, "maml", Settings{Queries: 1, EvalQueries: 1})
	if s.Ways != 5 || s.Shots != 1 || s.MetaBatch != 4 || s.InnerSteps != 5 || s.InnerLR != 0.01 || s.EvalSteps != 10 {
		t.Errorf("MAML on mini-imagenet resolves to %+v; want 5-way 1-shot, meta-batch 4, 5 steps of 0.01, 10 at test", s)
	}
	pn, _ := LookupLearner("protonet")
	if se, _ := LookupSource("mini-imagenet"); Resolve(Settings{}, pn, se, "mini-imagenet").TrainWays != 30 {
		t.Errorf("ProtoNet on mini-imagenet does not train on Snell et al.'s 30-way episodes: %+v", Resolve(Settings{}, pn, se, "mini-imagenet"))
	}
	if d, want := src.Describe(), "mini-ImageNet 5-way 1-shot (5/5/5 classes, not Ravi & Larochelle's split)"; d != want {
		t.Errorf("Describe() = %q, want %q", d, want)
	}
	want := Spec{Support: 5, Query: 5, Input: []int{3, 84, 84}, Classes: 5}
	if sp := src.Spec(); !reflect.DeepEqual(sp, want) {
		t.Errorf("Spec() = %+v, want %+v", sp, want)
	}
	const d = 3 * 84 * 84
	tasks := src.Train(2, 2)
	for _, task := range tasks {
		if len(task.SupportX) != 5*d || len(task.SupportY) != 5 || len(task.QueryX) != 5*d || len(task.QueryY) != 5 {
			t.Fatalf("task of %d/%d support and %d/%d query values", len(task.SupportX), len(task.SupportY), len(task.QueryX), len(task.QueryY))
		}
	}
	if again := src.Train(2, 2); !reflect.DeepEqual(again, tasks) {
		t.Error("the same meta-iteration gave other tasks")
	}
	for i := range uint64(10) {
		for _, c := range src.train.Episode(i).Classes {
			if c.Split != "train" || !slices.Contains(src.m.Train, c) {
				t.Fatalf("training episode %d has class %v, not a training class", i, c)
			}
		}
		for _, c := range src.test.Episode(i).Classes {
			if c.Split != "test" {
				t.Fatalf("test episode %d has class %v, not a test class", i, c)
			}
		}
	}
	// transfer's class batches: train.csv's classes, labelled among them
	if src.TrainClasses() != len(src.m.Train) {
		t.Errorf("%d training classes, want train.csv's %d", src.TrainClasses(), len(src.m.Train))
	}
	batch := src.ClassBatch(3, 7)
	if len(batch.SupportX) != 7*d || len(batch.SupportY) != 7 || len(batch.QueryX) != 0 || !reflect.DeepEqual(src.ClassBatch(3, 7), batch) {
		t.Fatalf("class batch of %d values, %d labels, %d query values; want 7 images, the same each time", len(batch.SupportX), len(batch.SupportY), len(batch.QueryX))
	}
	for _, y := range batch.SupportY {
		if y < 0 || int(y) >= len(src.m.Train) || y != float64(int(y)) {
			t.Fatalf("class batch label %v is not one of %d training classes", y, len(src.m.Train))
		}
	}

	for _, emb := range []bool{false, true} {
		m, err := SourceModel(src, emb, "", models.Spec{})
		if err != nil {
			t.Fatal(err)
		}
		c, ok := m.(*models.Conv4)
		outputs := map[bool]int{false: 5, true: 64 * 5 * 5}[emb]
		if !ok || !slices.Equal(m.InputShape(), []int{3, 84, 84}) || m.OutputSize() != outputs || !slices.Equal(c.FeatureShape(), []int{64, 5, 5}) {
			t.Fatalf("embedding %v: %s with input %v, %d outputs; want conv4 on 3×84×84 with %d", emb, m.Name(), m.InputShape(), m.OutputSize(), outputs)
		}
		if emb {
			continue
		}
		p := graph.NewParams(G.NewGraph(), tensor.Float32)
		if err := m.Init(p, 1); err != nil {
			t.Fatal(err)
		}
		if sh := p.Get("fc.w").Node.Shape(); !slices.Equal(sh, []int{64 * 5 * 5, 5}) {
			t.Errorf("head fc.w has shape %v, want [1600 5]", sh)
		}
	}
}

// TestMiniImageNetProtoNet runs Prototypical Networks on 5-way 1-shot
// episodes of 3×84×84 images of the synthetic folder, built as Setup
// builds a run (Conv-4 embedding, 8 filters to keep it short): two
// training episodes, then an evaluation on two test episodes; the losses
// and the accuracy stay finite.
func TestMiniImageNetProtoNet(t *testing.T) {
	if testing.Short() {
		t.Skip("a few Conv-4 steps on 3×84×84 images")
	}
	start := time.Now()
	src, le, s := miniImageNetTestSource(t, "protonet", Settings{Ways: 5, TrainWays: 5, Shots: 1, TrainShots: 1, Queries: 2, EvalQueries: 2})
	m, err := SourceModel(src, le.Embedding, "", le.ModelOptions.Override(models.Spec{Filters: 8}))
	if err != nil {
		t.Fatal(err)
	}
	l, err := le.New(Config{Model: m, Spec: src.Spec(), Settings: s, Head: models.HeadOf(m), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for it := range 2 {
		st, err := l.MetaStep(src.Train(it, 1))
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
			t.Fatalf("episode %d: loss %v", it, st.Loss)
		}
	}
	ev, err := Evaluate(l, src.Test(2), 0)
	if err != nil {
		t.Fatal(err)
	}
	acc := ev.Accuracy[len(ev.Accuracy)-1].Mean
	if math.IsNaN(acc) || acc < 0 || acc > 1 {
		t.Errorf("accuracy %v", acc)
	}
	t.Logf("protonet on %s (%s): accuracy %.3f on 2 test episodes; %v", src.Describe(), m.Name(), acc, time.Since(start).Round(time.Millisecond))
}

// TestMiniImageNetSourceErrors: shapes the split cannot give and a
// missing data set are refused with one line naming the problem.
func TestMiniImageNetSourceErrors(t *testing.T) {
	dir := t.TempDir()
	if err := data.WriteSyntheticMiniImageNet(dir, [3]int{6, 5, 5}, 4, 2); err != nil {
		t.Fatal(err)
	}
	m, err := data.LoadMiniImageNet(dir, data.MiniImageNetOptions{CacheDir: "-"})
	if err != nil {
		t.Fatal(err)
	}
	s := Resolve(Settings{}, LearnerEntry{}, SourceEntry{Defaults: cifarDefaults}, "mini-imagenet")
	bad := func(set func(*Settings)) SourceConfig {
		c := SourceConfig{Settings: s, Seed: 1}
		set(&c.Settings)
		return c
	}
	t.Setenv("MINIIMAGENET_DIR", filepath.Join(t.TempDir(), "nope"))
	t.Setenv("METAGON_DATA", "")
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"1 way", second(newMiniImageNetSource(bad(func(s *Settings) { s.Ways = 1 }), m)), "mini-imagenet: -ways 1, -train-ways 5: want at least 2"},
		{"6 ways", second(newMiniImageNetSource(bad(func(s *Settings) { s.Ways, s.TrainWays, s.Queries, s.EvalQueries = 6, 6, 1, 1 }), m)),
			"mini-imagenet validation episodes (val.csv): episode sampler: cannot sample 6-way episodes from 5 classes"},
		{"too many shots", second(newMiniImageNetSource(bad(func(s *Settings) { s.TrainShots = 2 }), m)),
			"mini-imagenet training episodes (train.csv): episode sampler: a class has 4 drawings: 2 shots + 15 queries is too many"},
		{"no data", second(loadMiniImageNetSource(SourceConfig{Settings: s})), "scripts/download_miniimagenet.sh YOUR_COPY"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || strings.Contains(tc.err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.what, tc.err, tc.want)
		}
	}
}

// TestEvaluateSourceStreams: EvaluateSource on an image source builds its
// held-out tasks at most EvalChunk at a time, TestRange(first, n) is
// Test(first+n)[first:], and the evaluation is the one of all the tasks
// built at once, over more tasks than a chunk.
func TestEvaluateSourceStreams(t *testing.T) {
	src, _, _ := miniImageNetTestSource(t, "protonet", Settings{Ways: 2, TrainWays: 2, Queries: 1, EvalQueries: 1})
	n := EvalChunk + 5
	all := src.Test(n)
	if got := src.TestRange(EvalChunk-2, 7); !reflect.DeepEqual(got, all[EvalChunk-2:EvalChunk+5]) {
		t.Fatal("TestRange(first, n) differs from Test(first+n)[first:]")
	}
	l, err := NewProtoNet(&models.Conv4{InChannels: 3, Height: 84, Width: 84, Filters: 2},
		ProtoNetOptions{Options: Options{Spec: src.Spec(), Seed: 1, Dtype: tensor.Float32}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := EvaluateAt(l, all, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	largest := 0
	spy := spySource{src, func(n int) { largest = max(largest, n) }}
	got, err := EvaluateSource(l, spy, n, []int{0})
	if err != nil {
		t.Fatal(err)
	}
	if largest == 0 || largest > EvalChunk {
		t.Errorf("EvaluateSource built %d tasks at once; want at most %d", largest, EvalChunk)
	}
	if !reflect.DeepEqual(got, want) || got.Tasks != n {
		t.Errorf("streamed evaluation %+v differs from all at once %+v", got, want)
	}
}

// spySource is an image source that reports the size of every range of
// held-out tasks it builds.
type spySource struct {
	*miniImageNetSource
	built func(n int)
}

func (s spySource) TestRange(first, n int) []Task {
	s.built(n)
	return s.miniImageNetSource.TestRange(first, n)
}
