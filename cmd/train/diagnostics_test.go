package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// TestDiagnosticsBadInput: bad values of -dropout, -find-lr and
// -grad-norms, and their files already in -out, are refused with one line
// (exit status 2 for a bad command line, 1 otherwise), before any data is
// read, and change no file.
func TestDiagnosticsBadInput(t *testing.T) {
	root := t.TempDir()
	good := idxDir(t, root, 20, nil)
	missing := filepath.Join(root, "nodata")
	// -out directories holding the files of an earlier range test and of
	// an earlier gradient record
	lrOut, gnOut := filepath.Join(root, "lr"), filepath.Join(root, "gn")
	for dir, file := range map[string]string{lrOut: lrFinderPlot, gnOut: metricsFile} {
		os.Mkdir(dir, 0o755)
		os.WriteFile(filepath.Join(dir, file), []byte("earlier"), 0o644)
	}
	// a run stopped mid-epoch whose -out holds another model's record
	ck := filepath.Join(root, "mid.ckpt")
	if err := run(interruptAfter(1), []string{"-data", good, "-model", "mlp", "-batch", "4", "-checkpoint", ck}, io.Discard, io.Discard, quietLog()); err == nil {
		t.Fatal("the run was not interrupted")
	}
	otherOut := filepath.Join(root, "other")
	os.Mkdir(otherOut, 0o755)
	os.WriteFile(filepath.Join(otherOut, metricsFile), []byte(`{"model": "conv4-1x28x28-64filters-10classes", "grad_norms": {"params": ["conv1.w"]}}`), 0o644)
	aFile := filepath.Join(root, "afile")
	os.WriteFile(aFile, []byte("a file"), 0o644)

	const usage, failure = 2, 1
	cases := []struct {
		name   string
		args   []string
		want   string
		status int
	}{
		{"dropout 1", []string{"-dropout", "1"}, "-dropout 1: want a rate in [0, 1)", usage},
		{"negative dropout", []string{"-dropout", "-0.1"}, "-dropout -0.1: want a rate in [0, 1)", usage},
		{"NaN dropout", []string{"-dropout", "NaN"}, "-dropout NaN: want a rate in [0, 1)", usage},
		{"find-lr with a checkpoint", []string{"-find-lr", "-checkpoint", ck}, "-find-lr trains from the initial weights and writes no checkpoint", usage},
		{"find-lr with -eval", []string{"-find-lr", "-eval", "-checkpoint", ck}, "leave out -checkpoint, -resume and -eval", usage},
		{"find-lr with -export-torch", []string{"-find-lr", "-export-torch", filepath.Join(root, "w.npz")}, "nothing for -export-torch to write", usage},
		{"one step", []string{"-find-lr", "-find-lr-steps", "1"}, "-find-lr-steps 1: want at least 2", usage},
		{"zero lowest rate", []string{"-find-lr", "-find-lr-min", "0"}, "-find-lr-min 0: want a positive, finite", usage},
		{"highest rate below the lowest", []string{"-find-lr", "-find-lr-min", "0.1", "-find-lr-max", "0.01"}, "-find-lr-max 0.01: want a finite learning rate above -find-lr-min 0.1", usage},
		{"infinite highest rate", []string{"-find-lr", "-find-lr-max", "Inf"}, "-find-lr-max +Inf", usage},
		{"negative interval", []string{"-grad-norms", "-5"}, "-grad-norms -5: want a number of steps", usage},
		{"find-lr and grad-norms", []string{"-find-lr", "-grad-norms", "10"}, "exclude each other", usage},
		{"grad-norms with -eval", []string{"-grad-norms", "10", "-eval", "-checkpoint", ck}, "-eval does not train", usage},
		{"empty out", []string{"-find-lr", "-out="}, "-out is empty", usage},
		{"overwrite with nothing to replace", []string{"-overwrite"}, "-overwrite needs -checkpoint FILE, -find-lr or -grad-norms", usage},
		// files in -out are checked before the data is looked for
		{"range test over an earlier one", []string{"-data", missing, "-find-lr", "-out", lrOut}, "-out " + filepath.Join(lrOut, lrFinderPlot) + " already exists: add -overwrite", failure},
		{"record over an earlier one", []string{"-data", missing, "-grad-norms", "5", "-out", gnOut}, "-out " + filepath.Join(gnOut, metricsFile) + " already exists", failure},
		{"out under a file", []string{"-data", missing, "-find-lr", "-out", filepath.Join(aFile, "sub")}, "-out " + filepath.Join(aFile, "sub"), failure},
		{"resume over another run's record", []string{"-data", missing, "-resume", "-checkpoint", ck, "-grad-norms", "5", "-out", otherOut}, "is the record of a run of conv4", failure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := treeHashes(t, root)
			err := run(context.Background(), c.args, io.Discard, io.Discard, quietLog())
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v; want one line mentioning %q", err, c.want)
			}
			status, stderr := runMain(t, c.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			if last := lines[len(lines)-1]; status != c.status || !strings.HasPrefix(last, "train: ") || !strings.Contains(last, c.want) {
				t.Errorf("main: exit status %d, last line %q; want status %d and a line \"train: ...%s...\"", status, last, c.status, c.want)
			}
			if d := diffTrees(before, treeHashes(t, root)); d != "" {
				t.Errorf("files changed: %s", d)
			}
		})
	}
}

// idxDir writes a small idx data set into root/data: n training and 10
// test images (see writeIDX), and returns the directory.
func idxDir(t *testing.T, root string, n int, mutate func(img, lbl []byte) ([]byte, []byte)) string {
	t.Helper()
	dir := filepath.Join(root, "data")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	writeIDX(t, dir, "train", n, mutate)
	writeIDX(t, dir, "t10k", 10, mutate)
	return dir
}

// readJSON decodes the JSON file path into v.
func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// checkPNG fails unless path is a PNG image.
func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := png.Decode(f); err != nil {
		t.Errorf("%s: %v", path, err)
	}
}

// TestFindLR runs the range test on a small synthetic data set: it prints
// a suggestion inside the swept range, equal to the rate of the lowest
// smoothed loss in lr_finder.json divided by 10 (or the lowest rate), the
// rates grow exponentially, the sweep stops once the loss diverges, and
// the plot is a PNG; no checkpoint or other file is written.
func TestFindLR(t *testing.T) {
	root := t.TempDir()
	dir := idxDir(t, root, 40, brightPixels)
	out := filepath.Join(root, "out")
	const steps, lo, hi = 80, 1e-5, 100.0
	args := []string{"-data", dir, "-model", "mlp", "-batch", "8", "-find-lr", "-find-lr-steps", fmt.Sprint(steps),
		"-find-lr-min", fmt.Sprint(lo), "-find-lr-max", fmt.Sprint(hi), "-out", out, "-dropout", "0.2"}
	var stdout bytes.Buffer
	if err := run(context.Background(), args, &stdout, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^suggested learning rate (\S+) \(`).FindStringSubmatch(stdout.String())
	if m == nil {
		t.Fatalf("output %q: want a line \"suggested learning rate ...\"", stdout.String())
	}
	printed, _ := strconv.ParseFloat(m[1], 64)
	var rec lrFinderRecord
	readJSON(t, filepath.Join(out, lrFinderJSON), &rec)
	if !(rec.Suggested >= lo && rec.Suggested <= hi) {
		t.Errorf("suggestion %g outside the sweep [%g, %g]", rec.Suggested, lo, hi)
	}
	if want := max(float64(rec.Lowest.LR)/10, lo); rec.Suggested != want {
		t.Errorf("suggestion %g; want the lowest smoothed loss's rate %g / 10", rec.Suggested, rec.Lowest.LR)
	}
	if math.Abs(printed-rec.Suggested) > 0.05*rec.Suggested {
		t.Errorf("printed %g, recorded %g", printed, rec.Suggested)
	}
	if n := len(rec.Points); n < 2 || n > steps || rec.Diverged != (n < steps) {
		t.Errorf("%d points of %d steps, diverged %v", n, steps, rec.Diverged)
	}
	best := math.Inf(1)
	for i, p := range rec.Points {
		if want := lo * math.Pow(hi/lo, float64(i)/(steps-1)); p.Step != i || math.Abs(p.LR-want) > 1e-9*want {
			t.Errorf("point %d: step %d at rate %g, want rate %g", i, p.Step, p.LR, want)
		}
		best = min(best, float64(p.Smoothed))
	}
	if float64(rec.Lowest.Smoothed) != best {
		t.Errorf("lowest smoothed loss %g, but the points reach %g", rec.Lowest.Smoothed, best)
	}
	if rec.Config["dropout"] != "0.2" || rec.Examples != 40 {
		t.Errorf("record of config %v on %d examples", rec.Config, rec.Examples)
	}
	checkPNG(t, filepath.Join(out, lrFinderPlot))
	ents, _ := os.ReadDir(out)
	if len(ents) != 2 {
		t.Errorf("%d files in -out, want %s and %s", len(ents), lrFinderPlot, lrFinderJSON)
	}
}

// gradRecord reads metrics.json in dir.
func gradRecord(t *testing.T, dir string) metricsRecord {
	t.Helper()
	var rec metricsRecord
	readJSON(t, filepath.Join(dir, metricsFile), &rec)
	return rec
}

// TestGradNormsRecord trains 2 epochs of 5 batches with -grad-norms 3: the
// record holds steps 0, 3, 6 and 9, every parameter's norms, and both
// epochs; the norms of step 0 are those of a trainer built alike taking
// its first step on the first batch. A run stopped mid-epoch and resumed
// with -grad-norms again ends with the same record as the whole run.
func TestGradNormsRecord(t *testing.T) {
	const examples, batch, every = 40, 8, 3
	root := t.TempDir()
	dir := idxDir(t, root, examples, brightPixels)
	args := func(out, ck string) []string {
		return []string{"-data", dir, "-model", "mlp", "-hidden", "16,16", "-epochs", "2", "-batch", fmt.Sprint(batch),
			"-grad-norms", fmt.Sprint(every), "-out", out, "-checkpoint", ck}
	}
	whole := filepath.Join(root, "whole")
	if err := run(context.Background(), args(whole, filepath.Join(root, "whole.ckpt")), io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	rec := gradRecord(t, whole)
	steps := 2 * (examples / batch)
	var want []int64
	for s := 0; s < steps; s += every {
		want = append(want, int64(s))
	}
	if !reflect.DeepEqual(rec.GradNorms.Steps, want) || len(rec.Epochs) != 2 || rec.GradNorms.Every != every {
		t.Fatalf("record of steps %v (every %d) and %d epochs; want steps %v and 2 epochs", rec.GradNorms.Steps, rec.GradNorms.Every, len(rec.Epochs), want)
	}

	// step 0, computed by a trainer of its own
	m, err := models.New("mlp", models.Spec{Hidden: []int{16, 16}})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := models.NewTrainer(m, graph.NewAdam(1e-3), models.TrainerOptions{Seed: 1, Dtype: tensor.Float64})
	if err != nil {
		t.Fatal(err)
	}
	set, err := data.LoadMNIST(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	idx := data.NewBatcher(examples, batch, 1).Batches(0)[0]
	x, labels := make([]float64, len(idx)*784), make([]float64, len(idx))
	set.FillBatch(idx, x, labels)
	if _, err := tr.Step(x, labels); err != nil {
		t.Fatal(err)
	}
	if names := rec.GradNorms.Params; len(names) != len(tr.Params.List) {
		t.Fatalf("record of parameters %v", names)
	}
	for i, norm := range tr.GradNorms() {
		name := tr.Params.List[i].Name
		got := rec.GradNorms.Norms[name]
		if len(got) != len(want) || float64(got[0]) != norm || norm == 0 {
			t.Errorf("%s: %d norms, the first %g; want %d, the first %g", name, len(got), got[0], len(want), norm)
		}
	}
	checkPNG(t, filepath.Join(whole, gradNormPlot))

	// stopped after 7 steps (epoch 2), resumed
	stopped, ck := filepath.Join(root, "stopped"), filepath.Join(root, "stopped.ckpt")
	if err := run(interruptAfter(7), args(stopped, ck), io.Discard, io.Discard, quietLog()); err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("stopping the run: %v", err)
	}
	if got := gradRecord(t, stopped); !reflect.DeepEqual(got.GradNorms.Steps, []int64{0, 3, 6}) || len(got.Epochs) != 1 {
		t.Errorf("stopped after 7 steps: record of steps %v and %d epochs; want 0, 3, 6 and 1", got.GradNorms.Steps, len(got.Epochs))
	}
	resume := []string{"-data", dir, "-resume", "-checkpoint", ck, "-grad-norms", fmt.Sprint(every), "-out", stopped}
	if err := run(context.Background(), resume, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	got := gradRecord(t, stopped)
	if !reflect.DeepEqual(got.GradNorms, rec.GradNorms) {
		t.Errorf("the stopped and resumed run recorded\n%+v\nthe whole run\n%+v", got.GradNorms, rec.GradNorms)
	}
	for i := range rec.Epochs {
		a, b := rec.Epochs[i], got.Epochs[i]
		a.Seconds, b.Seconds = 0, 0
		if a != b {
			t.Errorf("epoch %d: whole run %+v, stopped and resumed %+v", i+1, a, b)
		}
	}
}

// TestDropoutResume: a run with -dropout stopped mid-epoch and resumed
// with -resume alone ends with the parameters of the run never stopped
// (the checkpoint records the rate, and a step's masks depend only on the
// seed and the step); the same run without dropout ends elsewhere.
func TestDropoutResume(t *testing.T) {
	root := t.TempDir()
	dir := idxDir(t, root, 40, brightPixels)
	args := func(ck, dropout string) []string {
		return []string{"-data", dir, "-model", "mlp", "-epochs", "2", "-batch", "8", "-dropout", dropout, "-checkpoint", ck}
	}
	load := func(path string) *graph.Checkpoint {
		c, err := graph.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	whole, plain, stopped := filepath.Join(root, "whole.ckpt"), filepath.Join(root, "plain.ckpt"), filepath.Join(root, "stopped.ckpt")
	for ck, rate := range map[string]string{whole: "0.5", plain: "0"} {
		if err := run(context.Background(), args(ck, rate), io.Discard, io.Discard, quietLog()); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(interruptAfter(3), args(stopped, "0.5"), io.Discard, io.Discard, quietLog()); err == nil {
		t.Fatal("the run was not interrupted")
	}
	if err := run(context.Background(), []string{"-data", dir, "-resume", "-checkpoint", stopped}, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	a, b, p := load(whole), load(stopped), load(plain)
	if a.Meta["dropout"] != "0.5" || b.Meta["dropout"] != "0.5" {
		t.Errorf("checkpoints record dropout %q and %q, want 0.5", a.Meta["dropout"], b.Meta["dropout"])
	}
	if !reflect.DeepEqual(a.Params, b.Params) || !reflect.DeepEqual(a.Optimizer, b.Optimizer) {
		t.Errorf("with dropout, the stopped and resumed run ends with other parameters than the whole run")
	}
	if reflect.DeepEqual(a.Params, p.Params) {
		t.Errorf("dropout 0.5 ended with the parameters of the run without dropout")
	}
}
