package main

import (
	"fmt"
	"strconv"

	"github.com/metagon/metagon/graph"
)

// -validation holds the last N examples of the training split out of
// training and measures the model on them after every epoch; -early-stop
// stops the run once the validation accuracy has not improved for that
// many epochs, keeping the best model in CHECKPOINT.best. The record of
// the best (its accuracy and epoch, and the epochs since) goes into the
// checkpoint, so that -resume goes on exactly as a run never stopped.

// Checkpoint keys of the validation record.
const (
	metaBestAcc   = "best_valid_acc"    // the best validation accuracy so far
	metaBestEpoch = "best_epoch"        // the epoch after which the model had it
	metaSinceBest = "epochs_since_best" // epochs validated since, none better
)

// heldOut is the last n examples of a data set, from off on: -validation's
// split.
type heldOut struct {
	labeled
	off, n int
	idx    []int
}

// Len is the number of held-out examples.
func (h *heldOut) Len() int { return h.n }

// FillBatch fills x and labels with the held-out examples idx (0..n−1).
func (h *heldOut) FillBatch(idx []int, x, labels []float64) {
	h.idx = h.idx[:0]
	for _, i := range idx {
		h.idx = append(h.idx, h.off+i)
	}
	h.labeled.FillBatch(h.idx, x, labels)
}

// splitTraining returns how many examples of train the run trains on (the
// first ones, -limit of them at most) and the held-out validation set
// (the last -validation, nil without it).
func splitTraining(train labeled, c config, dir string) (int, *heldOut, error) {
	total := train.Len()
	if c.validation >= total {
		return 0, nil, fmt.Errorf("-validation %d: the training split in %s has only %d examples; hold out fewer", c.validation, dir, total)
	}
	n := total - c.validation
	if c.limit > 0 && c.limit < n {
		n = c.limit
	}
	if c.validation == 0 {
		return n, nil, nil
	}
	return n, &heldOut{labeled: train, off: total - c.validation, n: c.validation}, nil
}

// bestSoFar is the record of the validations.
type bestSoFar struct {
	acc   float64 // the best validation accuracy (valid when epoch > 0)
	epoch int     // the epoch after which the model had it; 0: none yet
	since int     // validations since, none better
}

// observe records the validation accuracy after epoch and reports whether
// it is the best so far (strictly better than the best before).
func (b *bestSoFar) observe(acc float64, epoch int) bool {
	if b.epoch == 0 || acc > b.acc {
		b.acc, b.epoch, b.since = acc, epoch, 0
		return true
	}
	b.since++
	return false
}

// exhausted reports whether patience validations in a row brought no
// improvement (never for patience 0).
func (b bestSoFar) exhausted(patience int) bool { return patience > 0 && b.since >= patience }

// save writes the record into a checkpoint's metadata (nothing before the
// first validation).
func (b bestSoFar) save(meta map[string]string) {
	if b.epoch == 0 {
		return
	}
	meta[metaBestAcc] = strconv.FormatFloat(b.acc, 'g', -1, 64)
	meta[metaBestEpoch] = strconv.Itoa(b.epoch)
	meta[metaSinceBest] = strconv.Itoa(b.since)
}

// load reads the record from ck, loaded from path (none: no validation
// yet).
func (b *bestSoFar) load(ck *graph.Checkpoint, path string) error {
	v, ok := ck.Meta[metaBestAcc]
	if !ok {
		*b = bestSoFar{}
		return nil
	}
	var err error
	if b.acc, err = strconv.ParseFloat(v, 64); err != nil {
		return fmt.Errorf("checkpoint %s: %s=%q is not a number", path, metaBestAcc, v)
	}
	if b.epoch, err = metaCount(ck, path, metaBestEpoch); err != nil {
		return err
	}
	b.since, err = metaCount(ck, path, metaSinceBest)
	return err
}

// epochs writes "1 epoch" or "3 epochs".
func epochs(n int) string {
	if n == 1 {
		return "1 epoch"
	}
	return fmt.Sprintf("%d epochs", n)
}

// bestPath is where the best model goes: CHECKPOINT.best.
func bestPath(checkpoint string) string { return checkpoint + ".best" }
