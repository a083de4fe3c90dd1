package meta

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/metalearn"
)

// runTitle says what a run's plots show: the algorithm, the task family
// (data set, ways and shots) and the number of meta-iterations, e.g.
// "MAML on Omniglot 5-way 1-shot (background split), 40 meta-iterations"
// (for a learner that trains on class batches, such as transfer, "500
// pre-training batches of 64 images").
func runTitle(algorithm string, src metalearn.TaskSource, c config) string {
	if c.learner.ClassBatches {
		return fmt.Sprintf("%s on %s, %d pre-training batches of %d images", displayName(algorithm), src.Describe(), c.iterations, c.metaBatch)
	}
	return fmt.Sprintf("%s on %s, %d meta-iterations", displayName(algorithm), src.Describe(), c.iterations)
}

// displayName is how papers write an algorithm's name (its registered
// Title, e.g. "MAML" for "maml"); a learner without one keeps its name.
func displayName(algorithm string) string {
	if e, err := metalearn.LookupLearner(algorithm); err == nil && e.Title != "" {
		return e.Title
	}
	return algorithm
}

// learningCurve draws a regression run's curve: the meta-training query
// MSE and the validation MSE before and after one adaptation step.
func learningCurve(path, title string, _ config, curve []curvePoint) error {
	var it, loss []float64
	var pre, post plots.Series
	pre.Label, pre.Dashed, post.Label = "validation, 0 steps", true, "validation, "+plural(validStepsOf(curve), "step")
	for _, p := range curve {
		it, loss = append(it, float64(p.Iteration)), append(loss, p.Loss)
		if p.ValidPre > 0 {
			pre.X, pre.Y = append(pre.X, float64(p.Iteration)), append(pre.Y, p.ValidPre)
			post.X, post.Y = append(post.X, float64(p.Iteration)), append(post.Y, p.ValidPost)
		}
	}
	series := append(trainSeries("meta-train query MSE (after adaptation)", it, loss), pre, post)
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: "meta-iteration", YLabel: "MSE", LogY: true},
		series...)
}

// objectiveCurve draws the curve of a learner that minimises a measure of
// its own (metalearn.LearnerEntry.Objective; CNP: the negative
// log-likelihood of the targets): that measure on the meta-training
// batches and on the validation tasks, and the validation MSE, on a
// linear axis (a log-likelihood can be negative).
func objectiveCurve(path, title string, c config, curve []curvePoint) error {
	obj := c.learner.Objective
	var it, loss []float64
	var valid, mse plots.Series
	valid.Label, mse.Label, mse.Dashed = "validation query "+obj, "validation query MSE", true
	for _, p := range curve {
		it, loss = append(it, float64(p.Iteration)), append(loss, p.Loss)
		if p.ValidPre > 0 { // a validated point: its MSE is positive
			valid.X, valid.Y = append(valid.X, float64(p.Iteration)), append(valid.Y, p.ValidObjective)
			mse.X, mse.Y = append(mse.X, float64(p.Iteration)), append(mse.Y, p.ValidPre)
		}
	}
	series := append(trainSeries("meta-train "+obj+" (training targets)", it, loss), valid, mse)
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: "meta-iteration", YLabel: obj + " per point (nats) and MSE"},
		series...)
}

// validStepsOf is the number of inner steps the curve's validations
// adapted with (the last validation's; 1 if none says).
func validStepsOf(curve []curvePoint) int {
	for i := len(curve) - 1; i >= 0; i-- {
		if curve[i].ValidSteps > 0 {
			return curve[i].ValidSteps
		}
	}
	return 1
}

// accuracyCurve draws a classification run's curve: the meta-training
// query accuracy (for transfer, the pre-training batches' accuracy over
// all the training classes) and the accuracy on held-out episodes (after
// the validations' inner steps, for learners that adapt), and each further measure in
// percent of the validations (MANN: the accuracy by instance), dashed.
func accuracyCurve(path, title string, c config, curve []curvePoint) error {
	var it, acc []float64
	var valid plots.Series
	train, x := "meta-train query accuracy", "meta-iteration"
	valid.Label = "held-out episodes (after " + plural(validStepsOf(curve), "inner step") + ")"
	switch {
	case c.learner.NoInnerLoop:
		valid.Label = "held-out episodes"
	case c.learner.ClassBatches:
		train, x = "pre-training batch accuracy (all training classes)", "pre-training batch"
		valid.Label = "held-out episodes (after " + plural(validStepsOf(curve), "step") + " fitting a new head)"
	}
	var measures []plots.Series // by instance (MANN), in the learner's order
	for _, p := range curve {
		it, acc = append(it, float64(p.Iteration)), append(acc, 100*p.Accuracy)
		if p.ValidAccPost > 0 {
			valid.X, valid.Y = append(valid.X, float64(p.Iteration)), append(valid.Y, 100*p.ValidAccPost)
		}
		for _, m := range p.ValidMeasures {
			i := slices.IndexFunc(measures, func(s plots.Series) bool { return s.Label == "held-out, "+m.Column })
			if i < 0 {
				measures = append(measures, plots.Series{Label: "held-out, " + m.Column, Dashed: true})
				i = len(measures) - 1
			}
			measures[i].X, measures[i].Y = append(measures[i].X, float64(p.Iteration)), append(measures[i].Y, 100*float64(m.Mean))
		}
	}
	series := append(append(trainSeries(train, it, acc), valid), measures...)
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: x, YLabel: "accuracy (%)"},
		series...)
}

// trainSeries is a meta-training curve, noisy from batch to batch: as it
// is when short (up to 30 points), and otherwise faint under its running
// mean over a fifteenth of the points (at least 5), which shows the trend.
func trainSeries(label string, x, y []float64) []plots.Series {
	if len(y) <= 30 {
		return []plots.Series{{Label: label, X: x, Y: y}}
	}
	window := max(5, len(y)/15)
	return []plots.Series{
		{Label: label, X: x, Y: y, Faint: true},
		{Label: fmt.Sprintf("running mean of %d points", window), X: x, Y: runningMean(y, window)},
	}
}

// runningMean is the mean of the finite values among the window values of
// y centred on each (fewer at the ends); NaN where there are none.
func runningMean(y []float64, window int) []float64 {
	out := make([]float64, len(y))
	for i := range y {
		sum, n := 0.0, 0
		for _, v := range y[max(0, i-window/2):min(len(y), i-window/2+window)] {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				sum, n = sum+v, n+1
			}
		}
		out[i] = math.NaN()
		if n > 0 {
			out[i] = sum / float64(n)
		}
	}
	return out
}

// finalPlot picks the plot of an adapted learner that src's tasks allow:
// an episode of grey images for classification (as a sequence for a
// metalearn.Sequencer), the fitted functions for a FunctionSource, none
// otherwise.
func finalPlot(l metalearn.Learner, src metalearn.TaskSource, c config) (string, func(path string) error) {
	if in := src.Spec().Input; src.Spec().Classes > 0 && len(in) == 3 && in[0] == 1 {
		if sq, ok := l.(metalearn.Sequencer); ok {
			return "episode", func(p string) error { return sequencePlot(p, sq, src, c) }
		}
		return "episode", func(p string) error { return episodePlot(p, l, src, c) }
	}
	_, curves := src.(metalearn.CurveSource)
	if _, functions := src.(metalearn.FunctionSource); curves || functions {
		return "fits", func(p string) error { return fits(p, l, src, c) }
	}
	return "", nil
}

// testCurve returns test task i of a CurveSource or FunctionSource: its
// true values on a grid of inputs (a FunctionSource's function at 200
// points of [−5, 5], the sinusoids' range), its support set and a
// caption.
func testCurve(src metalearn.TaskSource, i int) (xs, ys []float64, support metalearn.Task, caption string, err error) {
	if cs, ok := src.(metalearn.CurveSource); ok {
		xs, ys, support, caption = cs.TestCurve(i)
		return xs, ys, support, caption, nil
	}
	fs, ok := src.(metalearn.FunctionSource)
	if !ok {
		return nil, nil, support, "", fmt.Errorf("%s: its test tasks are not known functions", src.Describe())
	}
	const grid = 200
	f, support, caption := fs.TestFunction(i)
	xs, ys = make([]float64, grid), make([]float64, grid)
	for j := range xs {
		xs[j] = -5 + 10*float64(j)/float64(grid-1)
		ys[j] = f(xs[j])
	}
	return xs, ys, support, caption, nil
}

// fits draws Finn et al.'s Fig. 2 for a source whose test tasks are known
// curves: four held-out tasks, the true curve, the support points, and
// the model before and after 1 and 10 steps. A learner without an inner
// loop gives one prediction from the support points; one that predicts a
// distribution (CNP) is drawn as its mean with a band of ±2 standard
// deviations around it, over the context points and the true curve, as
// Garnelo et al.'s Fig. 2 and DeepMind's notebook show it (the notebook
// shades ±1σ).
func fits(path string, l metalearn.Learner, src metalearn.TaskSource, c config) error {
	var panels []plots.FitPanel
	var tasks []metalearn.Task
	var captions []string
	for i := 0; i < 4; i++ {
		xs, ys, sup, caption, err := testCurve(src, i)
		if err != nil {
			return err
		}
		tasks = append(tasks, metalearn.Task{SupportX: sup.SupportX, SupportY: sup.SupportY, QueryX: xs, QueryY: ys})
		captions = append(captions, caption)
	}
	steps := max(c.evalSteps, 1)
	if c.learner.NoInnerLoop {
		steps = 0
	}
	res, err := l.Adapt(tasks, steps)
	if err != nil {
		return err
	}
	band := false
	for i, r := range res {
		t := tasks[i]
		p := plots.FitPanel{Title: fmt.Sprintf("task %d: %s", i+1, captions[i]),
			X: t.QueryX, True: t.QueryY, SupportX: t.SupportX, SupportY: t.SupportY}
		if _, sampled := src.(metalearn.CurveSource); sampled {
			p.TrueLabel = "true curve as sampled (noise included)"
		}
		switch {
		case c.learner.NoInnerLoop && r.Std != nil:
			band = true
			lo, hi := make([]float64, len(r.Std[0])), make([]float64, len(r.Std[0]))
			for k, s := range r.Std[0] {
				lo[k], hi[k] = r.Outputs[0][k]-2*s, r.Outputs[0][k]+2*s
			}
			p.Fits = []plots.Series{{Label: "predictive mean", Y: r.Outputs[0]}}
			p.Bands = []plots.Band{{Label: "mean ± 2σ", Lo: lo, Hi: hi}}
			p.SupportLabel = "context points"
		case c.learner.NoInnerLoop:
			p.Fits = []plots.Series{{Label: "prediction", Y: r.Outputs[0]}}
		default:
			p.Fits = append(p.Fits, plots.Series{Label: "pre-update", Y: r.Outputs[0]}, plots.Series{Label: "1 grad step", Y: r.Outputs[1]})
			if steps > 1 {
				p.Fits = append(p.Fits, plots.Series{Label: fmt.Sprintf("%d grad steps", steps), Y: r.Outputs[steps]})
			}
		}
		panels = append(panels, p)
	}
	how := fmt.Sprintf("the model's predictions before and after adapting to each task's %d support points", c.shots)
	switch {
	case band:
		how = "the predictive mean and ±2σ band given each task's context points (its support set), without inner steps"
	case c.learner.NoInnerLoop:
		how = "the model's predictions from each task's support points, without inner steps"
	}
	title := runTitle(l.Name(), src, c) + fmt.Sprintf("\n%d held-out tasks: %s", len(panels), how)
	return plots.SinusoidFits(path, title, panels)
}

// episodePlot shows one held-out episode: the support images, then the
// first few queries of each class captioned with the prediction after
// adaptation (green frame: right; red frame and a "wrong" caption: wrong).
func episodePlot(path string, l metalearn.Learner, src metalearn.TaskSource, c config) error {
	task := src.Test(1)[0]
	res, err := metalearn.AdaptAtSteps(l, []metalearn.Task{task}, []int{c.evalSteps})
	if err != nil {
		return err
	}
	out := res[0].Outputs[len(res[0].Outputs)-1]
	ways := c.ways
	side := src.Spec().Input[1]
	px := side * side
	cell := func(x []float64, i int, caption string) plots.Cell {
		return plots.Cell{Pixels: x[i*px : (i+1)*px], W: side, H: side, Caption: caption}
	}
	var rows [][]plots.Cell
	var support []plots.Cell
	for i, y := range task.SupportY {
		support = append(support, cell(task.SupportX, i, fmt.Sprintf("class %d", int(y))))
	}
	rows = append(rows, support)
	perRow := len(support)
	const perClass = 4
	var row []plots.Cell
	shown := make([]int, ways)
	right := 0
	for i, y := range task.QueryY {
		pred, truth := argmax(out[i*ways:(i+1)*ways]), int(y)
		if pred == truth {
			right++
		}
		if shown[truth] >= perClass {
			continue
		}
		shown[truth]++
		q := cell(task.QueryX, i, fmt.Sprintf("pred %d", pred))
		q.Border = plots.Green
		if pred != truth {
			q.Caption = fmt.Sprintf("wrong: %d (true %d)", pred, truth)
			q.Border, q.CaptionColor = plots.Red, plots.Red
		}
		row = append(row, q)
		if len(row) == perRow {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	how := fmt.Sprintf("after %d inner steps", c.evalSteps)
	switch {
	case c.learner.ClassBatches:
		how = fmt.Sprintf("by a new head fitted for %d steps", c.evalSteps)
	case c.learner.NoInnerLoop:
		how = "without inner steps"
	case c.evalSteps == 1:
		how = "after 1 inner step"
	}
	nShown, fewest := 0, perClass
	for _, n := range shown {
		nShown, fewest = nShown+n, min(fewest, n)
	}
	each := fmt.Sprintf("the first %d of each class", perClass)
	if fewest < perClass {
		each = fmt.Sprintf("up to %d of each class", perClass)
	}
	n := len(task.QueryY)
	title := runTitle(l.Name(), src, c) + "\n" + fmt.Sprintf(
		"One held-out episode. Top row: its support set (%d per class). Below: %d of its %d queries (%s), "+
			"captioned with the class predicted %s; green frame: right, red frame: wrong. "+
			"Accuracy on all %d queries: %.0f%% (%d right).",
		len(task.SupportY)/ways, nShown, n, each, how, n, 100*float64(right)/float64(n), right)
	return plots.Episode(path, title, rows)
}

// sequencePlot shows one held-out episode as a sequence learner (MANN)
// reads it: its support images in the order shown, ten to a row, each
// captioned with its label and which presentation of its class it is, and
// framed green where the learner labelled it right before being told,
// red (captioned with the wrong label) where not.
func sequencePlot(path string, l metalearn.Sequencer, src metalearn.TaskSource, c config) error {
	task := src.Test(1)[0]
	res, err := l.Adapt([]metalearn.Task{task}, 0)
	if err != nil {
		return err
	}
	out := res[0].Outputs[0]
	order := l.Order(task)
	ways := c.ways
	side := src.Spec().Input[1]
	px := side * side
	if len(out) != len(order)*ways {
		return fmt.Errorf("episode plot: %d scores for %d steps of %d ways", len(out), len(order), ways)
	}
	const perRow = 10
	var rows [][]plots.Cell
	var row []plots.Cell
	seen := map[int]int{}
	right := map[int][2]int{} // by instance: right, shown
	for i, j := range order {
		y := int(task.SupportY[j])
		seen[y]++
		pred := argmax(out[i*ways : (i+1)*ways])
		cell := plots.Cell{Pixels: task.SupportX[j*px : (j+1)*px], W: side, H: side,
			Caption: fmt.Sprintf("%d: label %d, %s", i+1, y, metalearn.Ordinal(seen[y])), Border: plots.Green}
		r := right[seen[y]]
		r[1]++
		if pred == y {
			r[0]++
		} else {
			cell.Caption = fmt.Sprintf("%d: said %d, label %d", i+1, pred, y)
			cell.Border, cell.CaptionColor = plots.Red, plots.Red
		}
		right[seen[y]] = r
		row = append(row, cell)
		if len(row) == perRow {
			rows, row = append(rows, row), nil
		}
	}
	if len(row) > 0 {
		rows = append(rows, row)
	}
	var by []string
	for k := 1; right[k][1] > 0; k++ {
		by = append(by, fmt.Sprintf("%s %d/%d", metalearn.Ordinal(k), right[k][0], right[k][1]))
	}
	title := runTitle(l.Name(), src, c) + "\n" + fmt.Sprintf(
		"One held-out episode as a sequence, in the order shown (left to right, top to bottom): each image comes with the label of the image before, "+
			"and the learner labels it before being told. Captions: step, label, which presentation of its class; green frame: labelled right, red: wrong. "+
			"Right by presentation: %s.", strings.Join(by, ", "))
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
