package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/internal/stats"
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
		"algorithm": c.algorithm, "dataset": c.dataset, "shots": c.shots, "queries": c.queries,
		"meta_batch": c.metaBatch, "inner_steps": c.innerSteps, "eval_steps": c.evalSteps,
		"inner_lr": c.innerLR, "outer_lr": c.outerLR, "iterations": c.iterations, "seed": c.seed,
		"first_order": c.firstOrder, "dtype": c.dtype, "eval_tasks": c.evalTasks, "init": c.init,
	}
}

func (r *report) setEval(ev metalearn.Evaluation) {
	mse := make([]stats.Summary, len(ev.Loss))
	copy(mse, ev.Loss)
	r.Eval = map[string]any{"tasks": ev.Tasks, "query_mse_by_steps": mse}
}

// write saves metrics.json and the plots into c.out.
func (r *report) write(c config, l metalearn.Learner, src taskSource, log *logrus.Logger) error {
	if err := os.MkdirAll(c.out, 0o755); err != nil {
		return fmt.Errorf("output directory: %w", err)
	}
	r.Files = map[string]string{}
	if !c.noPlots {
		if len(r.Curve) > 0 {
			p := filepath.Join(c.out, "learning_curve.png")
			if err := learningCurve(p, r.Curve); err != nil {
				return err
			}
			r.Files["learning_curve"] = p
		}
		p := filepath.Join(c.out, "fits.png")
		if err := fits(p, l, c); err != nil {
			return err
		}
		r.Files["fits"] = p
	}
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
	log.Infof("wrote %s and %d plot(s) to %s", filepath.Base(p), len(r.Files), c.out)
	return nil
}

func learningCurve(path string, curve []curvePoint) error {
	var train, pre, post plots.Series
	train.Label, pre.Label, post.Label = "meta-train query MSE (after adaptation)", "validation, 0 steps", "validation, 1 step"
	for _, p := range curve {
		train.X, train.Y = append(train.X, float64(p.Iteration)), append(train.Y, p.Loss)
		if p.ValidPre > 0 {
			pre.X, pre.Y = append(pre.X, float64(p.Iteration)), append(pre.Y, p.ValidPre)
			post.X, post.Y = append(post.X, float64(p.Iteration)), append(post.Y, p.ValidPost)
		}
	}
	return plots.LearningCurve(path, plots.CurveOptions{Title: "Meta-training", XLabel: "meta-iteration", YLabel: "MSE", LogY: true},
		train, pre, post)
}

// fits draws Finn et al.'s Fig. 2: four held-out tasks, the true curve, the
// K support points, and the model before and after 1 and 10 steps.
func fits(path string, l metalearn.Learner, c config) error {
	const grid = 200
	xs := make([]float64, grid)
	for i := range xs {
		xs[i] = -5 + 10*float64(i)/float64(grid-1)
	}
	var panels []plots.FitPanel
	var tasks []metalearn.Task
	var truth []data.SinusoidTask
	for i := 0; i < 4; i++ {
		t := data.SinusoidTaskAt(stream(c, testStream), uint64(i), c.shots, 1, data.SinusoidOptions{})
		truth = append(truth, t)
		ys := make([]float64, grid)
		for j, x := range xs {
			ys[j] = t.F(x)
		}
		tasks = append(tasks, metalearn.Task{SupportX: t.SupportX, SupportY: t.SupportY, QueryX: xs, QueryY: ys})
	}
	steps := max(c.evalSteps, 1)
	res, err := l.Adapt(tasks, steps)
	if err != nil {
		return err
	}
	for i, r := range res {
		p := plots.FitPanel{Title: fmt.Sprintf("A=%.2f, φ=%.2f", truth[i].Amplitude, truth[i].Phase), X: xs, True: tasks[i].QueryY,
			SupportX: truth[i].SupportX, SupportY: truth[i].SupportY}
		p.Fits = append(p.Fits, plots.Series{Label: "pre-update", Y: r.Outputs[0]}, plots.Series{Label: "1 grad step", Y: r.Outputs[1]})
		if steps > 1 {
			p.Fits = append(p.Fits, plots.Series{Label: fmt.Sprintf("%d grad steps", steps), Y: r.Outputs[steps]})
		}
		panels = append(panels, p)
	}
	return plots.SinusoidFits(path, panels)
}
