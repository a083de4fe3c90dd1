package meta

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/progress"
	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/metalearn"
	"github.com/sirupsen/logrus"
)

// curvePoint is one point of the learning curve. Validation fields are
// zero at points without a validation.
type curvePoint struct {
	Iteration    int
	Loss         float64 // training query loss, mean since the last point
	Accuracy     float64 // training query accuracy (classification)
	ValidPre     float64 // validation loss before adaptation
	ValidPost    float64 // validation loss after ValidSteps steps (or without adaptation, as ValidPre)
	ValidAccPre  float64
	ValidAccPost float64
	// ValidSteps is the number of inner steps of ValidPost and
	// ValidAccPost (config.validSteps); 0 without adaptation.
	ValidSteps int
	// ValidObjective is the validation tasks' measure of the learner's
	// objective (metalearn.LearnerEntry.Objective, e.g. CNP's NLL), for
	// learners that minimise one other than the task's loss.
	ValidObjective float64
	// ValidMeasures are the validation tasks' further measures as
	// fractions (metalearn.Measure.Percent: MANN's accuracy by instance),
	// in the learner's column order, for the curve of each.
	ValidMeasures []measureValue
}

// measureValue is one measure of a validation (metalearn.Measure's Key
// and Column) and its mean over the validation tasks.
type measureValue struct {
	Key    string      `json:"key"`
	Column string      `json:"column"`
	Mean   stats.Float `json:"mean"`
}

func metaTrain(ctx context.Context, c config, stdout, stderr io.Writer, log *logrus.Logger) error {
	rank0 := c.rank() == 0
	if !rank0 && c.evalOnly {
		return nil // rank 0 evaluates
	}
	if rank0 {
		if err := c.checkOutputs(); err != nil {
			return err
		}
	}
	if c.grid != "" {
		log.Infof("trial %d of %s: %s", c.trial, c.grid, c.trialLine)
	}
	if c.earlyStop > 0 && !c.evalOnly {
		if c.ranks() > 1 {
			return cli.Usagef("-early-stop: not with %d MPI processes (rank 0 alone validates); run it as one process", c.ranks())
		}
		c.es = &earlyStop{patience: c.earlyStop}
	}
	l, src, err := setup(c, log)
	if err != nil {
		return err
	}
	start := 0
	if c.resume || c.evalOnly {
		if start, err = loadCheckpoint(l, c, log); err != nil {
			return err
		}
		log.Infof("restored %s from %s (iteration %d)", learnerKey(l), c.checkpoint, start)
	}
	if err := c.torch.Load(l.Model(), l.Params(), log); err != nil {
		return err
	}
	if c.ranks() > 1 {
		if err := sameRun(c, l, start); err != nil {
			return err
		}
	}
	rep := &report{Config: c.asJSON(), Algorithm: l.Name(), Model: l.Model().Name(), Objective: c.learner.Objective, Iterations: start}
	if c.resume {
		rep.resumeCurve(c, start)
	}
	stoppedEarly := c.es != nil && c.es.exhausted()
	if stoppedEarly && start < c.iterations {
		rep.StoppedEarly = true
		log.Warnf("%s stopped early after iteration %d: no better validation in %s; nothing to train (raise -early-stop to train on)",
			c.checkpoint, start, plural(c.es.Since, "validation"))
	}
	if !c.evalOnly && start < c.iterations && !stoppedEarly {
		what := "task"
		if c.learner.ClassBatches {
			what = "training image" // a batch of images with their classes (metalearn.TrainTasks)
		}
		log.Infof("meta-training %s on %s: %d iterations of %s; %s, %s",
			learnerKey(l), src.Describe(), c.iterations, plural(c.metaBatch, what), describe(l), c.dtype)
		if c.ranks() > 1 {
			log.Infof("each meta-batch split across %d processes (MPI), by task", c.ranks())
		}
		if err := loop(ctx, l, src, c, start, rep, stderr, log); err != nil {
			return err
		}
	}
	if !rank0 {
		return nil // rank 0 evaluates and writes
	}
	if best, err := c.es.restoreBest(l); err != nil {
		return err
	} else if best {
		rep.BestIteration = c.es.At
		log.Infof("evaluating the best learner, after iteration %d (validation %.4g)", c.es.At, c.es.Best)
	}
	rows := evalRows(c)
	// Omniglot measures the query set only at the table's rows: a query
	// pass costs several inner steps there. Sinusoids keep the whole curve.
	var ev metalearn.Evaluation
	if src.Spec().Classes > 0 {
		ev, err = metalearn.EvaluateSource(l, src, c.evalTasks, rows)
	} else {
		ev, err = metalearn.Evaluate(l, src.Test(c.evalTasks), c.evalSteps)
	}
	if err != nil {
		return err
	}
	rep.setEval(ev)
	fmt.Fprintf(stdout, "%s, %s, %d held-out tasks:\n%s", learnerKey(l), src.Describe(), c.evalTasks, ev.Table(rows...))
	if err := rep.write(c, l, src, log); err != nil {
		return err
	}
	if err := c.torch.Save(l.Model(), l.Params(), log); err != nil {
		return err
	}
	for i, s := range ev.Loss {
		if !finite(s.Mean) {
			return fmt.Errorf("%w: the held-out query loss is %v after %d inner steps (the record in %s has the rest; try a smaller -outer-lr or -inner-lr)",
				errDiverged, s.Mean, ev.Steps[i], c.out)
		}
	}
	return nil
}

// evalRows are the numbers of inner steps the final table reports: 0, 1
// and -eval-steps.
func evalRows(c config) []int {
	rows := []int{0}
	for _, r := range []int{1, c.evalSteps} {
		if r <= c.evalSteps && r > rows[len(rows)-1] {
			rows = append(rows, r)
		}
	}
	return rows
}

// describe is the learner's own one-line account of its method.
func describe(l metalearn.Learner) string {
	if d, ok := l.(metalearn.Describer); ok {
		return d.Describe()
	}
	return l.Name()
}

// loop runs meta-iterations start..c.iterations, checkpointing as it goes.
// It stops early, saving what it has, on an interrupt (SIGINT, SIGTERM), a
// failed meta-step (a NaN or infinite meta-loss) and a non-finite
// validation loss, and with -early-stop after that many validations
// without improvement (c.es), the checkpoint saved there.
func loop(ctx context.Context, l metalearn.Learner, src metalearn.TaskSource, c config, start int, rep *report, stderr io.Writer, log *logrus.Logger) error {
	bar := progress.New(stderr, l.Name(), c.iterations)
	window, accWindow := stats.Running{}, stats.Running{}
	classify := src.Spec().Classes > 0
	began := time.Now()
	var validTime time.Duration
	valid := src.Valid()
	logEvery := max(c.iterations/200, 1)
	rank0 := c.rank() == 0
	end := c.iterations // where training ends: earlier when it stops early
	for it := start; it < end; it++ {
		interrupted := ctx.Err() != nil
		if c.ranks() > 1 { // every process stops at the same iteration
			var err error
			if interrupted, err = anyOf(c.comm, interrupted); err != nil {
				bar.Done()
				return err
			}
		}
		if interrupted {
			bar.Done()
			return agreed(stop(l, src, c, it, rep, nil, log))
		}
		tasks, err := metalearn.TrainTasks(l, src, it, c.metaBatch)
		if err != nil { // a learner the source cannot feed: Setup refuses it
			bar.Done()
			return err
		}
		st, err := l.MetaStep(tasks)
		if err != nil { // on every process at once (metalearn.Comm)
			bar.Done()
			return agreed(stop(l, src, c, it, rep, err, log))
		}
		window.Add(st.Loss)
		accWindow.Add(st.Accuracy)
		done := it + 1
		if classify {
			bar.Update(done, fmt.Sprintf("meta-loss %.4g acc %.1f%%", window.Mean(), 100*accWindow.Mean()))
		} else {
			bar.Update(done, fmt.Sprintf("meta-loss %.4g", window.Mean()))
		}
		if !rank0 {
			continue // rank 0 validates and writes
		}
		validate := done%c.evalEvery == 0 || done == c.iterations
		if done%logEvery == 0 || validate {
			p := curvePoint{Iteration: done, Loss: window.Mean()}
			if classify {
				p.Accuracy = accWindow.Mean()
			}
			if validate {
				t0 := time.Now()
				err := validation(l, valid, c, &p, classify, log)
				validTime += time.Since(t0)
				if err != nil {
					rep.Curve = append(rep.Curve, p)
					bar.Done()
					return stop(l, src, c, done, rep, err, log)
				}
				if err := c.es.record(l, c, p, classify, done); err != nil {
					return err
				}
			}
			rep.Curve = append(rep.Curve, p)
			rep.Iterations = done
			if validate {
				if err := rep.saveProgress(c, src); err != nil {
					return err
				}
			}
			window.Reset()
			accWindow.Reset()
		}
		if validate && c.es != nil && c.es.exhausted() {
			end = done
			rep.StoppedEarly = true
			log.Infof("stopped early after iteration %d: no better validation in %s; the best came after iteration %d",
				done, plural(c.es.Since, "validation"), c.es.At)
		}
		if c.checkpoint != "" && (done%c.ckptEvery == 0 || done == end) {
			rep.Iterations = done
			rep.setTimes(time.Since(began), validTime)
			if err := saveCheckpoint(l, c, done); err != nil {
				return err
			}
			// The curve goes with the checkpoint, so a resumed run keeps
			// every point up to it.
			if err := rep.saveProgress(c, src); err != nil {
				return err
			}
		}
	}
	bar.Done()
	total := time.Since(began)
	rep.setTimes(total, validTime)
	rep.Iterations = end
	if n := end - start; n > 0 {
		rep.MsPerIteration = 1000 * (total - validTime).Seconds() / float64(n)
	}
	log.Infof("meta-training done: %d iterations in %.1fs (%.2f ms/iteration), validation %.1fs",
		end-start, (total - validTime).Seconds(), rep.MsPerIteration, validTime.Seconds())
	if c.ranks() > 1 {
		rep.Processes, rep.MPISeconds = c.ranks(), c.mpiSeconds()
		log.Infof("%d processes: rank 0 spent %.1fs in MPI calls (transfers, and waiting for the other processes), %.0f%% of training",
			c.ranks(), rep.MPISeconds, 100*rep.MPISeconds/(total-validTime).Seconds())
	}
	return nil
}

// errDiverged marks a validation whose loss is NaN or infinite.
var errDiverged = errors.New("meta-training diverged")

// validSteps is the number of inner steps validations adapt with: those
// of meta-training (MAML++ and MAML on mini-ImageNet: 5), at most
// -eval-steps; 0 for learners without an inner loop.
func (c config) validSteps() int { return min(max(c.innerSteps, 1), c.evalSteps) }

// validation measures the validation tasks before and after the inner
// steps of meta-training (validSteps; or without adaptation when the
// learner has none: -eval-steps 0), fills p and logs the result. A
// non-finite loss is an error.
func validation(l metalearn.Learner, valid []metalearn.Task, c config, p *curvePoint, classify bool, log *logrus.Logger) error {
	steps := c.validSteps()
	at := []int{0}
	if steps > 0 {
		at = append(at, steps)
	}
	ev, err := metalearn.EvaluateAt(l, valid, at)
	if err != nil {
		return err
	}
	last := len(ev.Loss) - 1
	p.ValidPre, p.ValidPost, p.ValidSteps = ev.Loss[0].Mean, ev.Loss[last].Mean, steps
	f := logrus.Fields{"iteration": p.Iteration, "train_loss": fmt.Sprintf("%.4g", p.Loss)}
	if steps == 0 {
		f["valid_loss"] = fmt.Sprintf("%.4g", p.ValidPre)
	} else {
		f["valid_loss_0"], f[fmt.Sprintf("valid_loss_%d", steps)] = fmt.Sprintf("%.4g", p.ValidPre), fmt.Sprintf("%.4g", p.ValidPost)
	}
	if classify {
		p.ValidAccPre, p.ValidAccPost = ev.Accuracy[0].Mean, ev.Accuracy[last].Mean
		key := fmt.Sprintf("valid_acc_%d", steps)
		if steps == 0 {
			key = "valid_acc"
		}
		f[key] = fmt.Sprintf("%.2f%%", 100*p.ValidAccPost)
	}
	for _, m := range ev.Measures {
		// (NaN: no validation task shows a class that often)
		if mean := ev.Extra[m.Name][last].Mean; m.Percent && m.Name != c.learner.Objective && !math.IsNaN(mean) {
			p.ValidMeasures = append(p.ValidMeasures, measureValue{m.Key, m.Column, stats.Float(mean)})
			f["valid_"+m.Key] = fmt.Sprintf("%.2f%%", 100*mean)
		}
	}
	if obj := c.learner.Objective; obj != "" {
		s, ok := ev.Extra[obj]
		if !ok {
			return fmt.Errorf("%s minimises %s but reports no %s for the validation tasks", l.Name(), obj, obj)
		}
		p.ValidObjective = s[last].Mean
		f["valid_"+strings.ToLower(obj)] = fmt.Sprintf("%.4g", p.ValidObjective)
		if !finite(p.ValidObjective) {
			return fmt.Errorf("%w: validation %s %v at iteration %d (try a smaller -outer-lr)", errDiverged, obj, p.ValidObjective, p.Iteration)
		}
	}
	log.WithFields(f).Info("validation")
	if !finite(p.ValidPre) || !finite(p.ValidPost) {
		return fmt.Errorf("%w: validation loss %v before and %v after adaptation at iteration %d (try a smaller -outer-lr or -inner-lr)",
			errDiverged, p.ValidPre, p.ValidPost, p.Iteration)
	}
	return nil
}

// stop ends training early after it iterations and says what is on disk;
// the curve so far is saved either way. On an interrupt (cause nil) the
// state after iteration it is saved to the checkpoint, so -resume
// continues where it stopped. On a
// failure the checkpoint keeps the last periodic save, and the learner's
// state goes beside it in CHECKPOINT.failed for inspection: after a failed
// meta-step (NaN meta-loss) the meta-parameters are those before it,
// untouched; after a diverged validation, the diverged ones.
func stop(l metalearn.Learner, src metalearn.TaskSource, c config, it int, rep *report, cause error, log *logrus.Logger) error {
	what := fmt.Errorf("interrupted after %d iterations", it)
	if cause != nil {
		what = fmt.Errorf("iteration %d: %w", it+1, cause)
		if errors.Is(cause, errDiverged) {
			what = fmt.Errorf("stopped after %d iterations: %w", it, cause)
		}
	}
	if c.rank() != 0 {
		return what // rank 0 saves
	}
	rep.Iterations = it
	if err := rep.saveProgress(c, src); err != nil {
		what = fmt.Errorf("%w; saving the curve also failed: %v", what, err)
	}
	if c.checkpoint == "" {
		log.Warnf("%v; the learner was not saved (no -checkpoint)", what)
		return what
	}
	keep := c
	if cause != nil {
		keep.checkpoint += ".failed"
	}
	if err := saveCheckpoint(l, keep, it); err != nil {
		return fmt.Errorf("%w; saving the learner also failed: %v", what, err)
	}
	if cause == nil {
		log.Warnf("%v; saved the state after iteration %d to %s: continue with -resume", what, it, c.checkpoint)
	} else {
		log.Warnf("%v; saved the learner's state to %s for inspection (%s is not touched)", what, keep.checkpoint, c.checkpoint)
	}
	return what
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// plural writes "1 task" or "32 tasks".
func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
