package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/metagon/metagon/internal/plots"
)

// drawLR is section 1, "How do I choose a learning rate?": the range
// tests' suggestions against the rates that train best. It copies the Adam
// range test's plot, draws the test accuracy against the rate with the
// suggestions marked, and prints the table and, per optimizer, whether the
// suggestion lies within 10× of the best rate.
func drawLR(runs, out string, stdout io.Writer) error {
	dir := filepath.Join(runs, "lr")
	rs, err := readRuns(dir)
	if err != nil {
		return err
	}
	all := onGrid(rs)
	if len(all) == 0 {
		return fmt.Errorf("no runs at the grid's rates in %s", dir)
	}
	names, groups := byOptimizer(all)
	atSuggestion := map[string]runRecord{}
	for _, r := range rs {
		if r.atSuggestion() {
			atSuggestion[r.Config["optimizer"]] = r
		}
	}
	finders := map[string]lrFinder{}
	for _, opt := range names {
		var f lrFinder
		if err := readJSON(filepath.Join(dir, "findlr-"+opt, "lr_finder.json"), &f); err != nil {
			return fmt.Errorf("the range test of %s: %w", opt, err)
		}
		finders[opt] = f
	}
	if err := copyFile(filepath.Join(dir, "findlr-adam", "lr_finder.png"), filepath.Join(out, "faq_lr_finder.png")); err != nil {
		return err
	}

	// the table: one row per rate, one column per optimizer
	var rates []float64
	for _, r := range all {
		if !slices.Contains(rates, r.lr()) {
			rates = append(rates, r.lr())
		}
	}
	slices.Sort(rates)
	epochs := all[0].Config["epochs"]
	fmt.Fprintf(stdout, "\n## 1. Test accuracy after %s epochs, by learning rate\n\n| learning rate |", epochs)
	for _, opt := range names {
		fmt.Fprintf(stdout, " %s |", optimizerTitle(groups[opt][0]))
	}
	fmt.Fprintf(stdout, "\n|---|%s\n", strings.Repeat("---|", len(names)))
	for _, lr := range rates {
		fmt.Fprintf(stdout, "| %g |", lr)
		for _, opt := range names {
			cell := ""
			for _, r := range groups[opt] {
				if r.lr() == lr {
					cell = resultCell(r, groups[opt])
				}
			}
			fmt.Fprintf(stdout, " %s |", cell)
		}
		fmt.Fprintln(stdout)
	}
	fmt.Fprintln(stdout)

	// the suggestions against the best rates, and the figure: the
	// optimizers' curves and their suggestions as dashed vertical lines,
	// in the optimizer's color (the runs at the suggestions are in the
	// text: their points would hide on the lines)
	var series, lines []plots.Series
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, opt := range names {
		var x, y []float64
		for _, r := range groups[opt] {
			acc := 100 * r.testAccuracy()
			x, y = append(x, r.lr()), append(y, acc)
			if !math.IsNaN(acc) {
				lo, hi = min(lo, acc), max(hi, acc)
			}
		}
		title := optimizerTitle(groups[opt][0])
		series = append(series, plots.Series{Label: title, X: x, Y: y, Color: plots.PaletteColor(i)})
		best := bestRun(groups[opt])
		f := finders[opt]
		ratio := f.Suggested / best.lr()
		verdict := "within 10×"
		if ratio < 0.1 || ratio > 10 {
			verdict = "NOT within 10×"
		}
		fmt.Fprintf(stdout, "- %s: range test suggests %.2g (lowest smoothed loss at %.2g); best rate %g (%s); suggestion/best = %.2g: %s\n",
			title, f.Suggested, f.Lowest.LR, best.lr(), percent(best.testAccuracy()), ratio, verdict)
		if r, ok := atSuggestion[opt]; ok {
			got := percent(r.testAccuracy())
			if r.Failed != "" {
				got = fmt.Sprintf("diverged in epoch %d", len(r.Epochs)+1)
			}
			fmt.Fprintf(stdout, "  trained at the suggestion, %.2g: %s\n", r.lr(), got)
		}
		lines = append(lines, plots.Series{Label: fmt.Sprintf("%s: suggested %.2g", title, f.Suggested), X: []float64{f.Suggested},
			Dashed: true, Color: plots.PaletteColor(i)})
	}
	for i := range lines {
		lines[i].X, lines[i].Y = vertical(lines[i].X[0], lo, hi)
	}
	title := fmt.Sprintf("Test accuracy against the learning rate: %s on MNIST\nbatch %s, %s epochs of 60,000 images; dashed: the range test's suggestions (cmd/train -find-lr)",
		all[0].Model, all[0].Config["batch"], epochs)
	return plots.LearningCurve(filepath.Join(out, "faq_lr_sweep.png"),
		plots.CurveOptions{Title: title, XLabel: "learning rate", YLabel: "test accuracy (%)", LogX: true},
		append(series, lines...)...)
}

// resultCell is a run's cell in a table: its test accuracy, bold for the
// best of its group, or how it failed.
func resultCell(r runRecord, group []runRecord) string {
	if r.Failed != "" {
		return fmt.Sprintf("diverged in epoch %d", len(r.Epochs)+1)
	}
	if r.Name == bestRun(group).Name {
		return "**" + percent(r.testAccuracy()) + "**"
	}
	return percent(r.testAccuracy())
}

// vertical returns the points of a vertical line at x from y = lo to hi:
// more points than LearningCurve marks with markers (30), so that the
// line has none.
func vertical(x, lo, hi float64) (xs, ys []float64) {
	const n = 40
	for k := range n {
		xs, ys = append(xs, x), append(ys, lo+(hi-lo)*float64(k)/(n-1))
	}
	return xs, ys
}

// copyFile copies the file from to the file to, replacing it.
func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
