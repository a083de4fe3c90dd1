package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
)

// cifarSource are N-way K-shot episodes of a few-shot split of CIFAR-100
// (data.CIFARFewShot: CIFAR-FS or FC100): training episodes from its
// training classes, validation episodes from its validation classes and
// test episodes from its test classes, 3×32×32 images normalised by the
// training classes' channel statistics. The Omniglot options of
// SourceConfig (Split, Rotations, Resize) do not apply and are ignored.
type cifarSource struct {
	c                  SourceConfig
	fs                 *data.CIFARFewShot
	train, valid, test *data.Sampler[data.CIFARClass]
	batches            *data.ClassBatches[data.CIFARClass] // the training classes as batches (ClassBatcher)
}

// cifarDefaults are the settings of MAML's mini-ImageNet experiments
// (Finn et al. 2017: 5-way, 15 queries per class, meta-batch 4, 5 inner
// steps of α = 0.01 in training, 10 at test), which Bertinetto et al.
// (2019) and Oreshkin et al. (2018) follow on CIFAR-FS and FC100.
var cifarDefaults = Settings{Ways: 5, Shots: 1, Queries: 15, EvalQueries: 15, MetaBatch: 4,
	InnerSteps: 5, EvalSteps: 10, InnerLR: 0.01, Iterations: 2000, CheckpointEvery: 200, Dtype: "float32"}

func init() {
	RegisterSource("cifar-fs", SourceEntry{
		Summary:        "CIFAR-FS N-way K-shot episodes: 64/16/20 classes of CIFAR-100 (cifar-100-binary.tar.gz in -data or $CIFAR_DIR)",
		Classification: true,
		Defaults:       cifarDefaults,
		New:            func(c SourceConfig) (TaskSource, error) { return loadCIFARSource("cifar-fs", c) },
	})
	RegisterSource("fc100", SourceEntry{
		Summary:        "FC100 N-way K-shot episodes: CIFAR-100 by superclass, 60/20/20 classes (cifar-100-binary.tar.gz in -data or $CIFAR_DIR)",
		Classification: true,
		Defaults:       cifarDefaults,
		New:            func(c SourceConfig) (TaskSource, error) { return loadCIFARSource("fc100", c) },
	})
}

// loadCIFARSource finds and loads CIFAR-100 and makes the source of the
// split name ("cifar-fs", "fc100") from it.
func loadCIFARSource(name string, c SourceConfig) (TaskSource, error) {
	if err := checkCIFARWays(name, c); err != nil {
		return nil, err
	}
	dir, err := data.FindCIFARDir(c.DataDir)
	if err != nil {
		return nil, err
	}
	d, err := data.LoadCIFAR100(dir)
	if err != nil {
		return nil, err
	}
	return newCIFARSource(name, c, d)
}

// checkCIFARWays refuses episodes of fewer than 2 ways.
func checkCIFARWays(name string, c SourceConfig) error {
	if c.Ways < 2 || c.TrainWays < 2 {
		return fmt.Errorf("%s: -ways %d, -train-ways %d: want at least 2", name, c.Ways, c.TrainWays)
	}
	return nil
}

// newCIFARSource makes the source of the split name of d, which must be
// CIFAR-100.
func newCIFARSource(name string, c SourceConfig, d *data.CIFAR) (*cifarSource, error) {
	if err := checkCIFARWays(name, c); err != nil {
		return nil, err
	}
	fs, err := d.FewShot(name)
	if err != nil {
		return nil, err
	}
	t := &cifarSource{c: c, fs: fs}
	if t.train, err = data.NewSampler(fs.Train, data.EpisodeOptions{Ways: c.TrainWays, Shots: c.TrainShots, Queries: c.Queries}, c.Stream(TrainStream)); err != nil {
		return nil, fmt.Errorf("%s training episodes: %w", name, err)
	}
	if t.batches, err = data.NewClassBatches(fs.Train, c.Stream(TrainStream)); err != nil {
		return nil, fmt.Errorf("%s training batches: %w", name, err)
	}
	evalOpts := data.EpisodeOptions{Ways: c.Ways, Shots: c.Shots, Queries: c.EvalQueries}
	if t.valid, err = data.NewSampler(fs.Valid, evalOpts, c.Stream(ValidStream)); err != nil {
		return nil, fmt.Errorf("%s validation episodes: %w", name, err)
	}
	if t.test, err = data.NewSampler(fs.Test, evalOpts, c.Stream(TestStream)); err != nil {
		return nil, fmt.Errorf("%s test episodes: %w", name, err)
	}
	return t, nil
}

// Describe returns e.g. "CIFAR-FS 5-way 1-shot (64/16/20 classes)".
func (t *cifarSource) Describe() string {
	title := map[string]string{"cifar-fs": "CIFAR-FS", "fc100": "FC100"}[t.fs.Name]
	return fmt.Sprintf("%s %d-way %d-shot (%d/%d/%d classes)", title, t.c.Ways, t.c.Shots,
		len(t.fs.Train), len(t.fs.Valid), len(t.fs.Test))
}

func (t *cifarSource) Spec() Spec {
	sh := t.train.Shape()
	return Spec{Support: t.c.TrainWays * t.c.TrainShots, Query: t.c.TrainWays * t.c.Queries,
		Input: sh[:], Classes: t.c.TrainWays}
}

// Model is Conv-4 on 3×32×32 images (feature maps of 64×2×2 after four
// poolings) with a head of one output per way, or without a head (the
// embedding of metric learners).
func (t *cifarSource) Model(embedding bool) (string, models.Spec) {
	sh := t.train.Shape()
	return "conv4", models.Spec{Input: sh[:], Outputs: t.c.Ways, Embedding: embedding}
}

func (t *cifarSource) Train(it, n int) []Task { return episodes(t.train, uint64(it*n), n) }

func (t *cifarSource) Valid() []Task { return episodes(t.valid, 0, 100) }

func (t *cifarSource) Test(n int) []Task { return episodes(t.test, 0, n) }

// TestRange returns held-out episodes first … first+n−1 (TestRanger).
func (t *cifarSource) TestRange(first, n int) []Task { return episodes(t.test, uint64(first), n) }

// TrainClasses is the number of training classes (ClassBatcher).
func (t *cifarSource) TrainClasses() int { return t.batches.NumClasses() }

// ClassBatch returns training batch it of n images labelled with their
// training classes (ClassBatcher).
func (t *cifarSource) ClassBatch(it, n int) Task { return classBatch(t.batches, it, n) }
