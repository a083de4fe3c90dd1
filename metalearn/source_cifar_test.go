package metalearn

import (
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
)

// cifarTestSource makes the source name over a synthetic CIFAR-100 with
// the settings a run of learner resolves to, changed by set.
func cifarTestSource(t *testing.T, name, learner string, set Settings) (*cifarSource, LearnerEntry, Settings) {
	t.Helper()
	le, err := LookupLearner(learner)
	if err != nil {
		t.Fatal(err)
	}
	se, err := LookupSource(name)
	if err != nil {
		t.Fatal(err)
	}
	s := Resolve(set, le, se, name)
	src, err := newCIFARSource(name, SourceConfig{Settings: s, Seed: 3}, data.SyntheticCIFAR100(20, 4, 5))
	if err != nil {
		t.Fatal(err)
	}
	return src, le, s
}

// TestCIFARSources: cifar-fs and fc100 give episodes of 3×32×32 images
// of the right shape, training episodes from the training classes only,
// the same episodes for the same seed, and Conv-4 for 3-channel 32×32
// inputs (a head over 64·2·2 features, or the 256-wide embedding).
func TestCIFARSources(t *testing.T) {
	for _, tc := range []struct{ name, describe string }{
		{"cifar-fs", "CIFAR-FS 5-way 1-shot (64/16/20 classes)"},
		{"fc100", "FC100 5-way 1-shot (60/20/20 classes)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, _, s := cifarTestSource(t, tc.name, "maml", Settings{})
			if s.Ways != 5 || s.Shots != 1 || s.Queries != 15 || s.MetaBatch != 4 || s.InnerSteps != 5 || s.InnerLR != 0.01 {
				t.Errorf("MAML on %s resolves to %+v; want 5-way 1-shot, 15 queries, meta-batch 4, 5 steps of 0.01", tc.name, s)
			}
			if d := src.Describe(); d != tc.describe {
				t.Errorf("Describe() = %q, want %q", d, tc.describe)
			}
			want := Spec{Support: 5, Query: 75, Input: []int{3, 32, 32}, Classes: 5}
			if sp := src.Spec(); !reflect.DeepEqual(sp, want) {
				t.Errorf("Spec() = %+v, want %+v", sp, want)
			}
			const d = 3 * 32 * 32
			tasks := src.Train(2, s.MetaBatch)
			if len(tasks) != s.MetaBatch {
				t.Fatalf("%d tasks, want %d", len(tasks), s.MetaBatch)
			}
			for _, task := range tasks {
				if len(task.SupportX) != 5*d || len(task.SupportY) != 5 || len(task.QueryX) != 75*d || len(task.QueryY) != 75 {
					t.Fatalf("task of %d/%d support and %d/%d query values", len(task.SupportX), len(task.SupportY), len(task.QueryX), len(task.QueryY))
				}
			}
			if again := src.Train(2, s.MetaBatch); !reflect.DeepEqual(again, tasks) {
				t.Error("the same meta-iteration gave other tasks")
			}
			for i := range uint64(20) {
				for _, c := range src.train.Episode(i).Classes {
					if !slices.Contains(src.fs.Train, c) {
						t.Fatalf("training episode %d has class %v, not a training class", i, c)
					}
				}
				for _, c := range src.test.Episode(i).Classes {
					if !slices.Contains(src.fs.Test, c) {
						t.Fatalf("test episode %d has class %v, not a test class", i, c)
					}
				}
			}
			if v, ts := src.Valid(), src.Test(3); len(v) != 100 || len(ts) != 3 || len(ts[0].QueryX) != 5*15*d {
				t.Errorf("%d validation and %d test tasks of %d query values", len(v), len(ts), len(ts[0].QueryX))
			}

			for _, emb := range []bool{false, true} {
				m, err := SourceModel(src, emb, "", models.Spec{})
				if err != nil {
					t.Fatal(err)
				}
				c, ok := m.(*models.Conv4)
				outputs := map[bool]int{false: 5, true: 64 * 2 * 2}[emb]
				if !ok || !slices.Equal(m.InputShape(), []int{3, 32, 32}) || m.OutputSize() != outputs || !slices.Equal(c.FeatureShape(), []int{64, 2, 2}) {
					t.Errorf("embedding %v: %s with input %v, %d outputs; want conv4 on 3×32×32 with %d", emb, m.Name(), m.InputShape(), m.OutputSize(), outputs)
				}
			}
		})
	}
}

// TestCIFARSourceErrors: shapes the split cannot give and a missing data
// set are refused with one line naming the problem.
func TestCIFARSourceErrors(t *testing.T) {
	d := data.SyntheticCIFAR100(16, 4, 1) // 20 images a class
	s := Resolve(Settings{}, LearnerEntry{}, SourceEntry{Defaults: cifarDefaults}, "cifar-fs")
	bad := func(set func(*Settings)) SourceConfig {
		c := SourceConfig{Settings: s, Seed: 1}
		set(&c.Settings)
		return c
	}
	t.Setenv("CIFAR_DIR", filepath.Join(t.TempDir(), "nope"))
	for _, tc := range []struct {
		what string
		err  error
		want string
	}{
		{"1 way", second(newCIFARSource("cifar-fs", bad(func(s *Settings) { s.Ways = 1 }), d)), "cifar-fs: -ways 1, -train-ways 5: want at least 2"},
		{"17 ways", second(newCIFARSource("cifar-fs", bad(func(s *Settings) { s.Ways, s.TrainWays = 17, 17 }), d)),
			"cifar-fs validation episodes: episode sampler: cannot sample 17-way episodes from 16 classes"},
		{"too many shots", second(newCIFARSource("fc100", bad(func(s *Settings) { s.TrainShots = 6 }), d)),
			"fc100 training episodes: episode sampler: a class has 20 drawings: 6 shots + 15 queries is too many"},
		{"no data", second(loadCIFARSource("fc100", SourceConfig{Settings: s})), "scripts/download_cifar.sh"},
		{"not CIFAR-100", second(newCIFARSource("cifar-fs", SourceConfig{Settings: s}, &data.CIFAR{Name: "cifar-10"})), "not cifar-10's"},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) || strings.Contains(tc.err.Error(), "\n") {
			t.Errorf("%s: %v, want one line with %q", tc.what, tc.err, tc.want)
		}
	}
}

// second returns the second of two values.
func second[A, B any](_ A, b B) B { return b }

// TestCIFARLearners runs each kind of learner for a few steps on a
// synthetic CIFAR-FS, built as Setup builds a run: MAML (an inner loop
// through Conv-4 on 3×32×32 images), ProtoNet (its embedding),
// RelationNet (feature maps of 8×8 after two poolings) and the transfer
// baseline (pre-training on the source's class batches, TrainTasks); the
// losses and the evaluation stay finite.
func TestCIFARLearners(t *testing.T) {
	if testing.Short() {
		t.Skip("a few Conv-4 steps on 3×32×32 images")
	}
	for _, learner := range []string{"maml", "protonet", "relationnet", "transfer"} {
		t.Run(learner, func(t *testing.T) {
			small := Settings{Queries: 2, EvalQueries: 2, MetaBatch: 1, InnerSteps: 1, EvalSteps: 1, TrainWays: 5}
			src, le, s := cifarTestSource(t, "cifar-fs", learner, small)
			m, err := SourceModel(src, le.Embedding, "", le.ModelOptions.Override(models.Spec{Filters: 8}))
			if err != nil {
				t.Fatal(err)
			}
			l, err := le.New(Config{Model: m, Spec: src.Spec(), Settings: s, Head: models.HeadOf(m), Seed: 1, TrainClasses: src.TrainClasses()})
			if err != nil {
				t.Fatal(err)
			}
			for it := range 2 {
				tasks, err := TrainTasks(l, src, it, s.MetaBatch)
				if err != nil {
					t.Fatal(err)
				}
				st, err := l.MetaStep(tasks)
				if err != nil {
					t.Fatal(err)
				}
				if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
					t.Fatalf("iteration %d: loss %v", it, st.Loss)
				}
			}
			ev, err := Evaluate(l, src.Test(2), s.EvalSteps)
			if err != nil {
				t.Fatal(err)
			}
			last := ev.Accuracy[len(ev.Accuracy)-1].Mean
			if math.IsNaN(last) || last < 0 || last > 1 {
				t.Errorf("accuracy %v", last)
			}
			t.Logf("%s on %s (%s): accuracy after %d steps %.3f", learner, src.Describe(), m.Name(), s.EvalSteps, last)
		})
	}
}
