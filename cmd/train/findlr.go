package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/internal/progress"
	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
)

// lrRule is how the suggestion is made from the sweep (models.FindLR).
const lrRule = "the rate at the lowest smoothed loss, divided by 10"

// lrFinderRecord is lr_finder.json: the sweep's settings, its points and
// the suggestion.
type lrFinderRecord struct {
	Model     string            `json:"model"`
	Dataset   string            `json:"dataset"`
	Examples  int               `json:"examples"`
	Config    map[string]string `json:"config"` // the run's settings by flag name
	MinLR     float64           `json:"min_lr"`
	MaxLR     float64           `json:"max_lr"`
	Steps     int               `json:"steps"`
	Smoothing float64           `json:"smoothing"`
	Diverge   float64           `json:"diverge_factor"`
	Suggested float64           `json:"suggested_lr"`
	Rule      string            `json:"rule"`
	Lowest    lrPointJSON       `json:"lowest"`
	Diverged  bool              `json:"diverged"`
	Edge      string            `json:"edge,omitempty"`
	Points    []lrPointJSON     `json:"points"`
}

type lrPointJSON struct {
	Step     int         `json:"step"`
	LR       float64     `json:"lr"`
	Loss     stats.Float `json:"loss"`
	Smoothed stats.Float `json:"smoothed_loss"`
}

func lrPoint(p models.LRPoint) lrPointJSON {
	return lrPointJSON{p.Step, p.LR, stats.Float(p.Loss), stats.Float(p.Smoothed)}
}

// findLR runs the learning-rate range test on the first n examples of
// trainSet, in the batches of -batch that training would take (epoch after
// epoch if the sweep is longer than one), and writes lr_finder.png and
// lr_finder.json to -out. The trainer is fresh and nothing is saved to a
// checkpoint.
func findLR(ctx context.Context, tr *models.Trainer, c config, ds *dataset, trainSet labeled, n int, stdout, stderr io.Writer, log *logrus.Logger) error {
	d := c.diag
	batcher := data.NewBatcher(n, c.batch, int64(c.seed))
	per := batcher.NumBatches()
	in := graph.Size(tr.Model.InputShape())
	x, labels := make([]float64, c.batch*in), make([]float64, c.batch)
	var batches [][]int
	bar := progress.New(stderr, "learning-rate range test", d.findLRSteps)
	o := models.LRRangeOptions{MinLR: d.findLRMin, MaxLR: d.findLRMax, Steps: d.findLRSteps,
		Progress: func(p models.LRPoint) {
			bar.Update(p.Step+1, fmt.Sprintf("lr %.3g, loss %s", p.LR, stats.Decimal(p.Smoothed)))
		}}
	log.Infof("learning-rate range test of %s on %d %s examples: %s, rates %g to %g over %d steps of batch %d",
		tr.Model.Name(), n, ds.title, c.optimizer, d.findLRMin, d.findLRMax, d.findLRSteps, c.batch)
	res, err := tr.FindLR(o, func(i int) ([]float64, []float64, error) {
		if ctx.Err() != nil {
			return nil, nil, fmt.Errorf("interrupted at step %d of the learning-rate range test; nothing was written", i+1)
		}
		if i%per == 0 {
			batches = batcher.Batches(i / per)
		}
		idx := batches[i%per]
		xb, lb := x[:len(idx)*in], labels[:len(idx)]
		trainSet.FillBatch(idx, xb, lb)
		return xb, lb, nil
	})
	bar.Done()
	if err != nil {
		return err
	}
	rec := lrFinderRecord{Model: tr.Model.Name(), Dataset: c.dataset, Examples: n, Config: c.meta(),
		MinLR: res.Options.MinLR, MaxLR: res.Options.MaxLR, Steps: res.Options.Steps, Smoothing: res.Options.Smoothing,
		Diverge: res.Options.Diverge, Suggested: res.Suggested, Rule: lrRule, Lowest: lrPoint(res.Lowest),
		Diverged: res.Diverged, Edge: res.Edge}
	for _, p := range res.Points {
		rec.Points = append(rec.Points, lrPoint(p))
	}
	plot, record := filepath.Join(d.out, lrFinderPlot), filepath.Join(d.out, lrFinderJSON)
	if err := lrFinderPlotFile(plot, c, ds, rec); err != nil {
		return err
	}
	if err := cli.WriteJSON(record, rec); err != nil {
		return err
	}
	if res.Edge != "" {
		log.Warnf("-find-lr: %s", res.Edge)
	}
	fmt.Fprintf(stdout, "suggested learning rate %.2g (%s: lowest smoothed loss %s at %.2g); wrote %s and %s\n",
		res.Suggested, lrRule, stats.Decimal(res.Lowest.Smoothed), res.Lowest.LR, plot, record)
	return nil
}

// lrFinderPlotFile draws the sweep: the raw loss faint, the smoothed loss
// over it, against the rate on a log axis, with the suggestion and the
// lowest smoothed loss marked by vertical lines.
func lrFinderPlotFile(path string, c config, ds *dataset, rec lrFinderRecord) error {
	var lr, loss, smooth []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range rec.Points {
		lr, loss, smooth = append(lr, p.LR), append(loss, float64(p.Loss)), append(smooth, float64(p.Smoothed))
		if v := float64(p.Smoothed); !math.IsInf(v, 0) && !math.IsNaN(v) {
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	// the y axis shows the smoothed curve and the raw losses near it: a
	// raw loss above twice the smoothed maximum (the last steps of a
	// diverging sweep) is left out, lest it flatten the curve
	for i, v := range loss {
		if v > 2*hi {
			loss[i] = math.NaN()
		}
	}
	// the vertical marks span the smoothed curve
	vertical := func(x float64) ([]float64, []float64) { return []float64{x, x}, []float64{lo, hi} }
	sx, sy := vertical(rec.Suggested)
	lx, ly := vertical(rec.Lowest.LR)
	dropout := ""
	if c.dropout > 0 {
		dropout = fmt.Sprintf(", dropout %g", c.dropout)
	}
	title := fmt.Sprintf("Learning-rate range test: %s on %s\n%s, batch %d%s, %d steps at rates from %g to %g; suggested: the lowest smoothed loss's rate / 10",
		rec.Model, ds.title, c.optimizer, c.batch, dropout, len(rec.Points), rec.MinLR, rec.MaxLR)
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: "learning rate", YLabel: "training loss (" + c.loss + ")", LogX: true},
		plots.Series{Label: "loss per batch", X: lr, Y: loss, Faint: true},
		plots.Series{Label: fmt.Sprintf("smoothed (moving average, β = %g)", rec.Smoothing), X: lr, Y: smooth},
		plots.Series{Label: fmt.Sprintf("lowest smoothed loss, rate %.2g", rec.Lowest.LR), X: lx, Y: ly, Dashed: true},
		plots.Series{Label: fmt.Sprintf("suggested rate %.2g", rec.Suggested), X: sx, Y: sy, Dashed: true},
	)
}
