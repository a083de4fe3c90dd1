package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/models"
)

// metricsRecord is metrics.json, the record of a run with -grad-norms: its
// settings, each epoch's loss and test accuracy, and the gradient norms.
type metricsRecord struct {
	Model     string            `json:"model"`
	Dataset   string            `json:"dataset"`
	Config    map[string]string `json:"config"` // the run's settings by flag name
	Epochs    []epochJSON       `json:"epochs"`
	GradNorms gradNormsJSON     `json:"grad_norms"`
}

// epochJSON is an epoch of metrics.json.
type epochJSON struct {
	Epoch     int         `json:"epoch"`
	TrainLoss stats.Float `json:"train_loss"` // mean of the epoch's batch losses
	// TrainAccuracy is the accuracy on the training examples after the
	// epoch (-train-acc; absent without), ValidAccuracy on the
	// validation examples (-validation).
	TrainAccuracy *stats.Float `json:"train_accuracy,omitempty"`
	ValidAccuracy *stats.Float `json:"valid_accuracy,omitempty"`
	TestAccuracy  stats.Float  `json:"test_accuracy"`
	Seconds       float64      `json:"seconds"`
}

// accuracies writes the epoch's accuracies for its line on stdout,
// "training accuracy 99.10%, validation accuracy 91.00%, test accuracy
// 90.52%" (those measured), and adds them to the log's fields f.
func (e epochJSON) accuracies(f map[string]any) string {
	var parts []string
	add := func(name, field string, acc float64) {
		parts = append(parts, fmt.Sprintf("%s accuracy %.2f%%", name, 100*acc))
		f[field] = fmt.Sprintf("%.2f%%", 100*acc)
	}
	if e.TrainAccuracy != nil {
		add("training", "train_acc", float64(*e.TrainAccuracy))
	}
	if e.ValidAccuracy != nil {
		add("validation", "valid_acc", float64(*e.ValidAccuracy))
	}
	add("test", "test_acc", float64(e.TestAccuracy))
	return strings.Join(parts, ", ")
}

// gradNormsJSON holds the L2 norm of each parameter tensor's gradient at
// Steps: step s is the gradient at the weights after s updates (0: at
// initialisation), taken every Every steps, and at a step refused for a
// non-finite loss.
type gradNormsJSON struct {
	Every  int                      `json:"every"`
	Params []string                 `json:"params"`
	Steps  []int64                  `json:"steps"`
	Norms  map[string][]stats.Float `json:"norms"`
}

// recorder keeps metrics.json and grad_norms.png in -out for a run with
// -grad-norms; a nil recorder (no -grad-norms) does nothing.
type recorder struct {
	every int
	dir   string
	title string // of the plot
	rec   metricsRecord
}

// newRecorder returns the recorder of the run, nil without -grad-norms. A
// resumed run continues the record in -out, if there is one, from where
// the checkpoint stands: epochs up to epoch, norms of steps before tr's.
func newRecorder(c config, tr *models.Trainer, ds *dataset, epoch int) (*recorder, error) {
	if c.diag.gradNorms == 0 {
		return nil, nil
	}
	r := &recorder{every: c.diag.gradNorms, dir: c.diag.out}
	r.title = fmt.Sprintf("Gradient norm per layer: %s on %s\n%s lr %g, batch %d, every %d steps; weights only (biases and the rest in %s)",
		tr.Model.Name(), ds.title, c.optimizer, c.lr, c.batch, r.every, metricsFile)
	r.rec = metricsRecord{Model: tr.Model.Name(), Dataset: c.dataset, Config: c.meta(),
		GradNorms: gradNormsJSON{Every: r.every, Norms: map[string][]stats.Float{}}}
	for _, p := range tr.Params.List {
		r.rec.GradNorms.Params = append(r.rec.GradNorms.Params, p.Name)
		r.rec.GradNorms.Norms[p.Name] = []stats.Float{}
	}
	if !c.resume {
		return r, nil
	}
	path := filepath.Join(r.dir, metricsFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return r, nil
	}
	var old metricsRecord
	if err == nil {
		err = json.Unmarshal(b, &old)
	}
	if err != nil {
		return nil, fmt.Errorf("-out %s: cannot continue its record: %w", path, err)
	}
	if old.Model != r.rec.Model || !slices.Equal(old.GradNorms.Params, r.rec.GradNorms.Params) {
		return nil, fmt.Errorf("-out %s is the record of a run of %s, not of %s: choose another -out", path, old.Model, r.rec.Model)
	}
	for _, e := range old.Epochs {
		if e.Epoch <= epoch {
			r.rec.Epochs = append(r.rec.Epochs, e)
		}
	}
	g := &r.rec.GradNorms
	for i, s := range old.GradNorms.Steps {
		if s >= tr.Steps {
			break
		}
		g.Steps = append(g.Steps, s)
		for _, name := range g.Params {
			if i >= len(old.GradNorms.Norms[name]) {
				return nil, fmt.Errorf("-out %s: %d steps but %d norms of %s", path, len(old.GradNorms.Steps), len(old.GradNorms.Norms[name]), name)
			}
			g.Norms[name] = append(g.Norms[name], old.GradNorms.Norms[name][i])
		}
	}
	return r, nil
}

// step records the gradient norms of tr's last step when it falls on the
// interval; failed says the step was refused (its gradients are those of
// the weights after tr.Steps updates), which is always recorded.
func (r *recorder) step(tr *models.Trainer, failed bool) {
	if r == nil {
		return
	}
	s := tr.Steps - 1 // updates before the gradient
	if failed {
		s = tr.Steps
	} else if s%int64(r.every) != 0 {
		return
	}
	g := &r.rec.GradNorms
	g.Steps = append(g.Steps, s)
	for i, norm := range tr.GradNorms() {
		g.Norms[g.Params[i]] = append(g.Norms[g.Params[i]], stats.Float(norm))
	}
}

// epoch records a finished epoch.
func (r *recorder) epoch(e epochJSON) {
	if r == nil {
		return
	}
	r.rec.Epochs = append(r.rec.Epochs, e)
}

// write saves metrics.json and grad_norms.png as they stand.
func (r *recorder) write(tr *models.Trainer) error {
	if r == nil {
		return nil
	}
	if err := r.plot(tr); err != nil {
		return err
	}
	return cli.WriteJSON(filepath.Join(r.dir, metricsFile), r.rec)
}

// plot draws grad_norms.png: the norm of every weight tensor (two or more
// dimensions: a layer's matrix or kernel) against the step, on a log
// axis, one line per layer; beyond the palette's ten colours the lines
// are dashed.
func (r *recorder) plot(tr *models.Trainer) error {
	g := r.rec.GradNorms
	if len(g.Steps) == 0 {
		return nil
	}
	x := make([]float64, len(g.Steps))
	for i, s := range g.Steps {
		x[i] = float64(s)
	}
	var series []plots.Series
	for _, p := range tr.Params.List {
		if len(p.Value.Shape()) < 2 {
			continue
		}
		y := make([]float64, len(g.Norms[p.Name]))
		for i, v := range g.Norms[p.Name] {
			y[i] = float64(v)
		}
		series = append(series, plots.Series{Label: p.Name, X: x, Y: y, Dashed: len(series) >= 10})
	}
	return plots.LearningCurve(filepath.Join(r.dir, gradNormPlot),
		plots.CurveOptions{Title: r.title, XLabel: "training step (updates before the gradient)", YLabel: "gradient L2 norm", LogY: true},
		series...)
}
