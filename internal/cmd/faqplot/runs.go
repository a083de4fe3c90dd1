package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/metagon/metagon/internal/earlystop"
	"github.com/metagon/metagon/internal/stats"
)

// runRecord is one cmd/train run of scripts/faq_mnist.sh: its folder, its
// metrics.json (the fields read here) and whether it failed.
type runRecord struct {
	Name   string            `json:"-"`      // the folder's name, e.g. "adam-1e-3"
	Model  string            `json:"model"`  // e.g. "mlp-784-100-10-relu"
	Config map[string]string `json:"config"` // the run's settings by flag name
	Epochs []epochRecord     `json:"epochs"`
	// Failed is the error of a run that stopped (its "failed" file), ""
	// for one that finished.
	Failed string `json:"-"`
}

// epochRecord is an epoch of metrics.json; the accuracies of -train-acc
// and -validation are nil without them.
type epochRecord struct {
	Epoch         int          `json:"epoch"`
	TrainLoss     stats.Float  `json:"train_loss"`
	TrainAccuracy *stats.Float `json:"train_accuracy"`
	ValidAccuracy *stats.Float `json:"valid_accuracy"`
	TestAccuracy  stats.Float  `json:"test_accuracy"`
}

// lrFinder is the part of lr_finder.json read here.
type lrFinder struct {
	Config    map[string]string `json:"config"`
	Suggested float64           `json:"suggested_lr"`
	Lowest    struct {
		LR float64 `json:"lr"`
	} `json:"lowest"`
	Points []struct {
		LR       float64     `json:"lr"`
		Smoothed stats.Float `json:"smoothed_loss"`
	} `json:"points"`
}

// readRuns reads every run in dir (its subfolders holding metrics.json),
// sorted by optimizer, then rate, then name.
func readRuns(dir string) ([]runRecord, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*", "metrics.json"))
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no runs in %s (no */metrics.json): run scripts/faq_mnist.sh first", dir)
	}
	var runs []runRecord
	for _, p := range paths {
		var r runRecord
		if err := readJSON(p, &r); err != nil {
			return nil, err
		}
		folder := filepath.Dir(p)
		r.Name = filepath.Base(folder)
		if _, err := os.Stat(filepath.Join(folder, "done")); err != nil {
			b, err := os.ReadFile(filepath.Join(folder, "failed"))
			if err != nil {
				return nil, fmt.Errorf("run %s is neither done nor failed (still running, or interrupted: run the script again)", folder)
			}
			r.Failed = strings.TrimSpace(string(b))
		}
		runs = append(runs, r)
	}
	sort.SliceStable(runs, func(i, j int) bool {
		a, b := runs[i], runs[j]
		if a.Config["optimizer"] != b.Config["optimizer"] {
			return a.Config["optimizer"] < b.Config["optimizer"]
		}
		if a.lr() != b.lr() {
			return a.lr() < b.lr()
		}
		return a.Name < b.Name
	})
	return runs, nil
}

// readJSON decodes the JSON file path into v.
func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// atSuggestion reports whether the run trained at the rate its range
// test suggested (a folder named OPTIMIZER-suggested), rather than at a
// rate of the grid.
func (r runRecord) atSuggestion() bool { return strings.HasSuffix(r.Name, "-suggested") }

// onGrid returns the runs at the rates of the grid, leaving out those at
// the suggested rates.
func onGrid(runs []runRecord) []runRecord {
	var grid []runRecord
	for _, r := range runs {
		if !r.atSuggestion() {
			grid = append(grid, r)
		}
	}
	return grid
}

// lr is the run's learning rate (NaN if its record has none).
func (r runRecord) lr() float64 {
	v, err := strconv.ParseFloat(r.Config["lr"], 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// final is the epoch a run's result is read at: its last, or, for a run
// with -validation, the epoch of the best validation accuracy (the first
// of equals: the model -early-stop keeps in CHECKPOINT.best). ok is false
// for a run without epochs.
func (r runRecord) final() (e epochRecord, ok bool) {
	if len(r.Epochs) == 0 {
		return e, false
	}
	if r.Epochs[0].ValidAccuracy == nil {
		return r.Epochs[len(r.Epochs)-1], true
	}
	var best earlystop.Record
	for i, e := range r.Epochs {
		if e.ValidAccuracy != nil {
			best.Observe(float64(*e.ValidAccuracy), true, i+1)
		}
	}
	return r.Epochs[best.At-1], true
}

// testAccuracy is the test accuracy at final, NaN for a run without
// epochs.
func (r runRecord) testAccuracy() float64 {
	e, ok := r.final()
	if !ok {
		return math.NaN()
	}
	return float64(e.TestAccuracy)
}

// curve returns the epochs and f of each, for a plot.
func (r runRecord) curve(f func(epochRecord) float64) (x, y []float64) {
	for _, e := range r.Epochs {
		x, y = append(x, float64(e.Epoch)), append(y, f(e))
	}
	return x, y
}

// percent writes an accuracy as a percentage with two decimals, "—" for
// NaN.
func percent(acc float64) string {
	if math.IsNaN(acc) {
		return "—"
	}
	return fmt.Sprintf("%.2f%%", 100*acc)
}
