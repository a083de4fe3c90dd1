package main

import "fmt"

// -validation holds the last N examples of the training split out of
// training and measures the model on them after every epoch; -early-stop
// stops the run once the validation accuracy has not improved for that
// many epochs, keeping the best model in CHECKPOINT.best. The record of
// the best (its accuracy and epoch, and the epochs since; earlystop.Record)
// goes into the checkpoint, so that -resume goes on exactly as a run never
// stopped.

// splitTraining returns how many examples of train the run trains on (the
// first ones, -limit of them at most) and the held-out validation set
// (the last -validation, nil without it).
func splitTraining(train labeled, c config, dir string) (int, *span, error) {
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
	return n, &span{labeled: train, off: total - c.validation, n: c.validation}, nil
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
