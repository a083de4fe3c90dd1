package main

import (
	"strconv"

	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
)

// taskSource is where a run's tasks come from: the sinusoid family or
// Omniglot episodes. Training, validation and test tasks are disjoint,
// seeded streams, indexed so that a resumed run sees the same tasks.
type taskSource interface {
	// Describe names the task family, e.g. "10-shot sinusoid".
	Describe() string
	// Spec is the shape of the meta-training tasks.
	Spec() metalearn.Spec
	// Model is the network to meta-learn.
	Model() models.Model
	// Head names the weights ANIL adapts.
	Head() []string
	// Train returns the meta-batch of iteration it.
	Train(it, n int) []metalearn.Task
	// Valid returns the fixed validation tasks.
	Valid() []metalearn.Task
	// Test returns n held-out evaluation tasks.
	Test(n int) []metalearn.Task
}

// sinusoids is the sinusoid regression family of Finn et al. 2017.
type sinusoids struct{ c config }

func (s sinusoids) Describe() string { return itoa(s.c.shots) + "-shot sinusoid" }

func (s sinusoids) Spec() metalearn.Spec { return metalearn.SinusoidSpec(s.c.trainShots, s.c.queries) }

func (s sinusoids) Model() models.Model {
	m := models.SinusoidMLP()
	if s.c.init == "torch" {
		m.WeightInit, m.BiasInit = models.TorchDefaultInit, models.TorchDefaultInit
		m.ModelName += "-torchinit"
	}
	return m
}

func (s sinusoids) Head() []string { return []string{"w3", "b3"} }

func (s sinusoids) Train(it, n int) []metalearn.Task {
	return metalearn.SinusoidTasks(stream(s.c, trainStream), uint64(it*n), n, s.c.trainShots, s.c.queries)
}

func (s sinusoids) Valid() []metalearn.Task {
	return metalearn.SinusoidTasks(stream(s.c, validStream), 0, 100, s.c.shots, s.c.queries)
}

func (s sinusoids) Test(n int) []metalearn.Task {
	return metalearn.SinusoidTasks(stream(s.c, testStream), 0, n, s.c.shots, s.c.queries)
}

// newSource returns the task family the flags name.
func newSource(c config) (taskSource, error) {
	if c.dataset == "omniglot" {
		return newOmniglot(c)
	}
	return sinusoids{c: c}, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
