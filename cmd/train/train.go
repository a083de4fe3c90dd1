package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/progress"
	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
	"gorgonia.org/tensor"
)

// train runs the command. Everything that can be refused is checked before
// the data is loaded: the checkpoint to resume or evaluate, the model and
// whether it fits MNIST, the settings, and the checkpoint path to write.
func train(ctx context.Context, c config, stdout, stderr io.Writer, log *logrus.Logger) error {
	var ck *graph.Checkpoint
	if c.resume || c.evalOnly {
		var err error
		if ck, err = graph.LoadCheckpoint(c.checkpoint); err != nil {
			return err
		}
	}
	model, err := chooseModel(&c, ck)
	if err != nil {
		return err
	}
	c.fillDefaults()
	if err := checkOutput(c); err != nil {
		return err
	}
	tr, err := newTrainer(model, c)
	if err != nil {
		return err
	}
	startEpoch := 0
	if ck != nil {
		if startEpoch, err = restore(tr, ck, c.checkpoint); err != nil {
			return err
		}
		log.Infof("restored %s from %s (epoch %d)", model.Name(), c.checkpoint, startEpoch)
	}
	dir, err := data.FindMNISTDir(c.dataDir)
	if err != nil {
		return err
	}
	test, err := loadMNIST(dir, "t10k", model)
	if err != nil {
		return err
	}
	if c.evalOnly {
		acc, err := tr.Accuracy(test, c.evalBatch)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "test accuracy %.2f%% (%s, %d examples)\n", 100*acc, model.Name(), test.Len())
		return nil
	}
	trainSet, err := loadMNIST(dir, "train", model)
	if err != nil {
		return err
	}
	n := trainSet.Len()
	if c.limit > 0 && c.limit < n {
		n = c.limit
	}
	log.Infof("training %s (%d parameters) on %d MNIST examples: %s lr %g, %s loss, batch %d, %d epochs, %s",
		model.Name(), tr.Params.Count(), n, c.optimizer, c.lr, c.loss, c.batch, c.epochs, c.dtype)
	batcher := data.NewBatcher(n, c.batch, int64(c.seed))
	in := size(model.InputShape())
	x := make([]float64, c.batch*in)
	labels := make([]float64, c.batch)
	for epoch := startEpoch; epoch < c.epochs; epoch++ {
		bar := progress.New(stderr, fmt.Sprintf("epoch %d/%d", epoch+1, c.epochs), n)
		start := time.Now()
		done, lossSum := 0, 0.0
		for i, idx := range batcher.Batches(epoch) {
			if err := ctx.Err(); err != nil {
				bar.Done()
				return interrupted(tr, c, epoch, log)
			}
			xb, lb := x[:len(idx)*in], labels[:len(idx)]
			trainSet.FillBatch(idx, xb, lb)
			loss, err := tr.Step(xb, lb)
			if err != nil {
				bar.Done()
				return failed(tr, c, epoch, err, log)
			}
			lossSum += loss
			done += len(idx)
			bar.Update(done, "loss "+stats.Decimal(lossSum/float64(i+1)))
		}
		bar.Done()
		secs := time.Since(start).Seconds()
		acc, err := tr.Accuracy(test, c.evalBatch)
		if err != nil {
			return err
		}
		log.WithFields(logrus.Fields{"epoch": epoch + 1, "loss": stats.Decimal(lossSum / float64(batcher.NumBatches())),
			"test_acc": fmt.Sprintf("%.2f%%", 100*acc), "secs": fmt.Sprintf("%.2f", secs),
			"ex_per_s": fmt.Sprintf("%.0f", float64(done)/secs)}).Info("epoch done")
		fmt.Fprintf(stdout, "epoch %d: test accuracy %.2f%%\n", epoch+1, 100*acc)
		if c.checkpoint != "" {
			if err := save(tr, c, epoch+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkOutput checks, before any work, that -checkpoint can be written. A
// new run does not replace an existing checkpoint unless -overwrite says
// so; -resume replaces the one it continues; -eval writes nothing.
func checkOutput(c config) error {
	if c.checkpoint == "" || c.evalOnly {
		return nil
	}
	return cli.CheckFile("checkpoint", c.checkpoint, c.resume || c.overwrite,
		"add -resume to continue that run, or -overwrite to start over")
}

// newTrainer returns a trainer of model with the optimizer, loss and
// element type of c, its parameters initialised from c.seed.
func newTrainer(model models.Model, c config) (*models.Trainer, error) {
	opt, err := graph.NewOptimizer(c.optimizer, c.lr)
	if err != nil {
		return nil, err
	}
	dt := tensor.Float64
	if c.dtype == "float32" {
		dt = tensor.Float32
	}
	return models.NewTrainer(model, opt, models.TrainerOptions{Loss: models.Loss(c.loss), Dtype: dt, Seed: c.seed})
}

// save writes the parameters and optimizer state after `epochs` epochs.
func save(tr *models.Trainer, c config, epochs int) error {
	ck := tr.Params.Snapshot(tr.Model.Name())
	st := tr.Opt.State()
	ck.Optimizer = &st
	ck.Meta["epoch"] = strconv.Itoa(epochs)
	ck.Meta["seed"] = strconv.FormatUint(c.seed, 10)
	ck.Meta["optimizer"] = c.optimizer
	if err := graph.SaveCheckpoint(c.checkpoint, ck); err != nil {
		return fmt.Errorf("save checkpoint: %w", err)
	}
	return nil
}

// restore loads checkpoint ck, read from path, into tr and returns the
// epochs it had done.
func restore(tr *models.Trainer, ck *graph.Checkpoint, path string) (int, error) {
	if err := tr.Params.Restore(ck, tr.Model.Name()); err != nil {
		return 0, err
	}
	if ck.Optimizer != nil && ck.Optimizer.Kind == tr.Opt.Name() {
		if err := tr.Opt.SetState(*ck.Optimizer); err != nil {
			return 0, fmt.Errorf("restore optimizer from %s: %w", path, err)
		}
	}
	epoch, _ := strconv.Atoi(ck.Meta["epoch"])
	return epoch, nil
}

// interrupted saves what was learnt in the epochs already finished.
func interrupted(tr *models.Trainer, c config, epoch int, log *logrus.Logger) error {
	if c.checkpoint != "" {
		log.Warnf("interrupted in epoch %d; checkpoint %s holds the model after epoch %d", epoch+1, c.checkpoint, epoch)
	}
	return fmt.Errorf("interrupted")
}

// failed reports a training failure (e.g. a NaN loss). The parameters are
// those before the failing step, so they are saved for inspection next to
// the checkpoint, never over it.
func failed(tr *models.Trainer, c config, epoch int, err error, log *logrus.Logger) error {
	if c.checkpoint != "" {
		keep := c
		keep.checkpoint = c.checkpoint + ".failed"
		if serr := save(tr, keep, epoch); serr == nil {
			log.Warnf("saved the last good parameters to %s", keep.checkpoint)
		}
	}
	return fmt.Errorf("epoch %d: %w", epoch+1, err)
}
