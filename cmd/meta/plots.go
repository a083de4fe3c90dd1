package main

import (
	"fmt"
	"image/color"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/metalearn"
)

// runTitle says what a run's plots show: the learner and the task family.
func runTitle(algorithm string, src taskSource, c config) string {
	return fmt.Sprintf("%s on %s, %d meta-iterations", algorithm, src.Describe(), c.iterations)
}

func learningCurve(path, title string, curve []curvePoint) error {
	var train, pre, post plots.Series
	train.Label, pre.Label, post.Label = "meta-train query MSE (after adaptation)", "validation, 0 steps", "validation, 1 step"
	for _, p := range curve {
		train.X, train.Y = append(train.X, float64(p.Iteration)), append(train.Y, p.Loss)
		if p.ValidPre > 0 {
			pre.X, pre.Y = append(pre.X, float64(p.Iteration)), append(pre.Y, p.ValidPre)
			post.X, post.Y = append(post.X, float64(p.Iteration)), append(post.Y, p.ValidPost)
		}
	}
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: "meta-iteration", YLabel: "MSE", LogY: true},
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
	return plots.SinusoidFits(path, runTitle(l.Name(), sinusoids{c}, c), panels)
}

func accuracyCurve(path, title string, curve []curvePoint) error {
	var train, valid plots.Series
	train.Label, valid.Label = "meta-train query accuracy", "held-out episodes (after adaptation)"
	for _, p := range curve {
		train.X, train.Y = append(train.X, float64(p.Iteration)), append(train.Y, 100*p.Accuracy)
		if p.ValidAccPost > 0 {
			valid.X, valid.Y = append(valid.X, float64(p.Iteration)), append(valid.Y, 100*p.ValidAccPost)
		}
	}
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: "meta-iteration", YLabel: "accuracy (%)"},
		train, valid)
}

// episodePlot shows one held-out episode: the support images, then up to
// four queries per class captioned with the prediction after adaptation
// (green: right, red: wrong).
func episodePlot(path string, l metalearn.Learner, src taskSource, c config) error {
	task := src.Test(1)[0]
	res, err := metalearn.AdaptAtSteps(l, []metalearn.Task{task}, []int{c.evalSteps})
	if err != nil {
		return err
	}
	out := res[0].Outputs[len(res[0].Outputs)-1]
	ways := c.ways
	side := src.Spec().Input[1]
	px := side * side
	cell := func(x []float64, i int, caption string, border color.Color) plots.Cell {
		return plots.Cell{Pixels: x[i*px : (i+1)*px], W: side, H: side, Caption: caption, Border: border}
	}
	var rows [][]plots.Cell
	var support []plots.Cell
	for i, y := range task.SupportY {
		support = append(support, cell(task.SupportX, i, fmt.Sprintf("class %d", int(y)), nil))
	}
	rows = append(rows, support)
	perRow := len(support)
	var row []plots.Cell
	shown := make([]int, ways)
	for i, y := range task.QueryY {
		if shown[int(y)] >= 4 {
			continue
		}
		shown[int(y)]++
		pred := argmax(out[i*ways : (i+1)*ways])
		border := plots.Green
		if pred != int(y) {
			border = plots.Red
		}
		row = append(row, cell(task.QueryX, i, fmt.Sprintf("→ %d", pred), border))
		if len(row) == perRow {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	how := fmt.Sprintf("after %d inner step(s)", c.evalSteps)
	if c.algorithm == "protonet" {
		how = "by nearest prototype"
	}
	title := fmt.Sprintf("%s: support (top) and queries with predictions %s, accuracy %.0f%%",
		l.Name(), how, 100*res[0].Accuracy[len(res[0].Accuracy)-1])
	return plots.Episode(path, title, rows)
}

func argmax(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
