package main

import "fmt"

// -validation holds the last N examples of the training split out of
// training and measures the model on them after every epoch; -early-stop
// stops the run once the validation accuracy has not improved for that
// many epochs, keeping the best model in CHECKPOINT.best. The record of
// the best (its accuracy and epoch, and the epochs since; earlystop.Record)
// goes into the checkpoint, so that -resume goes on exactly as a run never
// stopped.

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

// epochs writes "1 epoch" or "3 epochs".
func epochs(n int) string {
	if n == 1 {
		return "1 epoch"
	}
	return fmt.Sprintf("%d epochs", n)
}

// bestPath is where the best model goes: CHECKPOINT.best.
func bestPath(checkpoint string) string { return checkpoint + ".best" }
