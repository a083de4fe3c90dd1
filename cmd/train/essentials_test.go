package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/earlystop"
)

// TestEssentialsBadInput: bad values of -lr-schedule, -weight-decay,
// -clip-norm, -validation and -early-stop get one line naming the flag,
// exit status 2 (1 once the data is read), and change no file.
func TestEssentialsBadInput(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 20, nil)
	writeIDX(t, dir, "t10k", 10, nil)
	// a run that stopped early, and the best model of another
	stopped := filepath.Join(dir, "stopped.ckpt")
	if err := run(context.Background(), []string{"-data", dir, "-model", "mlp", "-epochs", "4", "-optimizer", "sgd", "-lr", "1e-12",
		"-validation", "5", "-early-stop", "1", "-checkpoint", stopped}, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	lone := filepath.Join(dir, "lone.ckpt")
	os.WriteFile(bestPath(lone), []byte("a best model"), 0o644)
	const usage, failure = 2, 1
	for _, c := range []struct {
		args   []string
		want   string
		status int
	}{
		{[]string{"-lr-schedule", "sqrt"}, `-lr-schedule "sqrt": unknown schedule "sqrt" (want constant, step:EVERY:GAMMA`, usage},
		{[]string{"-lr-schedule", "step:100"}, `-lr-schedule "step:100": step: gamma is missing (syntax step:EVERY:GAMMA)`, usage},
		{[]string{"-lr-schedule", "cosine:warmup=-1"}, `cosine: warmup "-1": want a whole number ≥ 0`, usage},
		{[]string{"-weight-decay", "-0.1"}, "-weight-decay -0.1: want a finite λ ≥ 0", usage},
		{[]string{"-clip-norm", "NaN"}, "-clip-norm NaN: want a finite norm ≥ 0", usage},
		{[]string{"-validation", "-3"}, "-validation -3: want a number of examples ≥ 0", usage},
		{[]string{"-early-stop", "3"}, "-early-stop 3 needs -validation N", usage},
		{[]string{"-early-stop", "-1", "-validation", "5"}, "-early-stop -1: want a number of epochs ≥ 0", usage},
		{[]string{"-validation", "20"}, "-validation 20: the training split in " + dir + " has only 20 examples", failure},
		{[]string{"-validation", "5", "-early-stop", "2", "-checkpoint", lone}, "-checkpoint " + bestPath(lone) + " already exists: add -resume", failure},
		{[]string{"-resume", "-checkpoint", stopped, "-epochs", "9"}, "checkpoint " + stopped + " stopped early after epoch 2: no better validation accuracy in 1 epoch (the best", failure},
	} {
		args := append([]string{"-data", dir, "-model", "mlp"}, c.args...)
		before := treeHashes(t, dir)
		err := run(context.Background(), args, io.Discard, io.Discard, quietLog())
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v; want one line with %q", c.args, err, c.want)
			continue
		}
		if status, stderr := runMain(t, args...); status != c.status || strings.Contains(stderr, "panic") {
			t.Errorf("%v: exit status %d, want %d (stderr %q)", c.args, status, c.status, stderr)
		}
		if d := diffTrees(before, treeHashes(t, dir)); d != "" {
			t.Errorf("%v: files changed: %s", c.args, d)
		}
	}
}

// TestEarlyStop: with a rate too small to change any prediction the
// validation accuracy never improves on epoch 1's, so -early-stop 2 stops
// after epoch 3; CHECKPOINT.best holds the model after epoch 1, the same
// as a run of one epoch, and the checkpoint the one after epoch 3.
func TestEarlyStop(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 30, brightPixels)
	writeIDX(t, dir, "t10k", 10, brightPixels)
	args := func(epochs, ck string) []string {
		return []string{"-data", dir, "-model", "mlp", "-optimizer", "sgd", "-lr", "1e-12", "-batch", "5",
			"-validation", "10", "-early-stop", "2", "-epochs", epochs, "-checkpoint", filepath.Join(dir, ck)}
	}
	var out bytes.Buffer
	if err := run(context.Background(), args("10", "run.ckpt"), &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	best := bestPath(filepath.Join(dir, "run.ckpt"))
	if !strings.Contains(out.String(), "epoch 1: validation accuracy") || strings.Contains(out.String(), "epoch 4:") ||
		!strings.Contains(out.String(), "stopped early after epoch 3: no better validation accuracy in 2 epochs; the best, ") ||
		!strings.Contains(out.String(), "after epoch 1, is in "+best) {
		t.Errorf("output:\n%s", out.String())
	}
	if err := run(context.Background(), args("1", "one.ckpt"), io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	load := func(path string) *graph.Checkpoint {
		ck, err := graph.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		return ck
	}
	b, one, last := load(best), load(bestPath(filepath.Join(dir, "one.ckpt"))), load(filepath.Join(dir, "run.ckpt"))
	if !reflect.DeepEqual(b.Params, one.Params) || b.Meta["epoch"] != "1" {
		t.Errorf("the best model is of epoch %s, not the model after epoch 1", b.Meta["epoch"])
	}
	if last.Meta["epoch"] != "3" || last.Meta[earlystop.AtKey("epoch")] != "1" || last.Meta[earlystop.SinceKey] != "2" {
		t.Errorf("checkpoint at epoch %s, best epoch %s, %s since; want 3, 1, 2", last.Meta["epoch"], last.Meta[earlystop.AtKey("epoch")], last.Meta[earlystop.SinceKey])
	}
	// -eval takes the best model's file like any checkpoint
	out.Reset()
	if err := run(context.Background(), []string{"-data", dir, "-eval", "-checkpoint", best}, &out, io.Discard, quietLog()); err != nil || !strings.Contains(out.String(), "test accuracy") {
		t.Errorf("-eval of the best model: %v %q", err, out.String())
	}
}

// TestEssentialsResumeIdentical: a run with a cosine schedule with
// warm-up, AdamW's weight decay, clipping and early stopping, stopped in
// the middle of an epoch twice and resumed with -resume alone, ends with
// the parameters, optimizer state, metadata and best model of a run never
// stopped, bit for bit; the rate of the last step is the schedule's.
func TestEssentialsResumeIdentical(t *testing.T) {
	dir := t.TempDir()
	const examples, held, batch, epochs, lr = 40, 8, 8, 3, 0.01
	writeIDX(t, dir, "train", examples, brightPixels)
	writeIDX(t, dir, "t10k", 10, brightPixels)
	args := func(ck string) []string {
		return []string{"-data", dir, "-model", "mlp", "-epochs", fmt.Sprint(epochs), "-batch", fmt.Sprint(batch), "-checkpoint", filepath.Join(dir, ck),
			"-optimizer", "adamw", "-lr", fmt.Sprint(lr), "-weight-decay", "0.1", "-lr-schedule", "cosine:warmup=3:min=1e-4", "-clip-norm", "0.5",
			"-validation", fmt.Sprint(held), "-early-stop", "3"}
	}
	var wholeOut, out bytes.Buffer
	if err := run(context.Background(), args("whole.ckpt"), &wholeOut, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if err := run(interruptAfter(3), args("split.ckpt"), &out, io.Discard, quietLog()); err == nil {
		t.Fatal("not interrupted")
	}
	resume := []string{"-data", dir, "-checkpoint", filepath.Join(dir, "split.ckpt"), "-resume"}
	if err := run(interruptAfter(5), resume, &out, io.Discard, quietLog()); err == nil {
		t.Fatal("not interrupted")
	}
	if err := run(context.Background(), resume, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if out.String() != wholeOut.String() {
		t.Errorf("resumed run printed\n%s\nthe whole run\n%s", out.String(), wholeOut.String())
	}
	for _, name := range []string{"whole.ckpt", "split.ckpt"} {
		if _, err := os.Stat(bestPath(filepath.Join(dir, name))); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []func(string) string{func(p string) string { return p }, bestPath} {
		a, err := graph.LoadCheckpoint(f(filepath.Join(dir, "whole.ckpt")))
		if err != nil {
			t.Fatal(err)
		}
		b, err := graph.LoadCheckpoint(f(filepath.Join(dir, "split.ckpt")))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Params, b.Params) || !reflect.DeepEqual(a.Optimizer, b.Optimizer) || !reflect.DeepEqual(a.Meta, b.Meta) {
			t.Errorf("%s: the stopped and resumed run differs from the whole one", f("checkpoint"))
		}
	}
	ck, _ := graph.LoadCheckpoint(filepath.Join(dir, "whole.ckpt"))
	steps := epochs * ((examples - held + batch - 1) / batch)
	sched, err := graph.ParseSchedule("cosine:warmup=3:min=1e-4", steps)
	if err != nil {
		t.Fatal(err)
	}
	if ck.Optimizer.Kind != "adamw" || ck.Optimizer.Step != int64(steps) || ck.Optimizer.LR != sched.Rate(lr, steps) {
		t.Errorf("optimizer %s after %d steps at rate %g; want adamw after %d at the schedule's %g", ck.Optimizer.Kind, ck.Optimizer.Step, ck.Optimizer.LR, steps, sched.Rate(lr, steps))
	}
}
