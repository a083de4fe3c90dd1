package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// TestTrainAccuracy: with -train-acc every epoch's line, log and
// metrics.json carry the accuracy on the training examples (the first
// -limit, not the validation ones), equal to the accuracy of the saved
// model on those examples computed here by hand; a run resumed without
// the flag goes on measuring it (the checkpoint records it), and a run
// without it measures nothing more than before.
func TestTrainAccuracy(t *testing.T) {
	const examples, limit, held = 40, 24, 8
	root := t.TempDir()
	dir := idxDir(t, root, examples, brightPixels)
	ck := filepath.Join(root, "run.ckpt")
	out := filepath.Join(root, "out")
	args := []string{"-data", dir, "-model", "mlp", "-hidden", "32", "-batch", "8", "-lr", "0.01", "-epochs", "3",
		"-limit", fmt.Sprint(limit), "-validation", fmt.Sprint(held), "-train-acc", "-grad-norms", "100", "-out", out, "-checkpoint", ck}
	var stdout bytes.Buffer
	if err := run(context.Background(), args, &stdout, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`(?m)^epoch (\d+): training accuracy ([0-9.]+)%, validation accuracy ([0-9.]+)%, test accuracy ([0-9.]+)%$`)
	lines := line.FindAllStringSubmatch(stdout.String(), -1)
	if len(lines) != 3 {
		t.Fatalf("stdout has %d epoch lines with three accuracies, want 3:\n%s", len(lines), stdout.String())
	}
	rec := gradRecord(t, out)
	if len(rec.Epochs) != 3 {
		t.Fatalf("metrics.json has %d epochs, want 3", len(rec.Epochs))
	}
	for i, e := range rec.Epochs {
		if e.TrainAccuracy == nil || e.ValidAccuracy == nil {
			t.Fatalf("epoch %d of metrics.json: training accuracy %v, validation accuracy %v; want both", i+1, e.TrainAccuracy, e.ValidAccuracy)
		}
		printed, _ := strconv.ParseFloat(lines[i][2], 64)
		if got := fmt.Sprintf("%.2f", 100*float64(*e.TrainAccuracy)); got != fmt.Sprintf("%.2f", printed) {
			t.Errorf("epoch %d: metrics.json's training accuracy %s%%, printed %s%%", i+1, got, lines[i][2])
		}
	}

	// the accuracy of the final model on the first limit examples, by hand
	want := accuracyOn(t, ck, dir, limit)
	if got := float64(*rec.Epochs[2].TrainAccuracy); got != want {
		t.Errorf("training accuracy after epoch 3 %g; the model on the first %d examples: %g", got, limit, want)
	}

	// resumed without -train-acc: it still measures
	stdout.Reset()
	resume := []string{"-data", dir, "-resume", "-checkpoint", ck, "-epochs", "4"}
	if err := run(context.Background(), resume, &stdout, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^epoch 4: training accuracy [0-9.]+%, validation`).MatchString(stdout.String()) {
		t.Errorf("resumed run printed %q; want the training accuracy of epoch 4", stdout.String())
	}

	// -eval and -find-lr train no epochs to measure; -eval of the
	// checkpoint, which records -train-acc, is fine
	for _, bad := range [][]string{{"-eval", "-checkpoint", ck}, {"-find-lr", "-out", filepath.Join(root, "lr")}} {
		args := append([]string{"-data", dir, "-model", "mlp", "-train-acc"}, bad...)
		err := run(context.Background(), args, io.Discard, io.Discard, quietLog())
		if want := "-train-acc measures the training examples after every epoch; -eval and -find-lr train no epochs"; err == nil || err.Error() != want {
			t.Errorf("%v: error %v, want %q", bad, err, want)
		}
		if status, _ := runMain(t, args...); status != 2 {
			t.Errorf("%v: exit status %d, want 2", bad, status)
		}
	}
	if err := run(context.Background(), []string{"-data", dir, "-eval", "-checkpoint", ck}, io.Discard, io.Discard, quietLog()); err != nil {
		t.Errorf("-eval of a checkpoint trained with -train-acc: %v", err)
	}

	// without the flag, the epoch line and the record are as before
	stdout.Reset()
	plain := filepath.Join(root, "plain")
	if err := run(context.Background(), []string{"-data", dir, "-model", "mlp", "-epochs", "1", "-grad-norms", "100", "-out", plain}, &stdout, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(plain, metricsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^epoch 1: test accuracy [0-9.]+%\n$`).MatchString(stdout.String()) ||
		strings.Contains(string(b), "train_accuracy") || strings.Contains(string(b), "valid_accuracy") {
		t.Errorf("run without -train-acc printed %q and recorded\n%s", stdout.String(), b)
	}
}

// accuracyOn returns the accuracy of the model in checkpoint ck (an mlp
// with one hidden layer of 32) on the first n training examples in dir.
func accuracyOn(t *testing.T, ck, dir string, n int) float64 {
	t.Helper()
	snap, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	m, err := models.New("mlp", models.Spec{Hidden: []int{32}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := models.NewTrainer(m, graph.NewSGD(1), models.TrainerOptions{Dtype: tensor.Float64})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Params.Restore(snap, m.Name()); err != nil {
		t.Fatal(err)
	}
	set, err := data.LoadMNIST(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	x, labels := make([]float64, n*784), make([]float64, n)
	set.FillBatch(idx, x, labels)
	logits, err := tr.Predict(x, n)
	if err != nil {
		t.Fatal(err)
	}
	return graph.Accuracy(logits, 10, labels)
}
