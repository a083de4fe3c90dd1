package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
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
// whether it fits the data set, the settings, and the checkpoint path to
// write.
func train(ctx context.Context, c config, stdout, stderr io.Writer, log *logrus.Logger) error {
	var ck *graph.Checkpoint
	if c.resume || c.evalOnly {
		var err error
		if ck, err = graph.LoadCheckpoint(c.checkpoint); err != nil {
			return err
		}
	}
	model, ds, err := chooseModel(&c, ck)
	if err != nil {
		return err
	}
	if ck != nil && c.evalOnly && ck.Meta[metaDataset] != "" && ck.Meta[metaDataset] != c.dataset {
		log.Warnf("-dataset %s: evaluating a model trained on %s", c.dataset, ck.Meta[metaDataset])
	}
	if ck != nil {
		if err := c.takeFrom(ck); err != nil {
			return err
		}
	}
	c.fillDefaults()
	if err := checkOutput(c); err != nil {
		return err
	}
	s := &session{c: c, log: log}
	if s.tr, err = newTrainer(model, c); err != nil {
		return err
	}
	if ck != nil {
		optRestored := false
		if s.st, optRestored, err = restore(s.tr, ck, c); err != nil {
			return err
		}
		s.saved, s.hasSaved = s.st.at, true
		log.Infof("restored %s from %s (%s)", model.Name(), c.checkpoint, s.st.at.describe(s.st.batches))
		if c.resume && ck.Optimizer != nil && !optRestored {
			log.Warnf("-optimizer %s: the checkpoint's %s state is not used; %s starts afresh", c.optimizer, ck.Optimizer.Kind, c.optimizer)
		}
	}
	if err := c.torch.Load(model, s.tr.Params, log); err != nil {
		return err
	}
	if c.resume && s.st.at.epoch >= c.epochs {
		return fmt.Errorf("checkpoint %s holds the model after epoch %d of -epochs %d: nothing to resume (raise -epochs to train on)",
			c.checkpoint, s.st.at.epoch, c.epochs)
	}
	if b := s.st.best; c.resume && b.Exhausted(c.earlyStop) {
		return fmt.Errorf("checkpoint %s stopped early after epoch %d: no better validation accuracy in %s (the best, %.2f%% after epoch %d, is in %s): nothing to resume (raise -early-stop to train on)",
			c.checkpoint, s.st.at.epoch, epochs(b.Since), 100*b.Best, b.At, bestPath(c.checkpoint))
	}
	if s.rec, err = newRecorder(c, s.tr, ds, s.st.at.epoch); err != nil {
		return err
	}

	dir, trainSet, test, err := ds.open(c.dataDir, !c.evalOnly, log)
	if err != nil {
		return err
	}
	if c.evalOnly {
		acc, err := s.tr.Accuracy(test, c.evalBatch)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "test accuracy %.2f%% (%s, %d %s examples)\n", 100*acc, model.Name(), test.Len(), ds.title)
		return c.torch.Save(model, s.tr.Params, log)
	}
	n, valid, err := splitTraining(trainSet, c, dir)
	if err != nil {
		return err
	}
	if c.diag.findLR {
		return findLR(ctx, s.tr, c, ds, trainSet, n, stdout, stderr, log)
	}
	if s.st.at.batch > 0 && s.st.n != n {
		return fmt.Errorf("checkpoint %s stopped %s of an epoch of %d examples; this one has %d (-limit %d, %d in %s): a run resumes mid-epoch only with the same examples",
			c.checkpoint, s.st.at.describe(s.st.batches), s.st.n, n, c.limit, trainSet.Len(), dir)
	}
	s.st.n = n
	s.st.batches = data.NewBatcher(n, c.batch, int64(c.seed)).NumBatches()
	dropout := ""
	if c.dropout > 0 {
		dropout = fmt.Sprintf(", dropout %g", c.dropout)
	}
	if s.tr.Schedule, err = c.schedule(c.epochs * s.st.batches); err != nil {
		return err
	}
	if c.resume && graph.ScheduleSpansRun(c.lrSchedule) && ck.Meta["epochs"] != strconv.Itoa(c.epochs) {
		planned := ck.Meta["epochs"]
		log.Warnf("%s was started for %s epochs; -lr-schedule %s spans the run, so from step %d on it follows the schedule of %d epochs",
			c.checkpoint, planned, c.lrSchedule, s.tr.Steps, c.epochs)
	}
	if c.optimizer == "adamw" && c.weightDecay == 0 {
		log.Warnf("-optimizer adamw without -weight-decay is Adam")
	}
	log.Infof("training %s (%d parameters) on %d %s examples: %s lr %g, %s loss, batch %d, %d epochs, %s%s",
		model.Name(), s.tr.Params.Count(), n, ds.title, c.optimizer, c.lr, c.loss, c.batch, c.epochs, c.dtype, c.essentials.describe(s.tr.Schedule)+dropout)
	if err := s.trainEpochs(ctx, trainSet, valid, test, stdout, stderr); err != nil {
		return err
	}
	return c.torch.Save(model, s.tr.Params, log)
}

// checkOutput checks, before any work, that -checkpoint, -export-torch and
// the files of -find-lr or -grad-norms can be written. A new run does not
// replace an existing checkpoint unless -overwrite says so; -resume
// replaces the one it continues; -eval writes nothing.
func checkOutput(c config) error {
	if err := c.torch.Check(); err != nil {
		return err
	}
	if err := c.diag.checkOutputs(c); err != nil {
		return err
	}
	if c.checkpoint == "" || c.evalOnly {
		return nil
	}
	hint := "add -resume to continue that run, or -overwrite to start over"
	if err := cli.CheckFile("checkpoint", c.checkpoint, c.resume || c.overwrite, hint); err != nil {
		return err
	}
	if c.earlyStop > 0 { // the best model's file
		return cli.CheckFile("checkpoint", bestPath(c.checkpoint), c.resume || c.overwrite, hint)
	}
	return nil
}

// newTrainer returns a trainer of model with the optimizer, loss and
// element type of c, its parameters initialised from c.seed.
func newTrainer(model models.Model, c config) (*models.Trainer, error) {
	opt, err := graph.NewOptimizerWith(c.optimizer, graph.OptimizerOptions{LR: c.lr, WeightDecay: c.weightDecay})
	if err != nil {
		return nil, err
	}
	dt := tensor.Float64
	if c.dtype == "float32" {
		dt = tensor.Float32
	}
	return models.NewTrainer(model, opt, models.TrainerOptions{Loss: models.Loss(c.loss), Dtype: dt, Seed: c.seed, ClipNorm: c.clipNorm})
}

// session is a training run under way.
type session struct {
	c   config
	tr  *models.Trainer
	log *logrus.Logger
	// st is where training stands.
	st trainState
	// saved is the position c.checkpoint holds, when hasSaved: the one
	// resumed from, or the last one this run saved.
	saved    position
	hasSaved bool
	// rec records the gradient norms (-grad-norms); nil without
	rec *recorder
}

// trainEpochs trains from s.st up to epoch c.epochs, saving a checkpoint
// after every epoch and evaluating on valid (when not nil) and test, and
// with -train-acc on the training examples; with
// -early-stop it stops when valid has not improved for that many epochs,
// the best model saved beside the checkpoint (earlystop.go). The batches of an epoch depend
// only on the seed and the epoch (data.Batcher), so a run resumed in the
// middle of an epoch skips the batches it has done and goes on with the
// same ones as a run never stopped. Between batches it stops when ctx is
// cancelled (Ctrl-C, SIGTERM), saving what it has learnt.
func (s *session) trainEpochs(ctx context.Context, trainSet labeled, valid *span, test labeled, stdout, stderr io.Writer) error {
	c, tr := s.c, s.tr
	batcher := data.NewBatcher(s.st.n, c.batch, int64(c.seed))
	in := graph.Size(tr.Model.InputShape())
	x := make([]float64, c.batch*in)
	labels := make([]float64, c.batch)
	seen := &span{labeled: trainSet, n: s.st.n} // the training examples, for -train-acc
	for s.st.at.epoch < c.epochs {
		epoch := s.st.at.epoch
		batches := batcher.Batches(epoch)
		done := 0 // examples done in this epoch
		for _, idx := range batches[:s.st.at.batch] {
			done += len(idx)
		}
		bar := progress.New(stderr, fmt.Sprintf("epoch %d/%d", epoch+1, c.epochs), s.st.n)
		start, startDone := time.Now(), done
		for i := s.st.at.batch; i < len(batches); i++ {
			if ctx.Err() != nil {
				bar.Done()
				s.writeRecord()
				return s.interrupted()
			}
			idx := batches[i]
			xb, lb := x[:len(idx)*in], labels[:len(idx)]
			trainSet.FillBatch(idx, xb, lb)
			loss, err := tr.Step(xb, lb)
			if err == nil || math.IsNaN(loss) || math.IsInf(loss, 0) { // a refused step's gradients tell most
				s.rec.step(tr, err != nil)
			}
			if err != nil {
				bar.Done()
				s.writeRecord()
				return s.failed(err)
			}
			s.st.lossSum += loss
			s.st.at.batch = i + 1
			done += len(idx)
			bar.Update(done, "loss "+stats.Decimal(s.st.lossSum/float64(i+1)))
		}
		bar.Done()
		secs := time.Since(start).Seconds()
		epochLoss := s.st.lossSum / float64(len(batches))
		s.st.at, s.st.lossSum = position{epoch: epoch + 1}, 0
		validAcc, improved := 0.0, false
		if valid != nil {
			var err error
			if validAcc, err = tr.Accuracy(valid, c.evalBatch); err != nil {
				return err
			}
			improved = s.st.best.Observe(validAcc, true, epoch+1)
		}
		if c.checkpoint != "" {
			if err := s.save(); err != nil {
				return err
			}
			if improved && c.earlyStop > 0 {
				if err := save(bestPath(c.checkpoint), tr, c, s.st); err != nil {
					return err
				}
			}
		}
		acc, err := tr.Accuracy(test, c.evalBatch)
		if err != nil {
			return err
		}
		m := epochJSON{Epoch: epoch + 1, TrainLoss: stats.Float(epochLoss), TestAccuracy: stats.Float(acc), Seconds: secs}
		if c.trainAcc {
			trainAcc, err := tr.Accuracy(seen, c.evalBatch)
			if err != nil {
				return err
			}
			m.TrainAccuracy = new(stats.Float(trainAcc))
		}
		if valid != nil {
			m.ValidAccuracy = new(stats.Float(validAcc))
		}
		f := logrus.Fields{"epoch": epoch + 1, "loss": stats.Decimal(epochLoss), "secs": fmt.Sprintf("%.2f", secs),
			"ex_per_s": fmt.Sprintf("%.0f", float64(done-startDone)/secs)}
		fmt.Fprintf(stdout, "epoch %d: %s\n", epoch+1, m.accuracies(f))
		s.log.WithFields(f).Info("epoch done")
		s.rec.epoch(m)
		if err := s.rec.write(tr); err != nil {
			return err
		}
		if b := s.st.best; b.Exhausted(c.earlyStop) {
			kept := fmt.Sprintf("the best, %.2f%% after epoch %d, is in %s", 100*b.Best, b.At, bestPath(c.checkpoint))
			if c.checkpoint == "" {
				kept = fmt.Sprintf("the best was %.2f%% after epoch %d (not saved: no -checkpoint)", 100*b.Best, b.At)
			}
			fmt.Fprintf(stdout, "stopped early after epoch %d: no better validation accuracy in %s; %s\n", epoch+1, epochs(b.Since), kept)
			return nil
		}
	}
	return nil
}

// writeRecord saves the -grad-norms record when the run stops early (Ctrl-C
// or a failed step); a failure to write it is logged, so that the error
// returned stays the one that stopped the run.
func (s *session) writeRecord() {
	if err := s.rec.write(s.tr); err != nil {
		s.log.Warnf("%v", err)
	}
}

// save writes where training stands to c.checkpoint.
func (s *session) save() error {
	if err := save(s.c.checkpoint, s.tr, s.c, s.st); err != nil {
		return err
	}
	s.saved, s.hasSaved = s.st.at, true
	return nil
}

// interrupted saves the model after a Ctrl-C or SIGTERM and returns an
// error saying truthfully what is on disk.
func (s *session) interrupted() error {
	where := s.st.at.describe(s.st.batches)
	switch {
	case s.c.checkpoint == "":
		return fmt.Errorf("interrupted %s; nothing was saved (no -checkpoint)", where)
	case s.hasSaved && s.saved == s.st.at:
		return fmt.Errorf("interrupted %s, which %s holds: continue with -resume", where, s.c.checkpoint)
	case !s.hasSaved && s.st.at == position{}:
		return fmt.Errorf("interrupted before the first training step; nothing was saved")
	}
	if err := s.save(); err != nil {
		return fmt.Errorf("interrupted %s, and saving the model failed: %w", where, err)
	}
	return fmt.Errorf("interrupted %s; saved the model to %s: continue with -resume", where, s.c.checkpoint)
}

// failed reports a training failure (e.g. a NaN loss). The parameters are
// those before the failing step, so they are saved for inspection next to
// the checkpoint, never over it.
func (s *session) failed(err error) error {
	err = fmt.Errorf("epoch %d: %w", s.st.at.epoch+1, err)
	if s.c.checkpoint == "" {
		return err
	}
	path := s.c.checkpoint + ".failed"
	_, statErr := os.Stat(path)
	if serr := save(path, s.tr, s.c, s.st); serr != nil {
		return fmt.Errorf("%w; saving the last good parameters failed too: %v", err, serr)
	}
	replaced := ""
	if statErr == nil {
		replaced = ", replacing the one of an earlier failure"
	}
	s.log.Warnf("saved the last good parameters (%s) to %s%s", s.st.at.describe(s.st.batches), path, replaced)
	return err
}
