package meta

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/metalearn"
	"github.com/sirupsen/logrus"
)

// report is the JSON record of a run: metrics.json in -out for a training
// run, eval.json for -eval (which leaves the training run's record and
// plots alone). Non-finite numbers are written as "NaN", "+Inf", "-Inf".
type report struct {
	Algorithm string `json:"algorithm"`
	Model     string `json:"model"`
	// Objective names what train_query_loss and valid_objective measure
	// when the learner minimises something other than the task's loss
	// (CNP: NLL, the targets' negative log-likelihood per point).
	Objective  string         `json:"objective,omitempty"`
	Config     map[string]any `json:"config"`
	Checkpoint string         `json:"checkpoint,omitempty"` // -eval: the checkpoint evaluated
	Iterations int            `json:"iterations"`
	// TrainSeconds and ValidSeconds are the run's training and
	// validation time, over every process of a resumed run (up to the
	// checkpoint each resumed from); MsPerIteration is this process's,
	// validation excluded.
	TrainSeconds   float64 `json:"train_seconds"`
	ValidSeconds   float64 `json:"validation_seconds"`
	MsPerIteration float64 `json:"ms_per_iteration"`
	// Processes is the number of MPI processes the meta-batches were
	// split across (absent: one), and MPISeconds the time rank 0 spent in
	// MPI calls during training, waiting for the others included.
	Processes  int     `json:"processes,omitempty"`
	MPISeconds float64 `json:"mpi_seconds,omitempty"`
	// BestIteration is the iteration after which -early-stop's best
	// learner, the one evaluated, was taken (absent without -early-stop);
	// StoppedEarly says that training stopped before -iterations for want
	// of improvement.
	BestIteration int               `json:"best_iteration,omitempty"`
	StoppedEarly  bool              `json:"stopped_early,omitempty"`
	Curve         []curvePoint      `json:"curve"`
	Eval          map[string]any    `json:"eval"`
	Files         map[string]string `json:"files"`
	// priorTrain and priorValid are the times of the processes before a
	// resumed one (resumeCurve).
	priorTrain, priorValid float64
}

// setTimes records the times of this process's meta-training so far
// (elapsed in all, valid of it validating) after those of the processes
// before it.
func (r *report) setTimes(elapsed, valid time.Duration) {
	r.TrainSeconds = r.priorTrain + (elapsed - valid).Seconds()
	r.ValidSeconds = r.priorValid + valid.Seconds()
}

// curveJSON is a curvePoint as written to metrics.json.
type curveJSON struct {
	Iteration    int         `json:"iteration"`
	Loss         stats.Float `json:"train_query_loss"`
	Accuracy     stats.Float `json:"train_query_accuracy,omitempty"`
	ValidPre     stats.Float `json:"valid_loss_0_steps,omitempty"`
	ValidPost    stats.Float `json:"valid_loss_adapted,omitempty"`
	ValidAccPre  stats.Float `json:"valid_accuracy_0_steps,omitempty"`
	ValidAccPost stats.Float `json:"valid_accuracy_adapted,omitempty"`
	// ValidSteps is the number of inner steps of the two above.
	ValidSteps int `json:"valid_steps,omitempty"`
	// ValidObjective is named by report.Objective (e.g. NLL).
	ValidObjective stats.Float `json:"valid_objective,omitempty"`
	// ValidMeasures are the validation's further measures in percent
	// (MANN: accuracy_instance_K, the accuracy at the K-th presentation).
	ValidMeasures []measureValue `json:"valid_measures,omitempty"`
	// The adapted measures under their names of earlier versions, which
	// validated after one step always; read only.
	LegacyPost    stats.Float `json:"valid_loss_1_step,omitempty"`
	LegacyAccPost stats.Float `json:"valid_accuracy_1_step,omitempty"`
}

func (p curvePoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(curveJSON{p.Iteration, stats.Float(p.Loss), stats.Float(p.Accuracy),
		stats.Float(p.ValidPre), stats.Float(p.ValidPost), stats.Float(p.ValidAccPre), stats.Float(p.ValidAccPost), p.ValidSteps,
		stats.Float(p.ValidObjective), p.ValidMeasures, 0, 0})
}

func (p *curvePoint) UnmarshalJSON(b []byte) error {
	var j curveJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	if j.LegacyPost != 0 || j.LegacyAccPost != 0 {
		j.ValidPost, j.ValidAccPost, j.ValidSteps = j.LegacyPost, j.LegacyAccPost, 1
	}
	*p = curvePoint{j.Iteration, float64(j.Loss), float64(j.Accuracy),
		float64(j.ValidPre), float64(j.ValidPost), float64(j.ValidAccPre), float64(j.ValidAccPost), j.ValidSteps,
		float64(j.ValidObjective), j.ValidMeasures}
	return nil
}

func (c config) asJSON() map[string]any {
	m := map[string]any{
		"algorithm": c.algorithm, "dataset": c.dataset, "shots": c.shots, "train_shots": c.trainShots, "queries": c.queries, "eval_queries": c.evalQueries,
		"meta_batch": c.metaBatch, "inner_steps": c.innerSteps, "eval_steps": c.evalSteps,
		"inner_lr": c.innerLR, "inner_batch": c.innerBatch, "scale": c.scale, "outer_lr": c.outerLR, "iterations": c.iterations, "seed": c.seed,
		"first_order": c.firstOrder, "without": c.without, "zero_head": c.zeroHead, "resize": c.resize, "inner_adam": c.innerAdam, "fresh_adam": c.freshAdam, "dtype": c.dtype, "eval_tasks": c.evalTasks, "init": c.init,
		"lr_schedule": c.lrSchedule, "clip_norm": c.clipNorm, "early_stop": c.earlyStop,
	}
	if c.grid != "" {
		m["grid"], m["trial_index"], m["trial"] = c.grid, c.trial, c.trialLine
	}
	return m
}

// setEval records the final evaluation: the query loss (and accuracy)
// by number of steps, and each further measure as KEY_by_steps
// (metalearn.Measure.Key; CNP: query_nll_by_steps, MANN:
// accuracy_instance_2_by_steps).
func (r *report) setEval(ev metalearn.Evaluation) {
	r.Eval = map[string]any{"tasks": ev.Tasks, "steps": ev.Steps, "query_loss_by_steps": ev.Loss}
	if ev.Classification {
		r.Eval["query_accuracy_by_steps"] = ev.Accuracy
	}
	for _, m := range ev.Measures {
		r.Eval[m.Key+"_by_steps"] = ev.Extra[m.Name]
	}
}

// Output file names in -out. -eval writes its own, prefixed "eval".
const (
	metricsFile = "metrics.json"
	evalFile    = "eval.json"
	curveFile   = "learning_curve.png"
)

// saveProgress writes metrics.json and the learning curve as they stand
// during training, so that a long run that is stopped keeps its curve
// (and a resumed one continues it, see resumeCurve).
func (r *report) saveProgress(c config, src metalearn.TaskSource) error {
	r.Files = map[string]string{}
	if err := r.drawCurve(c, src); err != nil {
		return err
	}
	return r.save(filepath.Join(c.out, metricsFile))
}

// drawCurve draws learning_curve.png unless plots are off.
func (r *report) drawCurve(c config, src metalearn.TaskSource) error {
	if c.noPlots || len(r.Curve) == 0 {
		return nil
	}
	p := filepath.Join(c.out, curveFile)
	draw := learningCurve
	switch {
	case c.learner.Objective != "":
		draw = objectiveCurve
	case src.Spec().Classes > 0:
		draw = accuracyCurve
	}
	if err := draw(p, runTitle(r.Algorithm, src, c), c, r.Curve); err != nil {
		return err
	}
	r.Files["learning_curve"] = p
	return nil
}

// resumeCurve continues the record of the run in c.out: the points of
// its metrics.json's curve up to iteration start, and its training and
// validation times, if there is one.
func (r *report) resumeCurve(c config, start int) {
	b, err := os.ReadFile(filepath.Join(c.out, metricsFile))
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
	r.priorTrain, r.priorValid = old.TrainSeconds, old.ValidSeconds
}

// write saves the record and the plots into c.out: metrics.json, the
// curve and the final plot of a training run, or eval.json and
// eval_<plot>.png for -eval.
func (r *report) write(c config, l metalearn.Learner, src metalearn.TaskSource, log *logrus.Logger) error {
	r.Files = map[string]string{}
	record, prefix := metricsFile, ""
	if c.evalOnly {
		record, prefix = evalFile, "eval_"
		r.Checkpoint = c.checkpoint
	} else if err := r.drawCurve(c, src); err != nil {
		return err
	}
	if name, draw := finalPlot(l, src, c); draw != nil && !c.noPlots {
		p := filepath.Join(c.out, prefix+name+".png")
		if err := draw(p); err != nil {
			return err
		}
		r.Files[prefix+name] = p
	}
	path := filepath.Join(c.out, record)
	if _, err := os.Stat(path); err == nil && c.evalOnly {
		log.Infof("replacing the earlier evaluation in %s", path)
	}
	if err := r.save(path); err != nil {
		return err
	}
	log.Infof("wrote %s and %d plot(s) to %s", record, len(r.Files), c.out)
	return nil
}

// save writes the record to path atomically (a temporary file renamed over
// it), so path never holds half a record.
func (r *report) save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
