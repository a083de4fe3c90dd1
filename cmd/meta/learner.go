package main

import (
	"fmt"
	"strconv"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/metalearn"
	"gorgonia.org/tensor"
)

// newLearner builds the learner the flags ask for on src's tasks.
func newLearner(c config, src taskSource) (metalearn.Learner, error) {
	dt := tensor.Float64
	if c.dtype == "float32" {
		dt = tensor.Float32
	}
	o := metalearn.Options{
		Spec:       src.Spec(),
		InnerSteps: c.innerSteps,
		InnerLR:    c.innerLR,
		Workers:    c.workers,
		Dtype:      dt,
		Seed:       c.seed,
	}
	if c.zeroHead {
		o.ZeroHead = src.Head()
	}
	m := src.Model()
	switch c.algorithm {
	case "maml":
		o.Outer = graph.NewAdam(c.outerLR)
		return metalearn.NewMAML(m, metalearn.MAMLOptions{Options: o, FirstOrder: c.firstOrder})
	case "metasgd":
		o.Outer = graph.NewAdam(c.outerLR)
		return metalearn.NewMetaSGD(m, metalearn.MetaSGDOptions{Options: o})
	case "anil":
		o.Outer = graph.NewAdam(c.outerLR)
		return metalearn.NewANIL(m, src.Head(), metalearn.MAMLOptions{Options: o, FirstOrder: c.firstOrder})
	case "reptile":
		return metalearn.NewReptile(m, metalearn.ReptileOptions{Options: o, OuterLR: c.outerLR, Iterations: c.iterations, InnerAdam: c.innerAdam, CarryAdam: c.innerAdam && !c.freshAdam, InnerBatch: c.innerBatch})
	case "protonet":
		return metalearn.NewProtoNet(m, metalearn.ProtoNetOptions{Options: o, LR: c.outerLR})
	}
	return nil, fmt.Errorf("unknown algorithm %q", c.algorithm)
}

// learnerKey names what a checkpoint holds: algorithm and model.
func learnerKey(l metalearn.Learner) string { return l.Name() + "/" + l.Model().Name() }

// saveCheckpoint writes the meta-parameters, the outer optimizer's state
// and the iteration count.
func saveCheckpoint(l metalearn.Learner, c config, iteration int) error {
	ck := l.Params().Snapshot(learnerKey(l))
	st := l.Optimizer().State()
	ck.Optimizer = &st
	if r, ok := l.(*metalearn.Reptile); ok {
		if in := r.InnerState(); in.Kind != "" {
			ck.Inner = &in
		}
	}
	ck.Meta["iteration"] = strconv.Itoa(iteration)
	ck.Meta["seed"] = strconv.FormatUint(c.seed, 10)
	ck.Meta["algorithm"] = l.Name()
	ck.Meta["shots"] = strconv.Itoa(c.shots)
	if err := graph.SaveCheckpoint(c.checkpoint, ck); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// loadCheckpoint restores l from path and returns the iterations done.
func loadCheckpoint(l metalearn.Learner, path string) (int, error) {
	ck, err := graph.LoadCheckpoint(path)
	if err != nil {
		return 0, err
	}
	if err := l.Params().Restore(ck, learnerKey(l)); err != nil {
		return 0, err
	}
	if ck.Optimizer != nil && ck.Optimizer.Kind == l.Optimizer().Name() {
		if err := l.Optimizer().SetState(*ck.Optimizer); err != nil {
			return 0, fmt.Errorf("restore optimizer from %s: %w", path, err)
		}
	}
	it, _ := strconv.Atoi(ck.Meta["iteration"])
	switch r := l.(type) {
	case *metalearn.Reptile:
		r.SetIteration(it)
		if ck.Inner != nil {
			if err := r.SetInnerState(*ck.Inner); err != nil {
				return 0, fmt.Errorf("restore %s: %w", path, err)
			}
		}
	case *metalearn.ProtoNet:
		r.SetEpisodes(it)
	}
	return it, nil
}
