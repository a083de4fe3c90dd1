package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
)

// omniglotSource are N-way K-shot episodes of Omniglot characters (Lake et
// al. 2015): training episodes from the split's training classes,
// validation and test episodes from its test classes (validation only
// monitors progress; nothing is selected on it).
type omniglotSource struct {
	c                  SourceConfig
	train, valid, test *data.Sampler[data.Class]
	batches            *data.ClassBatches[data.Class] // the training classes as batches (ClassBatcher)
}

func init() {
	RegisterSource("omniglot", SourceEntry{
		Summary:        "Omniglot N-way K-shot episodes (the canonical zips in -data or $OMNIGLOT_DIR)",
		Classification: true,
		// Finn et al.'s code: 5-way 1-shot, one query per class in
		// training and 15 at evaluation, meta-batch 32, α = 0.4.
		Defaults: Settings{Ways: 5, Shots: 1, Queries: 1, EvalQueries: 15, MetaBatch: 32, InnerLR: 0.4,
			Iterations: 2000, CheckpointEvery: 200, Dtype: "float32"},
		New: newOmniglotSource,
	})
}

func newOmniglotSource(c SourceConfig) (TaskSource, error) {
	switch {
	case c.Ways < 2 || c.TrainWays < 2:
		return nil, fmt.Errorf("omniglot: -ways %d, -train-ways %d: want at least 2", c.Ways, c.TrainWays)
	}
	dir, err := data.FindOmniglotDir(c.DataDir)
	if err != nil {
		return nil, err
	}
	split := c.Split
	if split == "" {
		split = "background"
	}
	o, err := data.LoadOmniglot(dir, data.OmniglotOptions{Filter: c.Resize})
	if err != nil {
		return nil, err
	}
	trainClasses, testClasses, err := o.Split(split, c.Rotations)
	if err != nil {
		return nil, err
	}
	c.Split = split
	t := &omniglotSource{c: c}
	if t.train, err = data.NewSampler(trainClasses, data.EpisodeOptions{Ways: c.TrainWays, Shots: c.TrainShots, Queries: c.Queries}, c.Stream(TrainStream)); err != nil {
		return nil, fmt.Errorf("training episodes (%s split): %w", split, err)
	}
	if t.batches, err = data.NewClassBatches(trainClasses, c.Stream(TrainStream)); err != nil {
		return nil, fmt.Errorf("training batches (%s split): %w", split, err)
	}
	evalOpts := data.EpisodeOptions{Ways: c.Ways, Shots: c.Shots, Queries: c.EvalQueries}
	if t.valid, err = data.NewSampler(testClasses, evalOpts, c.Stream(ValidStream)); err != nil {
		return nil, fmt.Errorf("evaluation episodes (%s split): %w", split, err)
	}
	if t.test, err = data.NewSampler(testClasses, evalOpts, c.Stream(TestStream)); err != nil {
		return nil, fmt.Errorf("evaluation episodes (%s split): %w", split, err)
	}
	return t, nil
}

func (t *omniglotSource) Describe() string {
	resize := ""
	if t.c.Resize != "" && t.c.Resize != data.FilterArea {
		resize = ", " + t.c.Resize + " resize"
	}
	return fmt.Sprintf("Omniglot %d-way %d-shot (%s split%s)", t.c.Ways, t.c.Shots, t.c.Split, resize)
}

func (t *omniglotSource) Spec() Spec {
	sh := t.train.Shape()
	return Spec{Support: t.c.TrainWays * t.c.TrainShots, Query: t.c.TrainWays * t.c.Queries,
		Input: sh[:], Classes: t.c.TrainWays}
}

// Model is Conv-4 with a head of one output per way, or without a head
// (the embedding of metric learners).
func (t *omniglotSource) Model(embedding bool) (string, models.Spec) {
	sh := t.train.Shape()
	return "conv4", models.Spec{Input: sh[:], Outputs: t.c.Ways, Embedding: embedding}
}

func (t *omniglotSource) Train(it, n int) []Task { return episodes(t.train, uint64(it*n), n) }

func (t *omniglotSource) Valid() []Task { return episodes(t.valid, 0, 100) }

func (t *omniglotSource) Test(n int) []Task { return episodes(t.test, 0, n) }

// TestRange returns held-out episodes first … first+n−1 (TestRanger).
func (t *omniglotSource) TestRange(first, n int) []Task { return episodes(t.test, uint64(first), n) }

// TrainClasses is the number of training classes: characters, ×4 with
// rotations (ClassBatcher).
func (t *omniglotSource) TrainClasses() int { return t.batches.NumClasses() }

// ClassBatch returns training batch it of n images labelled with their
// training classes (ClassBatcher).
func (t *omniglotSource) ClassBatch(it, n int) Task { return classBatch(t.batches, it, n) }

// episodes converts episodes first..first+n−1 of s to tasks. Any data set
// of image classes (data.ImageClass) gives its tasks this way.
func episodes[C data.ImageClass](s *data.Sampler[C], first uint64, n int) []Task {
	ts := make([]Task, n)
	for i := range ts {
		e := s.Episode(first + uint64(i))
		var t Task
		t.SupportX, t.SupportY, t.QueryX, t.QueryY = e.Task64()
		ts[i] = t
	}
	return ts
}
