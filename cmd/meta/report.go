package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/metagon/metagon/metalearn"
	"github.com/sirupsen/logrus"
)

// report is the JSON record of a run (metrics.json in -out).
type report struct {
	Algorithm      string            `json:"algorithm"`
	Model          string            `json:"model"`
	Config         map[string]any    `json:"config"`
	Iterations     int               `json:"iterations"`
	TrainSeconds   float64           `json:"train_seconds"`
	MsPerIteration float64           `json:"ms_per_iteration"`
	Curve          []curvePoint      `json:"curve"`
	Eval           map[string]any    `json:"eval"`
	Files          map[string]string `json:"files"`
}

func (c config) asJSON() map[string]any {
	return map[string]any{
		"algorithm": c.algorithm, "dataset": c.dataset, "shots": c.shots, "train_shots": c.trainShots, "queries": c.queries,
		"meta_batch": c.metaBatch, "inner_steps": c.innerSteps, "eval_steps": c.evalSteps,
		"inner_lr": c.innerLR, "inner_batch": c.innerBatch, "outer_lr": c.outerLR, "iterations": c.iterations, "seed": c.seed,
		"first_order": c.firstOrder, "zero_head": c.zeroHead, "resize": c.resize, "inner_adam": c.innerAdam, "fresh_adam": c.freshAdam, "dtype": c.dtype, "eval_tasks": c.evalTasks, "init": c.init,
	}
}

func (r *report) setEval(ev metalearn.Evaluation) {
	r.Eval = map[string]any{"tasks": ev.Tasks, "steps": ev.Steps, "query_loss_by_steps": ev.Loss}
	if ev.Classification {
		r.Eval["query_accuracy_by_steps"] = ev.Accuracy
	}
}

// saveProgress writes metrics.json and the learning curve as they stand
// during training, so that a long run that is stopped keeps its curve
// (and a resumed one continues it, see resumeCurve).
func (r *report) saveProgress(c config, src taskSource) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	r.Files = map[string]string{}
	if err := r.drawCurve(c, src); err != nil {
		return err
	}
	return r.save(c)
}

// drawCurve draws learning_curve.png unless plots are off.
func (r *report) drawCurve(c config, src taskSource) error {
	if c.noPlots || len(r.Curve) == 0 {
		return nil
	}
	p := filepath.Join(c.out, "learning_curve.png")
	draw := learningCurve
	if src.Spec().Classes > 0 {
		draw = accuracyCurve
	}
	if err := draw(p, runTitle(r.Algorithm, src, c), r.Curve); err != nil {
		return err
	}
	r.Files["learning_curve"] = p
	return nil
}

// resumeCurve continues the curve of the run in c.out: the points up to
// iteration start of its metrics.json, if there is one.
func (r *report) resumeCurve(c config, start int) {
	b, err := os.ReadFile(filepath.Join(c.out, "metrics.json"))
	if err != nil {
		return
	}
	var old report
	if json.Unmarshal(b, &old) != nil {
		return
	}
	for _, p := range old.Curve {
		if p.Iteration <= start {
			r.Curve = append(r.Curve, p)
		}
	}
}

// write saves metrics.json and the plots into c.out.
func (r *report) write(c config, l metalearn.Learner, src taskSource, log *logrus.Logger) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	r.Files = map[string]string{}
	classify := src.Spec().Classes > 0
	if err := r.drawCurve(c, src); err != nil {
		return err
	}
	if !c.noPlots {
		if classify {
			p := filepath.Join(c.out, "episode.png")
			if err := episodePlot(p, l, src, c); err != nil {
				return err
			}
			r.Files["episode"] = p
		} else {
			p := filepath.Join(c.out, "fits.png")
			if err := fits(p, l, c); err != nil {
				return err
			}
			r.Files["fits"] = p
		}
	}
	if err := r.save(c); err != nil {
		return err
	}
	log.Infof("wrote metrics.json and %d plot(s) to %s", len(r.Files), c.out)
	return nil
}

// save writes metrics.json atomically.
func (r *report) save(c config) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	p := filepath.Join(c.out, "metrics.json")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}
