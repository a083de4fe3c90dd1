// Command gradlayers draws the gradient norm of each layer of an MLP at
// initialisation and after training, for several runs of cmd/train
// -grad-norms side by side: the picture of vanishing gradients in
// docs/FAQ.md (scripts/faq_gradients.sh).
//
//	go run ./internal/cmd/gradlayers -out docs/faq_gradients.png \
//	    -run sigmoid=runs/faq/sigmoid -run relu=runs/faq/relu -run "sigmoid + BN"=runs/faq/sigmoid-bn
//
// Each -run LABEL=DIR names a run's -out directory, whose metrics.json
// holds the L2 norms of the weights' gradients (w1, w2, …: the layers,
// input first; biases and batch-norm parameters are left out). The norm
// "at initialisation" is that of the first recorded step (step 0), the
// norm "after training" the geometric mean of the last -last records. The
// figure has layer on x and the norm on a log y axis, dashed at
// initialisation and solid after training, a colour per run; the same
// numbers are printed as a Markdown table.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/metagon/metagon/internal/cli"
	"github.com/metagon/metagon/internal/plots"
	"github.com/metagon/metagon/internal/stats"
	"github.com/sirupsen/logrus"
)

func main() { cli.Main("gradlayers", run) }

// record is the part of cmd/train's metrics.json that gradlayers reads.
type record struct {
	Model     string            `json:"model"`
	Config    map[string]string `json:"config"`
	Epochs    []json.RawMessage `json:"epochs"`
	GradNorms struct {
		Params []string                 `json:"params"`
		Steps  []int64                  `json:"steps"`
		Norms  map[string][]stats.Float `json:"norms"`
	} `json:"grad_norms"`
}

// run is one labelled run's per-layer norms.
type runNorms struct {
	label, model     string
	epochs           int
	init, trained    []float64 // by layer, input first
	firstLast, steps int64     // the first of the records averaged, and the last step
}

// layerWeight matches a layer's weight: w<i>, after an optional prefix.
var layerWeight = regexp.MustCompile(`(^|\.)w(\d+)$`)

func run(_ context.Context, args []string, stdout, stderr io.Writer, _ *logrus.Logger) error {
	fs := flag.NewFlagSet("gradlayers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("out", "", "the PNG to write")
	last := fs.Int("last", 5, "records averaged (geometrically) for the norm after training")
	title := fs.String("title", "", "the figure's title (default: names the models)")
	overwrite := fs.Bool("overwrite", false, "replace -out if it exists")
	var specs []string
	fs.Func("run", "LABEL=DIR: a run to draw, DIR the -out of a cmd/train -grad-norms run (repeat for several)", func(v string) error {
		specs = append(specs, v)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: gradlayers -out FILE.png -run LABEL=DIR...\n\nPlots per-layer gradient norms of cmd/train -grad-norms runs.\n\n")
		fs.PrintDefaults()
	}
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return cli.Usagef("-out is empty: want the PNG file to write")
	case *last < 1:
		return cli.Usagef("-last %d: want at least 1 record", *last)
	case len(specs) == 0:
		return cli.Usagef("no -run: want -run LABEL=DIR, DIR the -out of a cmd/train -grad-norms run")
	}
	if err := cli.CheckFile("out", *out, *overwrite, "add -overwrite to replace it"); err != nil {
		return err
	}
	var runs []runNorms
	for _, spec := range specs {
		label, dir, ok := strings.Cut(spec, "=")
		if !ok || label == "" || dir == "" {
			return cli.Usagef("-run %q: want LABEL=DIR", spec)
		}
		r, err := readRun(label, filepath.Join(dir, "metrics.json"), *last)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	printTable(stdout, runs)
	return plot(*out, *title, runs)
}

// readRun reads the per-layer norms of the run whose metrics.json is path.
func readRun(label, path string, last int) (runNorms, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return runNorms{}, fmt.Errorf("run %s: %w", label, err)
	}
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return runNorms{}, fmt.Errorf("run %s: %s is not a cmd/train metrics.json: %w", label, path, err)
	}
	g := rec.GradNorms
	if len(g.Steps) == 0 || g.Steps[0] != 0 {
		return runNorms{}, fmt.Errorf("run %s: %s has no record of step 0 (the gradient at initialisation): record a run from its start", label, path)
	}
	r := runNorms{label: label, model: rec.Model, epochs: len(rec.Epochs), steps: g.Steps[len(g.Steps)-1]}
	from := max(len(g.Steps)-last, 1)
	r.firstLast = g.Steps[from]
	type layer struct {
		i    int
		name string
	}
	var layers []layer
	for _, name := range g.Params {
		if m := layerWeight.FindStringSubmatch(name); m != nil {
			i, _ := strconv.Atoi(m[2])
			layers = append(layers, layer{i, name})
		}
	}
	if len(layers) == 0 {
		return runNorms{}, fmt.Errorf("run %s: %s has no layer weights w1, w2, … among %v: gradlayers draws MLPs", label, path, g.Params)
	}
	slices.SortFunc(layers, func(a, b layer) int { return a.i - b.i })
	for _, l := range layers {
		norms := g.Norms[l.name]
		if len(norms) != len(g.Steps) {
			return runNorms{}, fmt.Errorf("run %s: %s has %d norms of %s for %d steps", label, path, len(norms), l.name, len(g.Steps))
		}
		var logSum float64
		for _, v := range norms[from:] {
			logSum += math.Log(float64(v))
		}
		r.init = append(r.init, float64(norms[0]))
		r.trained = append(r.trained, math.Exp(logSum/float64(len(norms)-from)))
	}
	return r, nil
}

// printTable writes the norms as a Markdown table: a row per layer, two
// columns per run, and a last row with the ratio of the last layer's norm
// to the first's.
func printTable(w io.Writer, runs []runNorms) {
	layers := 0
	head, rule := "| layer |", "|---:|"
	for _, r := range runs {
		layers = max(layers, len(r.init))
		head += fmt.Sprintf(" %s, init | %s, trained |", r.label, r.label)
		rule += "---:|---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	cell := func(v []float64, i int) string {
		if i >= len(v) {
			return ""
		}
		return fmt.Sprintf("%.2g", v[i])
	}
	for i := 0; i < layers; i++ {
		row := fmt.Sprintf("| %d |", i+1)
		for _, r := range runs {
			row += fmt.Sprintf(" %s | %s |", cell(r.init, i), cell(r.trained, i))
		}
		fmt.Fprintln(w, row)
	}
	row := "| last / first |"
	for _, r := range runs {
		n := len(r.init) - 1
		row += fmt.Sprintf(" %.3g | %.3g |", r.init[n]/r.init[0], r.trained[n]/r.trained[0])
	}
	fmt.Fprintln(w, row)
}

// plot draws the figure: per run, a dashed line at initialisation and a
// solid one after training in the same colour.
func plot(path, title string, runs []runNorms) error {
	if title == "" {
		var models []string
		for _, r := range runs {
			models = append(models, r.model)
		}
		title = "Gradient norm of each layer's weights: " + strings.Join(models, ", ") +
			fmt.Sprintf("\ndashed: at initialisation (step 0); solid: after training (geometric mean of steps %d to %d)", runs[0].firstLast, runs[0].steps)
	}
	var series []plots.Series
	for _, r := range runs {
		x := make([]float64, len(r.init))
		for i := range x {
			x[i] = float64(i + 1)
		}
		after := fmt.Sprintf("%s, trained", r.label)
		if r.epochs > 0 {
			after = fmt.Sprintf("%s, after %d epoch%s", r.label, r.epochs, map[bool]string{true: "s"}[r.epochs > 1])
		}
		series = append(series,
			plots.Series{Label: r.label + ", at init", X: x, Y: r.init, Dashed: true},
			plots.Series{Label: after, X: x, Y: r.trained, SameColor: true})
	}
	return plots.LearningCurve(path, plots.CurveOptions{Title: title, XLabel: "layer (1: next to the input)",
		YLabel: "gradient L2 norm", LogY: true}, series...)
}
