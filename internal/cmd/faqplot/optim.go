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

// drawOptimizers is section 5, "Which optimizer should I choose?": each
// optimizer of the lr and optim runs at its best rate, its test accuracy
// and training loss per epoch, and the table of every rate tried.
func drawOptimizers(runs, out string, stdout io.Writer) error {
	var all []runRecord
	for _, sub := range []string{"lr", "optim"} {
		rs, err := readRuns(filepath.Join(runs, sub))
		if err != nil {
			return err
		}
		all = append(all, onGrid(rs)...)
	}
	names, groups := byOptimizer(all)
	order := []string{"sgd", "momentum", "adam", "adamw"}
	slices.SortStableFunc(names, func(a, b string) int { return rank(order, a) - rank(order, b) })

	epochs := all[0].Config["epochs"]
	fmt.Fprintf(stdout, "\n## 5. Optimizers: %s, batch %s, %s epochs of 60,000 images, each at its best rate\n\n", all[0].Model, all[0].Config["batch"], epochs)
	fmt.Fprintf(stdout, "| optimizer | test accuracy after %s epochs, by rate | best rate | test accuracy after each epoch | training loss, last epoch |\n|---|---|---|---|---|\n", epochs)
	var acc, loss []plots.Series
	for _, opt := range names {
		group := groups[opt]
		var tried []string
		for _, r := range group {
			tried = append(tried, fmt.Sprintf("%g: %s", r.lr(), resultCell(r, group)))
		}
		best := bestRun(group)
		var curve []string
		for _, e := range best.Epochs {
			curve = append(curve, fmt.Sprintf("%.2f", 100*float64(e.TestAccuracy)))
		}
		last := best.Epochs[len(best.Epochs)-1]
		label := fmt.Sprintf("%s, lr %g", optimizerTitle(best), best.lr())
		fmt.Fprintf(stdout, "| %s | %s | %g | %s%% | %.4f |\n", optimizerTitle(best), strings.Join(tried, ", "), best.lr(), strings.Join(curve, " / "), float64(last.TrainLoss))
		x, y := best.curve(func(e epochRecord) float64 { return 100 * float64(e.TestAccuracy) })
		acc = append(acc, plots.Series{Label: label, X: x, Y: y})
		x, y = best.curve(func(e epochRecord) float64 { return float64(e.TrainLoss) })
		loss = append(loss, plots.Series{Label: label, X: x, Y: y})
	}
	fmt.Fprintln(stdout)
	sub := fmt.Sprintf("%s on MNIST, batch %s, %s epochs of 60,000 images; each optimizer at the best of the rates tried", all[0].Model, all[0].Config["batch"], epochs)
	if err := plots.LearningCurve(filepath.Join(out, "faq_optimizers.png"),
		plots.CurveOptions{Title: "Test accuracy per epoch, by optimizer\n" + sub, XLabel: "epoch", YLabel: "test accuracy (%)"}, acc...); err != nil {
		return err
	}
	return plots.LearningCurve(filepath.Join(out, "faq_optimizers_loss.png"),
		plots.CurveOptions{Title: "Training loss per epoch, by optimizer\n" + sub + "; mean of the epoch's batch losses", XLabel: "epoch", YLabel: "training loss (cross-entropy)", LogY: true}, loss...)
}

// rank is the place of s in order, len(order) if it is not there.
func rank(order []string, s string) int {
	if i := slices.Index(order, s); i >= 0 {
		return i
	}
	return len(order)
}

// byOptimizer groups runs by their optimizer, in the order they come.
func byOptimizer(runs []runRecord) ([]string, map[string][]runRecord) {
	var names []string
	groups := map[string][]runRecord{}
	for _, r := range runs {
		opt := r.Config["optimizer"]
		if groups[opt] == nil {
			names = append(names, opt)
		}
		groups[opt] = append(groups[opt], r)
	}
	return names, groups
}

// bestRun is the run of the highest test accuracy (the first of equals;
// failed runs and runs without epochs count as lowest).
func bestRun(runs []runRecord) runRecord {
	best, bestAcc := runs[0], math.Inf(-1)
	for _, r := range runs {
		if acc := r.testAccuracy(); r.Failed == "" && acc > bestAcc {
			best, bestAcc = r, acc
		}
	}
	return best
}

// optimizerTitle names a run's optimizer, with the settings that set it
// apart: "SGD", "momentum 0.9", "Adam", "AdamW, λ 0.01".
func optimizerTitle(r runRecord) string {
	switch opt := r.Config["optimizer"]; opt {
	case "sgd":
		return "SGD"
	case "momentum":
		return "momentum 0.9"
	case "adam":
		return "Adam"
	case "adamw":
		return "AdamW, λ " + r.Config["weight-decay"]
	default:
		return opt
	}
}
