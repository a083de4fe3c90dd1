package main

import (
	"fmt"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
)

// omniglotTasks are N-way K-shot episodes of Omniglot characters: training
// episodes from the split's training classes, validation and test episodes
// from its test classes (validation only monitors progress; nothing is
// selected on it).
type omniglotTasks struct {
	c                  config
	size               int
	train, valid, test *data.Sampler
}

func newOmniglot(c config) (*omniglotTasks, error) {
	dir, err := data.FindOmniglotDir(c.dataDir)
	if err != nil {
		return nil, err
	}
	o, err := data.LoadOmniglot(dir, data.OmniglotOptions{Filter: c.resize})
	if err != nil {
		return nil, err
	}
	trainClasses, testClasses, err := o.Split(c.split, c.rotations)
	if err != nil {
		return nil, err
	}
	t := &omniglotTasks{c: c, size: o.Size}
	if t.train, err = data.NewSampler(trainClasses, data.EpisodeOptions{Ways: c.trainWays, Shots: c.trainShots, Queries: c.queries}, stream(c, trainStream)); err != nil {
		return nil, fmt.Errorf("training episodes (%s split): %w", c.split, err)
	}
	evalOpts := data.EpisodeOptions{Ways: c.ways, Shots: c.shots, Queries: c.evalQueries}
	if t.valid, err = data.NewSampler(testClasses, evalOpts, stream(c, validStream)); err != nil {
		return nil, fmt.Errorf("evaluation episodes (%s split): %w", c.split, err)
	}
	if t.test, err = data.NewSampler(testClasses, evalOpts, stream(c, testStream)); err != nil {
		return nil, fmt.Errorf("evaluation episodes (%s split): %w", c.split, err)
	}
	return t, nil
}

func (t *omniglotTasks) Describe() string {
	resize := ""
	if t.c.resize != data.FilterArea {
		resize = ", " + t.c.resize + " resize"
	}
	return fmt.Sprintf("Omniglot %d-way %d-shot (%s split%s)", t.c.ways, t.c.shots, t.c.split, resize)
}

func (t *omniglotTasks) Spec() metalearn.Spec {
	return metalearn.Spec{Support: t.c.trainWays * t.c.trainShots, Query: t.c.trainWays * t.c.queries,
		Input: []int{1, t.size, t.size}, Classes: t.c.trainWays}
}

// Model is Conv-4 with a head of one output per way, or without a head
// (the embedding) for Prototypical Networks.
func (t *omniglotTasks) Model() models.Model {
	classes := t.c.ways
	if t.c.algorithm == "protonet" {
		classes = 0
	}
	return &models.Conv4{InChannels: 1, Height: t.size, Width: t.size, Classes: classes}
}

func (t *omniglotTasks) Head() []string { return []string{"fc.w", "fc.b"} }

func (t *omniglotTasks) Train(it, n int) []metalearn.Task { return episodes(t.train, uint64(it*n), n) }

func (t *omniglotTasks) Valid() []metalearn.Task { return episodes(t.valid, 0, 100) }

func (t *omniglotTasks) Test(n int) []metalearn.Task { return episodes(t.test, 0, n) }

// episodes converts episodes first..first+n−1 of s to tasks.
func episodes(s *data.Sampler, first uint64, n int) []metalearn.Task {
	ts := make([]metalearn.Task, n)
	for i := range ts {
		e := s.Episode(first + uint64(i))
		var t metalearn.Task
		t.SupportX, t.SupportY, t.QueryX, t.QueryY = e.Task64()
		ts[i] = t
	}
	return ts
}
