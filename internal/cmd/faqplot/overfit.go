package main

import (
	"fmt"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/metagon/metagon/internal/plots"
)

// overfitOrder is the order of section 2's runs in its table.
var overfitOrder = []string{"plain", "plain-seed2", "plain-seed3", "l2", "l2-strong", "adamw", "dropout", "early-stop", "all", "more-data"}

// drawOverfitting is section 2, "How do I avoid overfitting?": training
// and test accuracy of each run on 1,000 images (and one on more), the
// gap between them, and the curves of the run without regularisation
// ("plain") against the best one with (the highest test accuracy).
func drawOverfitting(runs, out string, stdout io.Writer) error {
	all, err := readRuns(filepath.Join(runs, "overfit"))
	if err != nil {
		return err
	}
	slices.SortStableFunc(all, func(a, b runRecord) int { return rank(overfitOrder, a.Name) - rank(overfitOrder, b.Name) })
	first := all[0]
	fmt.Fprintf(stdout, "\n## 2. Overfitting: %s, %s %s, batch %s, on the first MNIST training images\n\n",
		first.Model, optimizerTitle(first), first.Config["lr"], first.Config["batch"])
	fmt.Fprintln(stdout, "| run | regularisation | training images | epochs trained | read at epoch | training accuracy | test accuracy | gap |\n|---|---|---|---|---|---|---|---|")
	var plain, best *runRecord
	for i, r := range all {
		e, ok := r.final()
		if !ok || e.TrainAccuracy == nil {
			return fmt.Errorf("run %s has no epochs with a training accuracy (-train-acc)", r.Name)
		}
		train, test := float64(*e.TrainAccuracy), float64(e.TestAccuracy)
		images := r.Config["limit"]
		if nonzero(r.Config["validation"]) {
			images += " + " + r.Config["validation"] + " validation"
		}
		fmt.Fprintf(stdout, "| %s | %s | %s | %d | %d | %s | %s | %.2f points |\n", r.Name, regularisation(r), images, len(r.Epochs), e.Epoch,
			percent(train), percent(test), 100*(train-test))
		switch {
		case r.Name == "plain":
			plain = &all[i]
		case regularisation(r) != "none" && (best == nil || test > best.testAccuracy()):
			best = &all[i]
		}
	}
	if plain == nil || best == nil {
		return fmt.Errorf("the figure needs the run \"plain\" and a regularised one")
	}
	fmt.Fprintf(stdout, "\nfaq_overfitting.png: the run without regularisation against %s (%s), the best test accuracy.\n\n", best.Name, regularisation(*best))
	var series []plots.Series
	for i, r := range []*runRecord{plain, best} {
		name := "no regularisation"
		if r != plain {
			name = regularisation(*r)
		}
		x, y := r.curve(func(e epochRecord) float64 { return 100 * float64(*e.TrainAccuracy) })
		series = append(series, plots.Series{Label: name + ": training", X: x, Y: y, Dashed: true, Color: plots.PaletteColor(i)})
		x, y = r.curve(func(e epochRecord) float64 { return 100 * float64(e.TestAccuracy) })
		series = append(series, plots.Series{Label: name + ": test", X: x, Y: y, Color: plots.PaletteColor(i)})
	}
	title := fmt.Sprintf("Overfitting 1,000 MNIST images: training (dashed) and test accuracy\n%s, %s %s, batch %s; the regularised run is the one of the best test accuracy",
		first.Model, optimizerTitle(first), first.Config["lr"], first.Config["batch"])
	return plots.LearningCurve(filepath.Join(out, "faq_overfitting.png"),
		plots.CurveOptions{Title: title, XLabel: "epoch", YLabel: "accuracy (%)"}, series...)
}

// regularisation says how a run of section 2 is regularised, from its
// settings: "none", "L2 λ 0.001", "AdamW λ 1", "dropout 0.5", "early
// stopping (patience 10)", or several of these.
func regularisation(r runRecord) string {
	c := r.Config
	var parts []string
	switch {
	case c["optimizer"] == "adamw" && nonzero(c["weight-decay"]):
		parts = append(parts, "AdamW λ "+c["weight-decay"])
	case nonzero(c["weight-decay"]):
		parts = append(parts, "L2 λ "+c["weight-decay"])
	}
	if nonzero(c["dropout"]) {
		parts = append(parts, "dropout "+c["dropout"])
	}
	if nonzero(c["early-stop"]) {
		parts = append(parts, fmt.Sprintf("early stopping (patience %s)", c["early-stop"]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// nonzero reports whether a recorded setting is a number other than 0.
func nonzero(v string) bool {
	var x float64
	_, err := fmt.Sscan(v, &x)
	return err == nil && x != 0 && !math.IsNaN(x)
}
