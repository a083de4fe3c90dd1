package metalearn

import (
	"fmt"
	"strconv"

	"github.com/metagon/metagon/graph"
)

// Stateful is a Learner with state of its own beyond its meta-parameters
// and outer optimizer, which a checkpoint must keep for a resumed run to
// continue exactly: Reptile's carried inner Adam, and every learner's
// count of outer steps, its place in its learning-rate schedule
// (Options.Schedule). The learner writes that state into the checkpoint and reads it
// back, so graph.Checkpoint needs no field for any one algorithm.
type Stateful interface {
	Learner
	// SaveState writes the learner's state into ck: metadata under keys
	// of its own, optimizer states in ck.States.
	SaveState(ck *graph.Checkpoint)
	// LoadState restores what SaveState wrote. iterations is the number
	// of meta-iterations done, for checkpoints that predate the learner's
	// own keys.
	LoadState(ck *graph.Checkpoint, iterations int) error
}

// counterOf reads an integer the learner saved under key, or def.
func counterOf(ck *graph.Checkpoint, key string, def int) (int, error) {
	v, ok := ck.Meta[key]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, fmt.Errorf("checkpoint metadata %s = %q is not a number", key, v)
	}
	return n, nil
}

// SaveState saves Reptile's iteration (its place in the ε schedule) and
// the carried inner Adam, if any.
func (l *Reptile) SaveState(ck *graph.Checkpoint) {
	ck.Meta["reptile.iteration"] = strconv.Itoa(l.steps)
	if l.inner.Kind != "" {
		if ck.States == nil {
			ck.States = map[string]graph.OptimizerState{}
		}
		ck.States["inner"] = l.inner.Clone()
	}
}

// LoadState restores what SaveState saved.
func (l *Reptile) LoadState(ck *graph.Checkpoint, iterations int) error {
	it, err := counterOf(ck, "reptile.iteration", iterations)
	if err != nil {
		return fmt.Errorf("reptile: %w", err)
	}
	l.SetIteration(it)
	if s, ok := ck.States["inner"]; ok {
		return l.SetInnerState(s)
	}
	return nil
}

// SaveState saves the number of episodes trained (the learning-rate
// schedule's place), under "<name>.episodes".
func (l *Metric) SaveState(ck *graph.Checkpoint) {
	ck.Meta[l.name+".episodes"] = strconv.Itoa(l.base.steps)
}

// LoadState restores what SaveState saved.
func (l *Metric) LoadState(ck *graph.Checkpoint, iterations int) error {
	n, err := counterOf(ck, l.name+".episodes", iterations)
	if err != nil {
		return fmt.Errorf("%s: %w", l.name, err)
	}
	l.setSteps(n)
	return nil
}
