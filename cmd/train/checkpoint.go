package main

import (
	"fmt"
	"strconv"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/earlystop"
	"github.com/metagon/metagon/models"
)

// A checkpoint's Meta holds where training stands (the keys below) and the
// run's settings under their flag names (see runFlags), so that -resume
// continues a run, even one stopped in the middle of an epoch, exactly as
// it would have gone on: same batches in the same order, same optimizer
// state, and so bit-identical parameters at the end.
const (
	metaEpoch    = "epoch"          // epochs finished
	metaBatch    = "batches_done"   // batches finished in the epoch after those
	metaBatches  = "batches"        // batches per epoch
	metaExamples = "examples"       // training examples per epoch
	metaSteps    = "steps"          // optimizer steps taken
	metaLossSum  = "epoch_loss_sum" // sum of the batch losses so far in the unfinished epoch
	metaModel    = "model"          // the registered model name
	metaFilters  = "filters"        // -filters, when set
	metaHidden   = "hidden"         // -hidden, when set, e.g. "300,100"
	metaDataset  = "dataset"        // -dataset; checkpoints without it are of MNIST

	metaActivation = "activation" // -activation, when set
	metaBatchNorm  = "batch_norm" // -batch-norm, when set: "true"
)

// position is where training stands: epochs finished, and batches finished
// in the epoch after those.
type position struct{ epoch, batch int }

// describe says where training stands, e.g. "in epoch 2 after batch 37 of
// 1875" or "after epoch 1".
func (p position) describe(batches int) string {
	switch {
	case p == position{}:
		return "before the first epoch"
	case p.batch == 0:
		return fmt.Sprintf("after epoch %d", p.epoch)
	}
	return fmt.Sprintf("in epoch %d after batch %d of %d", p.epoch+1, p.batch, batches)
}

// runFlags are the settings a checkpoint records under their flag names.
var runFlags = []string{"seed", "batch", "limit", "optimizer", "lr", "loss", "dtype", "epochs", "dropout",
	"lr-schedule", "weight-decay", "clip-norm", "validation", "early-stop", "train-acc"}

// meta returns the run's settings, keyed by flag name (see runFlags).
func (c config) meta() map[string]string {
	return map[string]string{
		"seed":      strconv.FormatUint(c.seed, 10),
		"batch":     strconv.Itoa(c.batch),
		"limit":     strconv.Itoa(c.limit),
		"optimizer": c.optimizer,
		"lr":        strconv.FormatFloat(c.lr, 'g', -1, 64),
		"loss":      c.loss,
		"dtype":     c.dtype,
		"epochs":    strconv.Itoa(c.epochs),
		"dropout":   strconv.FormatFloat(c.dropout, 'g', -1, 64),

		"lr-schedule":  c.lrSchedule,
		"weight-decay": strconv.FormatFloat(c.weightDecay, 'g', -1, 64),
		"clip-norm":    strconv.FormatFloat(c.clipNorm, 'g', -1, 64),
		"validation":   strconv.Itoa(c.validation),
		"early-stop":   strconv.Itoa(c.earlyStop),
		"train-acc":    strconv.FormatBool(c.trainAcc),
	}
}

// takeFrom sets the settings not given on the command line to those
// recorded in ck (checkpoints of older builds record only some), so that
// -resume continues the run as it was started. A run stopped in the middle
// of an epoch can only go on with the same batches: an explicit -seed or
// -batch that differs from the checkpoint's is refused (the number of
// examples, which -limit sets, is checked once the data is loaded).
func (c *config) takeFrom(ck *graph.Checkpoint) error {
	at, err := savedPosition(ck, c.checkpoint)
	if err != nil {
		return err
	}
	batches, err := metaCount(ck, c.checkpoint, metaBatches)
	if err != nil {
		return err
	}
	mine := c.meta()
	for _, name := range runFlags {
		v, ok := ck.Meta[name]
		if !ok {
			continue
		}
		if c.set[name] {
			if c.resume && at.batch > 0 && (name == "seed" || name == "batch") && mine[name] != v {
				return fmt.Errorf("-%s %s: checkpoint %s stopped %s with -%s %s; a run resumes mid-epoch only with the same batches (leave -%s out to take the checkpoint's)",
					name, mine[name], c.checkpoint, at.describe(batches), name, v, name)
			}
			continue
		}
		if err := c.setFromMeta(name, v); err != nil {
			return fmt.Errorf("checkpoint %s: setting %s=%q: %w", c.checkpoint, name, v, err)
		}
	}
	if err := c.check(); err != nil {
		return fmt.Errorf("checkpoint %s records settings that are not valid: %v", c.checkpoint, err)
	}
	return nil
}

// setFromMeta sets the setting of flag name from its recorded value.
func (c *config) setFromMeta(name, v string) (err error) {
	switch name {
	case "seed":
		c.seed, err = strconv.ParseUint(v, 10, 64)
	case "batch":
		c.batch, err = strconv.Atoi(v)
	case "limit":
		c.limit, err = strconv.Atoi(v)
	case "epochs":
		c.epochs, err = strconv.Atoi(v)
	case "lr":
		c.lr, err = strconv.ParseFloat(v, 64)
	case "dropout":
		c.dropout, err = strconv.ParseFloat(v, 64)
	case "optimizer":
		c.optimizer = v
	case "loss":
		c.loss = v
	case "dtype":
		c.dtype = v
	case "lr-schedule":
		c.lrSchedule = v
	case "weight-decay":
		c.weightDecay, err = strconv.ParseFloat(v, 64)
	case "clip-norm":
		c.clipNorm, err = strconv.ParseFloat(v, 64)
	case "validation":
		c.validation, err = strconv.Atoi(v)
	case "early-stop":
		c.earlyStop, err = strconv.Atoi(v)
	case "train-acc":
		c.trainAcc, err = strconv.ParseBool(v)
	}
	return err
}

// savedPosition reads where training stood when ck, loaded from path, was
// saved; checkpoints without these keys (e.g. of cmd/meta) stand at the
// start.
func savedPosition(ck *graph.Checkpoint, path string) (position, error) {
	var p position
	var err error
	if p.epoch, err = metaCount(ck, path, metaEpoch); err != nil {
		return p, err
	}
	p.batch, err = metaCount(ck, path, metaBatch)
	return p, err
}

// metaCount returns the count ck.Meta holds under key (0 when it holds
// none); the error names the file and the key.
func metaCount(ck *graph.Checkpoint, path, key string) (int, error) {
	v, ok := ck.Meta[key]
	if !ok {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("checkpoint %s: %s=%q is not a count", path, key, v)
	}
	return n, nil
}

// trainState is the state of training that a checkpoint saves besides the
// parameters and the optimizer state.
type trainState struct {
	at      position
	batches int              // batches per epoch
	n       int              // training examples per epoch
	lossSum float64          // sum of the batch losses so far in the unfinished epoch
	best    earlystop.Record // of the validations (-validation, -early-stop)
}

// save writes the parameters, the optimizer state, the settings and the
// progress p to path atomically (graph.SaveCheckpoint).
func save(path string, tr *models.Trainer, c config, p trainState) error {
	ck := tr.Params.Snapshot(tr.Model.Name())
	st := tr.Opt.State()
	ck.Optimizer = &st
	ck.Meta = c.meta()
	ck.Meta[metaModel] = c.model
	ck.Meta[metaDataset] = c.dataset
	if c.filters > 0 {
		ck.Meta[metaFilters] = strconv.Itoa(c.filters)
	}
	if len(c.hidden) > 0 {
		ck.Meta[metaHidden] = cli.FormatIntList(c.hidden)
	}
	if c.activation != "" {
		ck.Meta[metaActivation] = c.activation
	}
	if c.batchNorm {
		ck.Meta[metaBatchNorm] = "true"
	}
	ck.Meta[metaEpoch] = strconv.Itoa(p.at.epoch)
	ck.Meta[metaBatch] = strconv.Itoa(p.at.batch)
	ck.Meta[metaBatches] = strconv.Itoa(p.batches)
	ck.Meta[metaExamples] = strconv.Itoa(p.n)
	ck.Meta[metaSteps] = strconv.FormatInt(tr.Steps, 10)
	ck.Meta[metaLossSum] = strconv.FormatFloat(p.lossSum, 'g', -1, 64)
	p.best.Save(ck.Meta, "epoch")
	return graph.SaveCheckpoint(path, ck)
}

// restore loads the parameters and, when it is of tr's optimizer, the
// optimizer state of ck into tr, and returns the progress ck records. An
// explicit -lr replaces the saved learning rate.
func restore(tr *models.Trainer, ck *graph.Checkpoint, c config) (trainState, bool, error) {
	var p trainState
	if err := tr.Params.Restore(ck, tr.Model.Name()); err != nil {
		return p, false, err
	}
	optRestored := false
	if ck.Optimizer != nil && ck.Optimizer.Kind == tr.Opt.Name() {
		st := ck.Optimizer.Clone()
		if c.set["lr"] {
			st.LR = c.lr
		}
		if err := tr.Opt.SetState(st); err != nil {
			return p, false, fmt.Errorf("restore optimizer from %s: %w", c.checkpoint, err)
		}
		optRestored = true
	}
	var err error
	if p.at, err = savedPosition(ck, c.checkpoint); err != nil {
		return p, false, err
	}
	if p.batches, err = metaCount(ck, c.checkpoint, metaBatches); err != nil {
		return p, false, err
	}
	if p.n, err = metaCount(ck, c.checkpoint, metaExamples); err != nil {
		return p, false, err
	}
	steps, err := metaCount(ck, c.checkpoint, metaSteps)
	if err != nil {
		return p, false, err
	}
	tr.Steps = int64(steps)
	if v, ok := ck.Meta[metaLossSum]; ok {
		if p.lossSum, err = strconv.ParseFloat(v, 64); err != nil {
			return p, false, fmt.Errorf("checkpoint %s: %s=%q is not a number", c.checkpoint, metaLossSum, v)
		}
	}
	if err := p.best.Load(ck.Meta, "epoch"); err != nil {
		return p, false, fmt.Errorf("checkpoint %s: %w", c.checkpoint, err)
	}
	return p, optRestored, nil
}
