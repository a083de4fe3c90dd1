package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/metagon/metagon/internal/progress"
	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/metalearn"
	"github.com/sirupsen/logrus"
)

// Task streams: training tasks, validation tasks and test tasks are
// disjoint streams of the same seeded family.
const (
	trainStream = iota
	validStream
	testStream
)

func stream(c config, s uint64) uint64 { return c.seed*1000 + s }

// curvePoint is one point of the learning curve.
type curvePoint struct {
	Iteration    int     `json:"iteration"`
	Loss         float64 `json:"train_query_loss"`
	Accuracy     float64 `json:"train_query_accuracy,omitempty"`
	ValidPre     float64 `json:"valid_loss_0_steps,omitempty"`
	ValidPost    float64 `json:"valid_loss_1_step,omitempty"`
	ValidAccPre  float64 `json:"valid_accuracy_0_steps,omitempty"`
	ValidAccPost float64 `json:"valid_accuracy_1_step,omitempty"`
}

func metaTrain(ctx context.Context, c config, stdout, stderr io.Writer, log *logrus.Logger) error {
	src, err := newSource(c)
	if err != nil {
		return err
	}
	l, err := newLearner(c, src)
	if err != nil {
		return err
	}
	start := 0
	if c.resume || c.evalOnly {
		if start, err = loadCheckpoint(l, c.checkpoint); err != nil {
			return err
		}
		log.Infof("restored %s from %s (iteration %d)", learnerKey(l), c.checkpoint, start)
	}
	rep := &report{Config: c.asJSON(), Algorithm: l.Name(), Model: l.Model().Name()}
	if c.resume {
		rep.resumeCurve(c, start)
	}
	if !c.evalOnly && start < c.iterations {
		log.Infof("meta-training %s on %s: %d iterations, meta-batch %d, %d inner step(s) α=%g, outer lr %g, %s",
			learnerKey(l), src.Describe(), c.iterations, c.metaBatch, c.innerSteps, c.innerLR, c.outerLR, c.dtype)
		if err := loop(ctx, l, src, c, start, rep, stderr, log); err != nil {
			return err
		}
	}
	rows := []int{0}
	for _, r := range []int{1, c.evalSteps} {
		if r <= c.evalSteps && r > rows[len(rows)-1] {
			rows = append(rows, r)
		}
	}
	// Omniglot measures the query set only at the table's rows: a query
	// pass costs several inner steps there. Sinusoids keep the whole curve.
	var ev metalearn.Evaluation
	if c.dataset == "omniglot" {
		ev, err = metalearn.EvaluateAt(l, src.Test(c.evalTasks), rows)
	} else {
		ev, err = metalearn.Evaluate(l, src.Test(c.evalTasks), c.evalSteps)
	}
	if err != nil {
		return err
	}
	rep.setEval(ev)
	fmt.Fprintf(stdout, "%s, %s, %d held-out tasks:\n%s", learnerKey(l), src.Describe(), c.evalTasks, ev.Table(rows...))
	return rep.write(c, l, src, log)
}

// loop runs meta-iterations start..c.iterations, checkpointing as it goes.
func loop(ctx context.Context, l metalearn.Learner, src taskSource, c config, start int, rep *report, stderr io.Writer, log *logrus.Logger) error {
	bar := progress.New(stderr, l.Name(), c.iterations)
	window, accWindow := stats.Running{}, stats.Running{}
	classify := src.Spec().Classes > 0
	began := time.Now()
	valid := src.Valid()
	logEvery := max(c.iterations/200, 1)
	for it := start; it < c.iterations; it++ {
		if ctx.Err() != nil {
			bar.Done()
			return stop(l, c, it, "interrupted", nil, log)
		}
		st, err := l.MetaStep(src.Train(it, c.metaBatch))
		if err != nil {
			bar.Done()
			return stop(l, c, it, "failed", err, log)
		}
		window.Add(st.Loss)
		accWindow.Add(st.Accuracy)
		done := it + 1
		if classify {
			bar.Update(done, fmt.Sprintf("meta-loss %.3f acc %.1f%%", window.Mean(), 100*accWindow.Mean()))
		} else {
			bar.Update(done, fmt.Sprintf("meta-loss %.3f", window.Mean()))
		}
		validate := done%c.evalEvery == 0 || done == c.iterations
		if done%logEvery == 0 || validate {
			p := curvePoint{Iteration: done, Loss: window.Mean()}
			if classify {
				p.Accuracy = accWindow.Mean()
			}
			if validate {
				ev, err := metalearn.Evaluate(l, valid, 1)
				if err != nil {
					return err
				}
				p.ValidPre, p.ValidPost = ev.Loss[0].Mean, ev.Loss[1].Mean
				f := logrus.Fields{"iteration": done, "train_loss": fmt.Sprintf("%.3f", p.Loss),
					"valid_loss_0": fmt.Sprintf("%.3f", p.ValidPre), "valid_loss_1": fmt.Sprintf("%.3f", p.ValidPost)}
				if classify {
					p.ValidAccPre, p.ValidAccPost = ev.Accuracy[0].Mean, ev.Accuracy[1].Mean
					f["valid_acc_1"] = fmt.Sprintf("%.2f%%", 100*p.ValidAccPost)
				}
				log.WithFields(f).Info("validation")
			}
			rep.Curve = append(rep.Curve, p)
			if validate {
				rep.Iterations = done
				if err := rep.saveProgress(c, src); err != nil {
					return err
				}
			}
			window.Reset()
			accWindow.Reset()
		}
		if c.checkpoint != "" && (done%c.ckptEvery == 0 || done == c.iterations) {
			if err := saveCheckpoint(l, c, done); err != nil {
				return err
			}
		}
	}
	bar.Done()
	secs := time.Since(began).Seconds()
	rep.TrainSeconds = secs
	rep.Iterations = c.iterations
	if n := c.iterations - start; n > 0 {
		rep.MsPerIteration = 1000 * secs / float64(n)
	}
	log.Infof("meta-training done: %d iterations in %.1fs (%.2f ms/iteration)", c.iterations-start, secs, rep.MsPerIteration)
	return nil
}

// stop ends training early: on an interrupt the state between two
// iterations is saved; on a failure (a NaN meta-loss) the meta-parameters,
// untouched by the failing step, are saved beside the checkpoint.
func stop(l metalearn.Learner, c config, it int, why string, cause error, log *logrus.Logger) error {
	if c.checkpoint != "" {
		keep := c
		if cause != nil {
			keep.checkpoint += ".failed"
		}
		if err := saveCheckpoint(l, keep, it); err == nil {
			log.Warnf("%s at iteration %d; saved the meta-parameters to %s", why, it+1, keep.checkpoint)
		}
	}
	if cause != nil {
		return fmt.Errorf("iteration %d: %w", it+1, cause)
	}
	return fmt.Errorf("%s at iteration %d", why, it+1)
}
