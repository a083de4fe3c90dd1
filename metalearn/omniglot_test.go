package metalearn

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// loadOmniglot finds Omniglot the way the tools do, or skips (fails in CI).
func loadOmniglot(t *testing.T) *data.Omniglot {
	t.Helper()
	dir := data.OmniglotDirOrSkip(t)
	o, err := data.LoadOmniglot(dir, data.OmniglotOptions{CacheDir: filepath.Join(os.TempDir(), "metagon-test-cache")})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func omniglotTasks(t *testing.T, s *data.Sampler[data.Class], first uint64, n int) []Task {
	t.Helper()
	ts := make([]Task, n)
	for i := range ts {
		e := s.Episode(first + uint64(i))
		ts[i].SupportX, ts[i].SupportY, ts[i].QueryX, ts[i].QueryY = e.Task64()
	}
	return ts
}

// metricLearning is one metric learner's short learning test on Omniglot:
// episodes training episodes of ways-way shots-shot queries-query from the
// background characters (sampler seed trainSeed), then evalEpisodes 5-way
// 1-shot 15-query episodes of the evaluation characters (unseen
// alphabets), which must reach 85%.
type metricLearning struct {
	ways, shots, queries, episodes, evalEpisodes int
	trainSeed                                    uint64
	// learner builds the learner for training episodes of spec.
	learner func(spec Spec) (Learner, error)
}

func (c metricLearning) run(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("meta-trains on Omniglot")
	}
	start := time.Now()
	o := loadOmniglot(t)
	train, test, err := o.Split("background", true)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := data.NewSampler(train, data.EpisodeOptions{Ways: c.ways, Shots: c.shots, Queries: c.queries}, c.trainSeed)
	if err != nil {
		t.Fatal(err)
	}
	es, err := data.NewSampler(test, data.EpisodeOptions{Ways: 5, Shots: 1, Queries: 15}, 2)
	if err != nil {
		t.Fatal(err)
	}
	l, err := c.learner(Spec{Support: c.ways * c.shots, Query: c.ways * c.queries, Input: []int{1, 28, 28}, Classes: c.ways})
	if err != nil {
		t.Fatal(err)
	}
	for ep := 0; ep < c.episodes; ep++ {
		if _, err := l.MetaStep(omniglotTasks(t, ts, uint64(ep), 1)); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := Evaluate(l, omniglotTasks(t, es, 0, c.evalEpisodes), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d episodes of %d-way %d-shot %d-query: 5-way 1-shot accuracy %s (%.1f s)", c.episodes, c.ways, c.shots, c.queries,
		ev.Accuracy[0].Percent(), time.Since(start).Seconds())
	if ev.Accuracy[0].Mean < 0.85 {
		t.Errorf("5-way 1-shot accuracy %s < 85%%", ev.Accuracy[0].Percent())
	}
}

// TestProtoNetLearnsOmniglot meta-trains a Prototypical Network (Conv-4,
// 64 filters) briefly on background characters and evaluates 5-way 1-shot
// accuracy on 200 episodes of evaluation characters (unseen alphabets):
// it must reach 85%. An untrained embedding scores about 60–70%, chance is
// 20%.
func TestProtoNetLearnsOmniglot(t *testing.T) {
	metricLearning{ways: 30, shots: 1, queries: 5, episodes: 120, evalEpisodes: 200, trainSeed: 1,
		learner: func(spec Spec) (Learner, error) {
			return NewProtoNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28},
				ProtoNetOptions{Options: Options{Spec: spec, Seed: 1, Dtype: tensor.Float32}})
		}}.run(t)
}

// TestRelationNetLearnsOmniglot meta-trains a Relation Network (Conv-4
// keeping 7×7 maps, the relation module of the paper) briefly on
// background characters and evaluates 5-way 1-shot accuracy on 60
// episodes of evaluation characters (unseen alphabets), 15 queries per
// class: it must reach 85%. To fit in a minute on two cores the training
// episodes are the paper's 5-way 1-shot but with 3 queries per class
// instead of 19 (a fifth of the cost, so five times the steps), and Adam's
// rate is 3·10⁻³ instead of 10⁻³. An untrained network scores about 20%,
// chance.
func TestRelationNetLearnsOmniglot(t *testing.T) {
	metricLearning{ways: 5, shots: 1, queries: 3, episodes: 500, evalEpisodes: 60, trainSeed: 1,
		learner: func(spec Spec) (Learner, error) {
			return NewRelationNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28, Pools: 2},
				RelationNetOptions{MetricOptions: MetricOptions{Options: Options{Spec: spec, Seed: 1, Dtype: tensor.Float32}, LR: 3e-3}})
		}}.run(t)
}
