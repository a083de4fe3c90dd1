package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
)

// miniImageNetSource are N-way K-shot episodes of mini-ImageNet (Vinyals
// et al., "Matching Networks for One Shot Learning", NeurIPS 2016) split
// as its CSVs say, which for the copies the literature uses is Ravi &
// Larochelle's split ("Optimization as a Model for Few-Shot Learning",
// ICLR 2017): training episodes from train.csv's 64 classes, validation
// episodes from val.csv's 16 and test episodes from test.csv's 20,
// 3×84×84 images normalised by the training classes' channel statistics.
// The Omniglot options of SourceConfig (Split, Rotations, Resize) do not
// apply and are ignored.
type miniImageNetSource struct {
	c                  SourceConfig
	m                  *data.MiniImageNet
	train, valid, test *data.Sampler[data.MiniImageNetClass]
	batches            *data.ClassBatches[data.MiniImageNetClass] // the training classes as batches (ClassBatcher)
}

func init() {
	RegisterSource("mini-imagenet", SourceEntry{
		Summary: "mini-ImageNet N-way K-shot episodes (Vinyals et al. 2016; Ravi & Larochelle 2017's split, 64/16/20 classes): " +
			"train.csv, val.csv, test.csv and images/ in -data or $MINIIMAGENET_DIR",
		Classification: true,
		// cifarDefaults are MAML's mini-ImageNet settings.
		Defaults: cifarDefaults,
		New:      loadMiniImageNetSource,
	})
}

// loadMiniImageNetSource finds and loads mini-ImageNet (decoding its
// images the first time, minutes for the whole data set, which c.Log is
// told of) and makes the source of it.
func loadMiniImageNetSource(c SourceConfig) (TaskSource, error) {
	if err := checkCIFARWays("mini-imagenet", c); err != nil {
		return nil, err
	}
	dir, err := data.FindMiniImageNetDir(c.DataDir)
	if err != nil {
		return nil, err
	}
	m, err := data.LoadMiniImageNet(dir, data.MiniImageNetOptions{Log: c.Log})
	if err != nil {
		return nil, err
	}
	return newMiniImageNetSource(c, m)
}

// newMiniImageNetSource makes the source of m's classes.
func newMiniImageNetSource(c SourceConfig, m *data.MiniImageNet) (*miniImageNetSource, error) {
	if err := checkCIFARWays("mini-imagenet", c); err != nil {
		return nil, err
	}
	t := &miniImageNetSource{c: c, m: m}
	var err error
	if t.train, err = data.NewSampler(m.Train, data.EpisodeOptions{Ways: c.TrainWays, Shots: c.TrainShots, Queries: c.Queries}, c.Stream(TrainStream)); err != nil {
		return nil, fmt.Errorf("mini-imagenet training episodes (train.csv): %w", err)
	}
	if t.batches, err = data.NewClassBatches(m.Train, c.Stream(TrainStream)); err != nil {
		return nil, fmt.Errorf("mini-imagenet training batches (train.csv): %w", err)
	}
	evalOpts := data.EpisodeOptions{Ways: c.Ways, Shots: c.Shots, Queries: c.EvalQueries}
	if t.valid, err = data.NewSampler(m.Valid, evalOpts, c.Stream(ValidStream)); err != nil {
		return nil, fmt.Errorf("mini-imagenet validation episodes (val.csv): %w", err)
	}
	if t.test, err = data.NewSampler(m.Test, evalOpts, c.Stream(TestStream)); err != nil {
		return nil, fmt.Errorf("mini-imagenet test episodes (test.csv): %w", err)
	}
	return t, nil
}

// Describe returns e.g. "mini-ImageNet 5-way 1-shot (64/16/20 classes)",
// with ", not Ravi & Larochelle's split" when the CSVs' classes are
// others.
func (t *miniImageNetSource) Describe() string {
	other := ""
	if !t.m.RaviSplit {
		other = ", not Ravi & Larochelle's split"
	}
	return fmt.Sprintf("mini-ImageNet %d-way %d-shot (%d/%d/%d classes%s)", t.c.Ways, t.c.Shots,
		len(t.m.Train), len(t.m.Valid), len(t.m.Test), other)
}

func (t *miniImageNetSource) Spec() Spec {
	sh := t.train.Shape()
	return Spec{Support: t.c.TrainWays * t.c.TrainShots, Query: t.c.TrainWays * t.c.Queries,
		Input: sh[:], Classes: t.c.TrainWays}
}

// Model is Conv-4 on 3×84×84 images (feature maps of 64×5×5 after four
// poolings, 84 → 42 → 21 → 10 → 5) with a head of one output per way, or
// without a head (the 1,600-wide embedding of metric learners).
func (t *miniImageNetSource) Model(embedding bool) (string, models.Spec) {
	sh := t.train.Shape()
	return "conv4", models.Spec{Input: sh[:], Outputs: t.c.Ways, Embedding: embedding}
}

func (t *miniImageNetSource) Train(it, n int) []Task { return episodes(t.train, uint64(it*n), n) }

func (t *miniImageNetSource) Valid() []Task { return episodes(t.valid, 0, 100) }

func (t *miniImageNetSource) Test(n int) []Task { return episodes(t.test, 0, n) }

// TestRange returns held-out episodes first … first+n−1 (TestRanger).
func (t *miniImageNetSource) TestRange(first, n int) []Task {
	return episodes(t.test, uint64(first), n)
}

// TrainClasses is the number of training classes (ClassBatcher).
func (t *miniImageNetSource) TrainClasses() int { return t.batches.NumClasses() }

// ClassBatch returns training batch it of n images labelled with their
// training classes (ClassBatcher).
func (t *miniImageNetSource) ClassBatch(it, n int) Task { return classBatch(t.batches, it, n) }
