package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// fakeRun writes a run folder as scripts/faq_mnist.sh leaves it:
// metrics.json with the settings and epochs given, and "done" (or
// "failed" when failed).
func fakeRun(t *testing.T, dir string, config map[string]string, epochs []map[string]float64, failed bool) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rec := map[string]any{"model": "mlp-784-100-10-relu", "config": config, "epochs": epochs}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	marker := "done"
	if failed {
		marker = "failed"
	}
	if err := os.WriteFile(filepath.Join(dir, marker), []byte("epoch 2: loss is NaN\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fakeFinder writes a range test's lr_finder.json and a PNG standing for
// its plot.
func fakeFinder(t *testing.T, dir, opt string, suggested float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b := fmt.Sprintf(`{"config": {"optimizer": %q}, "suggested_lr": %g, "lowest": {"lr": %g}, "points": []}`, opt, suggested, 10*suggested)
	if err := os.WriteFile(filepath.Join(dir, "lr_finder.json"), []byte(b), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lr_finder.png"), []byte("the plot of "+opt), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestFAQPlots runs faqplot on a fake tree of runs: the tables name the
// best rate of each optimizer and say whether the suggestion is within
// 10× of it, a diverged run is marked so, the early-stopped run is read
// at its best validation epoch, the regularised run of the figure is the
// one of the best test accuracy, and every PNG is written.
func TestFAQPlots(t *testing.T) {
	root := t.TempDir()
	runs, out := filepath.Join(root, "runs"), filepath.Join(root, "docs")
	epoch := func(n int, loss, test float64) map[string]float64 {
		return map[string]float64{"epoch": float64(n), "train_loss": loss, "test_accuracy": test}
	}
	cfg := func(opt, lr string) map[string]string {
		return map[string]string{"optimizer": opt, "lr": lr, "batch": "32", "epochs": "2", "weight-decay": "0.01"}
	}
	// Adam is best at 1e-3, SGD at 0.1; SGD at 1 diverged in epoch 2
	for opt, accs := range map[string]map[string]float64{
		"adam": {"1e-3": 0.97, "1e-2": 0.95},
		"sgd":  {"1e-2": 0.90, "1e-1": 0.96},
	} {
		for lr, acc := range accs {
			fakeRun(t, filepath.Join(runs, "lr", opt+"-"+lr), cfg(opt, lr), []map[string]float64{epoch(1, 0.5, acc-0.02), epoch(2, 0.3, acc)}, false)
		}
	}
	// Adam at its suggestion trains better than at any rate of the grid,
	// but the grid's best is what the suggestion is measured against
	fakeRun(t, filepath.Join(runs, "lr", "adam-suggested"), cfg("adam", "0.002"), []map[string]float64{epoch(1, 0.5, 0.97), epoch(2, 0.3, 0.98)}, false)
	fakeRun(t, filepath.Join(runs, "lr", "sgd-1"), cfg("sgd", "1"), []map[string]float64{epoch(1, 2.3, 0.1)}, true)
	fakeFinder(t, filepath.Join(runs, "lr", "findlr-adam"), "adam", 0.002)
	fakeFinder(t, filepath.Join(runs, "lr", "findlr-sgd"), "sgd", 0.005)
	fakeRun(t, filepath.Join(runs, "optim", "momentum-1e-2"), cfg("momentum", "1e-2"), []map[string]float64{epoch(1, 0.4, 0.95), epoch(2, 0.2, 0.975)}, false)

	small := func(extra map[string]string) map[string]string {
		c := map[string]string{"optimizer": "adam", "lr": "0.001", "batch": "32", "epochs": "3", "limit": "1000", "weight-decay": "0", "dropout": "0", "early-stop": "0", "validation": "0"}
		for k, v := range extra {
			c[k] = v
		}
		return c
	}
	acc := func(n int, train, valid, test float64) map[string]float64 {
		e := map[string]float64{"epoch": float64(n), "train_loss": 0.1, "train_accuracy": train, "test_accuracy": test}
		if valid > 0 {
			e["valid_accuracy"] = valid
		}
		return e
	}
	fakeRun(t, filepath.Join(runs, "overfit", "plain"), small(nil), []map[string]float64{acc(1, 0.9, 0, 0.85), acc(2, 1, 0, 0.86), acc(3, 1, 0, 0.87)}, false)
	fakeRun(t, filepath.Join(runs, "overfit", "dropout"), small(map[string]string{"dropout": "0.5"}), []map[string]float64{acc(1, 0.8, 0, 0.85), acc(2, 0.9, 0, 0.88), acc(3, 0.95, 0, 0.89)}, false)
	// early stopping: the best validation accuracy is epoch 2's (epoch 3
	// only equals it), so the run is read there
	fakeRun(t, filepath.Join(runs, "overfit", "early-stop"), small(map[string]string{"early-stop": "1", "limit": "800", "validation": "200"}),
		[]map[string]float64{acc(1, 0.9, 0.80, 0.84), acc(2, 0.97, 0.86, 0.885), acc(3, 0.99, 0.86, 0.9)}, false)

	// more data is not regularisation: the figure does not take it
	fakeRun(t, filepath.Join(runs, "overfit", "more-data"), small(map[string]string{"limit": "10000"}), []map[string]float64{acc(1, 0.99, 0, 0.95)}, false)

	var stdout bytes.Buffer
	log := logrus.New()
	log.SetOutput(io.Discard)
	if err := run(context.Background(), []string{"-runs", runs, "-out", out}, &stdout, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	got := stdout.String()
	for _, want := range []string{
		"| 0.001 | **97.00%** |  |\n| 0.01 | 95.00% | 90.00% |",
		"| Adam | 0.001: **97.00%**, 0.01: 95.00% | 0.001 |",
		"| 1 |  | diverged in epoch 2 |",
		"- Adam: range test suggests 0.002 (lowest smoothed loss at 0.02); best rate 0.001 (97.00%); suggestion/best = 2: within 10×",
		"  trained at the suggestion, 0.002: 98.00%\n- SGD: range test suggests 0.005 (lowest smoothed loss at 0.05); best rate 0.1 (96.00%); suggestion/best = 0.05: NOT within 10×",
		"| momentum 0.9 | 0.01: **97.50%** | 0.01 | 95.00 / 97.50% | 0.2000 |",
		"| early-stop | early stopping (patience 1) | 800 + 200 validation | 3 | 2 | 97.00% | 88.50% | 8.50 points |",
		"| dropout | dropout 0.5 | 1000 | 3 | 3 | 95.00% | 89.00% | 6.00 points |",
		"| more-data | none | 10000 | 1 | 1 | 99.00% | 95.00% | 4.00 points |",
		"faq_overfitting.png: the run without regularisation against dropout (dropout 0.5), the best test accuracy.",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Index(got, "| plain |") > strings.Index(got, "| dropout |") {
		t.Errorf("the table does not start with the plain run:\n%s", got)
	}
	if b, err := os.ReadFile(filepath.Join(out, "faq_lr_finder.png")); err != nil || string(b) != "the plot of adam" {
		t.Errorf("faq_lr_finder.png is not the Adam range test's plot: %q, %v", b, err)
	}
	for _, name := range []string{"faq_lr_sweep.png", "faq_optimizers.png", "faq_optimizers_loss.png", "faq_overfitting.png"} {
		f, err := os.Open(filepath.Join(out, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if _, err := png.Decode(f); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		f.Close()
	}

	// no runs at all: one clear error
	err := run(context.Background(), []string{"-runs", filepath.Join(root, "none"), "-out", out}, io.Discard, io.Discard, log)
	if err == nil || !strings.Contains(err.Error(), "run scripts/faq_mnist.sh first") {
		t.Errorf("no runs: error %v", err)
	}
}
