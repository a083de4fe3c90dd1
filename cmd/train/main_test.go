package main

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMain lets the tests run the real main() in a child process (see
// mainCommand).
func TestMain(m *testing.M) {
	if os.Getenv("METAGON_TRAIN_MAIN") == "1" {
		os.Args = append([]string{"train"}, strings.FieldsFunc(os.Getenv("METAGON_TRAIN_ARGS"), func(r rune) bool { return r == '\n' })...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// mainCommand returns a command that runs the real main() with args in a
// child process (the test binary, see TestMain).
func mainCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "METAGON_TRAIN_MAIN=1", "METAGON_TRAIN_ARGS="+strings.Join(args, "\n"))
	return cmd
}

// runMain runs main() with args in a child process and returns its exit
// status and stderr.
func runMain(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := mainCommand(args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	return 0, stderr.String()
}

// treeHashes returns the SHA-256 of every file under root, and "dir" for
// every directory, keyed by path, to check that a command changed nothing.
func treeHashes(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			out[path] = "dir"
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		out[path] = fmt.Sprintf("%x", sha256.Sum256(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// diffTrees describes how two treeHashes results differ, or returns "".
func diffTrees(before, after map[string]string) string {
	var diffs []string
	for path, h := range before {
		switch a, ok := after[path]; {
		case !ok:
			diffs = append(diffs, "removed "+path)
		case a != h:
			diffs = append(diffs, "changed "+path)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			diffs = append(diffs, "created "+path)
		}
	}
	sort.Strings(diffs)
	return strings.Join(diffs, "; ")
}

// stopAfter is a context that reports cancellation, as on Ctrl-C, from the
// (n+1)-th call of Err on, calling onStop (if set) then. train checks
// ctx.Err() once before each batch, so a run under stopAfter stops after
// exactly n batches.
type stopAfter struct {
	context.Context
	n      int
	onStop func()
}

func (s *stopAfter) Err() error {
	if s.n > 0 {
		s.n--
		return nil
	}
	if s.onStop != nil {
		s.onStop()
		s.onStop = nil
	}
	return context.Canceled
}

// interruptAfter returns a context under which a run stops after n
// batches.
func interruptAfter(n int) *stopAfter {
	return &stopAfter{Context: context.Background(), n: n}
}

// brightPixels fills the images with a pattern, so that the weights of
// the first layer get gradients (the images of writeIDX are black).
func brightPixels(i, l []byte) ([]byte, []byte) {
	for k := 16; k < len(i); k++ {
		i[k] = byte(k * 7)
	}
	return i, l
}

// saveSnapshot saves the freshly initialised parameters of m to path.
func saveSnapshot(t *testing.T, m models.Model, path string) {
	t.Helper()
	p := graph.NewParams(G.NewGraph(), tensor.Float64)
	if err := m.Init(p, 1); err != nil {
		t.Fatal(err)
	}
	if err := graph.SaveCheckpoint(path, p.Snapshot(m.Name())); err != nil {
		t.Fatal(err)
	}
}

// writeIDX writes a small idx data set (images and labels) into dir.
func writeIDX(t *testing.T, dir, split string, n int, mutate func(img, lbl []byte) ([]byte, []byte)) {
	t.Helper()
	img := new(bytes.Buffer)
	binary.Write(img, binary.BigEndian, []uint32{0x803, uint32(n), 28, 28})
	img.Write(make([]byte, n*28*28))
	lbl := new(bytes.Buffer)
	binary.Write(lbl, binary.BigEndian, []uint32{0x801, uint32(n)})
	for i := 0; i < n; i++ {
		lbl.WriteByte(byte(i % 10))
	}
	ib, lb := img.Bytes(), lbl.Bytes()
	if mutate != nil {
		ib, lb = mutate(ib, lb)
	}
	write := func(name string, b []byte) {
		f, err := os.Create(filepath.Join(dir, name+".gz"))
		if err != nil {
			t.Fatal(err)
		}
		zw := gzip.NewWriter(f)
		zw.Write(b)
		zw.Close()
		f.Close()
	}
	write(split+"-images-idx3-ubyte", ib)
	write(split+"-labels-idx1-ubyte", lb)
}

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

// TestBadInput runs the command on broken inputs: each must fail with one
// clear line naming the problem, never a panic. Each row runs twice: by
// run, for the error, and by main in a child process, for the exit status
// (2 for a bad command line, 1 otherwise) and stderr. Files are put in
// place first (data sets, checkpoints, a file, a directory); no row may
// change, remove or create any of them.
func TestBadInput(t *testing.T) {
	root := t.TempDir()
	dataSet := func(name string, n int, mutate func(img, lbl []byte) ([]byte, []byte)) string {
		dir := filepath.Join(root, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeIDX(t, dir, "train", n, mutate)
		writeIDX(t, dir, "t10k", 10, mutate)
		return dir
	}
	good := dataSet("good", 20, nil)
	truncated := dataSet("truncated", 20, func(i, l []byte) ([]byte, []byte) { return i[:len(i)-100], l })
	badMagic := dataSet("badmagic", 20, func(i, l []byte) ([]byte, []byte) { i[3] = 0x99; return i, l })
	// bright images, so that a huge learning rate overflows the weights
	bright := dataSet("bright", 40, brightPixels)
	// images of 14×14 pixels, which no MNIST model takes
	const side = 14
	small := dataSet("small", 20, func(i, l []byte) ([]byte, []byte) {
		n := int(binary.BigEndian.Uint32(i[4:]))
		binary.BigEndian.PutUint32(i[8:], side)
		binary.BigEndian.PutUint32(i[12:], side)
		return i[:16+n*side*side], l
	})

	ckDir := filepath.Join(root, "ck")
	os.Mkdir(ckDir, 0o755)
	// a checkpoint of the seed network, to be loaded into another model
	seedCk := filepath.Join(ckDir, "seed.ckpt")
	saveSnapshot(t, models.SeedNetwork(), seedCk)
	// a checkpoint of a model that does not take MNIST images
	sineCk := filepath.Join(ckDir, "sine.ckpt")
	sine := models.SinusoidMLP()
	saveSnapshot(t, sine, sineCk)
	// a checkpoint of a model that is not registered
	alienCk := filepath.Join(ckDir, "alien.ckpt")
	saveSnapshot(t, &models.MLP{Sizes: []int{784, 7, 10}, Hidden: models.ReLUActivation}, alienCk)
	// a finished run of one epoch, and a run stopped after two batches
	doneCk := filepath.Join(ckDir, "done.ckpt")
	if err := run(context.Background(), []string{"-data", good, "-model", "mlp", "-epochs", "1", "-checkpoint", doneCk}, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	midCk := filepath.Join(ckDir, "mid.ckpt")
	const midBatch = 4
	err := run(interruptAfter(2), []string{"-data", good, "-model", "mlp", "-epochs", "1", "-batch", fmt.Sprint(midBatch), "-checkpoint", midCk}, io.Discard, io.Discard, quietLog())
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Fatalf("stopping a run: %v", err)
	}
	garbage := filepath.Join(ckDir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("not a checkpoint at all"), 0o644)
	aFile := filepath.Join(root, "afile")
	os.WriteFile(aFile, []byte("a file"), 0o644)
	aDir := filepath.Join(root, "adir")
	os.Mkdir(aDir, 0o755)
	missing := filepath.Join(good, "nope")

	// the registered models that take MNIST, and why the sinusoid one does not
	var fit []string
	for _, name := range models.Names() {
		m, _ := models.New(name, models.Spec{})
		if graph.Size(m.InputShape()) == 28*28 && m.OutputSize() == 10 {
			fit = append(fit, name)
		}
	}
	misfit := fmt.Sprintf("takes inputs of shape %v and has %d output; MNIST needs 784 inputs (1×28×28) and 10 classes: use one of %s",
		sine.InputShape(), sine.OutputSize(), strings.Join(fit, ", "))

	const usage, failure = 2, 1 // exit statuses
	cases := []struct {
		name   string
		args   []string
		want   string // a fragment of the error
		status int
	}{
		{"missing data dir", []string{"-data", missing}, "does not exist", failure},
		{"truncated idx", []string{"-data", truncated, "-epochs", "1"}, "truncated", failure},
		{"wrong magic", []string{"-data", badMagic, "-epochs", "1"}, "magic", failure},
		{"images of another size", []string{"-data", small, "-epochs", "1"}, fmt.Sprintf("are %d×%d", side, side), failure},
		{"checkpoint of another model", []string{"-data", good, "-model", "mlp", "-eval", "-checkpoint", seedCk}, "is for model", failure},
		{"resume a checkpoint of another model", []string{"-data", good, "-model", "mlp", "-resume", "-checkpoint", seedCk}, "is for model", failure},
		{"corrupt checkpoint", []string{"-data", good, "-eval", "-checkpoint", garbage}, "not a metagon checkpoint", failure},
		{"missing checkpoint", []string{"-data", good, "-eval", "-checkpoint", filepath.Join(ckDir, "none")}, "does not exist", failure},
		{"eval without checkpoint", []string{"-data", good, "-eval"}, "need -checkpoint", usage},
		{"unknown model", []string{"-data", good, "-model", "resnet"}, "unknown model", usage},
		{"unknown optimizer", []string{"-data", good, "-optimizer", "lbfgs"}, "unknown optimizer", usage},
		{"unknown loss", []string{"-data", good, "-loss", "hinge"}, "-loss \"hinge\"", usage},
		{"bad dtype", []string{"-data", good, "-dtype", "int8"}, "want float64 or float32", usage},
		{"unknown activation", []string{"-data", good, "-model", "mlp", "-activation", "swish"}, "-activation \"swish\": want relu, sigmoid or tanh", usage},
		{"batch norm on conv4", []string{"-data", missing, "-model", "conv4", "-batch-norm"}, "are an MLP's", usage},
		{"diverging learning rate", []string{"-data", bright, "-model", "mlp", "-lr", "1e300", "-optimizer", "sgd", "-batch", "20"}, "loss is", failure},
		// the model must take MNIST: refused before the data is looked for
		{"model not for MNIST", []string{"-data", missing, "-model", "sinusoid-mlp"}, "-model sinusoid-mlp " + misfit, usage},
		{"checkpoint of a model not for MNIST", []string{"-data", missing, "-eval", "-checkpoint", sineCk}, "holds model " + sine.Name() + ", which " + misfit, failure},
		{"checkpoint of an unregistered model", []string{"-data", missing, "-eval", "-checkpoint", alienCk}, "none of the registered models", failure},
		// numbers that mean nothing
		{"negative limit", []string{"-data", good, "-limit", "-5"}, "-limit -5: want a positive number", usage},
		{"negative epochs", []string{"-data", good, "-epochs", "-1"}, "-epochs -1: want a positive number", usage},
		{"negative batch", []string{"-data", good, "-batch", "-3"}, "-batch -3: want a positive", usage},
		{"zero eval batch", []string{"-data", good, "-eval-batch", "0"}, "-eval-batch 0: want at least 1", usage},
		{"negative learning rate", []string{"-data", good, "-lr", "-1"}, "-lr -1: want a positive, finite", usage},
		{"NaN learning rate", []string{"-data", good, "-lr", "NaN"}, "-lr NaN: want a positive, finite", usage},
		{"infinite learning rate", []string{"-data", good, "-lr", "Inf"}, "-lr +Inf: want a positive, finite", usage},
		{"not a number", []string{"-data", good, "-epochs", "many"}, "invalid value", usage},
		{"stray argument", []string{"-data", good, "mlp"}, "unexpected argument", usage},
		// flags that contradict each other
		{"resume and eval", []string{"-data", good, "-resume", "-eval", "-checkpoint", doneCk}, "exclude each other", usage},
		{"overwrite and resume", []string{"-data", good, "-overwrite", "-resume", "-checkpoint", doneCk}, "-overwrite starts a new run", usage},
		{"overwrite without checkpoint", []string{"-data", good, "-overwrite"}, "-overwrite needs -checkpoint", usage},
		// the checkpoint path is checked before the data is looked for
		{"checkpoint is a directory", []string{"-data", missing, "-checkpoint", aDir}, "-checkpoint " + aDir + " is a directory", failure},
		{"checkpoint under a file", []string{"-data", missing, "-checkpoint", filepath.Join(aFile, "m.ckpt")}, "not a directory", failure},
		{"new run over a checkpoint", []string{"-data", good, "-model", "mlp", "-checkpoint", doneCk}, "-checkpoint " + doneCk + " already exists: add -resume to continue that run, or -overwrite to start over", failure},
		// resuming
		{"resume a finished run", []string{"-data", good, "-resume", "-checkpoint", doneCk}, "nothing to resume", failure},
		{"resume mid-epoch with another batch size", []string{"-data", good, "-resume", "-checkpoint", midCk, "-batch", fmt.Sprint(2 * midBatch)}, "resumes mid-epoch only with the same batches", failure},
		{"resume mid-epoch on other examples", []string{"-data", good, "-resume", "-checkpoint", midCk, "-limit", "10"}, "only with the same examples", failure},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := treeHashes(t, root)
			var out, errb bytes.Buffer
			err := run(context.Background(), c.args, &out, &errb, quietLog())
			if err == nil {
				t.Fatalf("no error; want one mentioning %q", c.want)
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) {
				t.Errorf("error %q does not mention %q", msg, c.want)
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans several lines: %q", msg)
			}
			status, stderr := runMain(t, c.args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			if status != c.status || !strings.HasPrefix(last, "train: ") || !strings.Contains(last, c.want) || strings.Contains(stderr, "panic") {
				t.Errorf("main: exit status %d, last line of stderr %q; want status %d and a line \"train: ...%s...\" (stderr %q)", status, last, c.status, c.want, stderr)
			}
			if d := diffTrees(before, treeHashes(t, root)); d != "" {
				t.Errorf("files changed: %s", d)
			}
		})
	}
}

// TestExitStatus runs main in a child process: a bad input exits 1 with a
// single "train: ..." line on stderr and no panic trace.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	cmd := mainCommand("-data", filepath.Join(dir, "missing"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1 (stderr %q)", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "train: ") || strings.Contains(stderr.String(), "panic") {
		t.Errorf("stderr %q: want one line starting with \"train: \"", stderr.String())
	}
}

// TestCheckpointResume trains one epoch with a checkpoint, resumes for a
// second, and evaluates from the file.
func TestCheckpointResume(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 40, nil)
	writeIDX(t, dir, "t10k", 20, nil)
	ck := filepath.Join(dir, "m.ckpt")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-data", dir, "-model", "mlp", "-epochs", "1", "-checkpoint", ck}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"-data", dir, "-model", "mlp", "-epochs", "2", "-checkpoint", ck, "-resume"}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "epoch 2:") || strings.Count(out.String(), "epoch 1:") != 1 {
		t.Errorf("resume should run epoch 2 only after epoch 1; output:\n%s", out.String())
	}
	ckp, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	if ckp.Meta["epoch"] != "2" {
		t.Errorf("checkpoint epoch %q, want 2", ckp.Meta["epoch"])
	}
	out.Reset()
	if err := run(context.Background(), []string{"-data", dir, "-model", "mlp", "-eval", "-checkpoint", ck}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "test accuracy") {
		t.Errorf("eval output %q", out.String())
	}

	// the checkpoint names its model: -eval and -resume need no -model
	evalOut := out.String()
	out.Reset()
	if err := run(context.Background(), []string{"-data", dir, "-eval", "-checkpoint", ck}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if out.String() != evalOut {
		t.Errorf("-eval without -model printed %q; with -model mlp %q", out.String(), evalOut)
	}
	out.Reset()
	if err := run(context.Background(), []string{"-data", dir, "-epochs", "3", "-checkpoint", ck, "-resume"}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if ckp, err = graph.LoadCheckpoint(ck); err != nil {
		t.Fatal(err)
	}
	mlp, _ := models.New("mlp", models.Spec{})
	if !strings.HasPrefix(out.String(), "epoch 3: test accuracy") || strings.Count(out.String(), "\n") != 1 || ckp.Meta["epoch"] != "3" || ckp.Model != mlp.Name() {
		t.Errorf("-resume without -model: output %q, checkpoint of %s at epoch %q; want epoch 3 only, of %s", out.String(), ckp.Model, ckp.Meta["epoch"], mlp.Name())
	}
}

// TestOverwrite: -overwrite starts a new run over an existing checkpoint.
func TestOverwrite(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 20, nil)
	writeIDX(t, dir, "t10k", 10, nil)
	ck := filepath.Join(dir, "m.ckpt")
	args := []string{"-data", dir, "-model", "mlp", "-checkpoint", ck}
	if err := run(context.Background(), append(args, "-epochs", "2"), io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), append(args, "-epochs", "1", "-overwrite"), io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	ckp, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	if ckp.Meta["epoch"] != "1" {
		t.Errorf("after -overwrite -epochs 1 the checkpoint holds epoch %q, want 1", ckp.Meta["epoch"])
	}
}

// TestInterruptResumeIdentical stops a run twice, mid-epoch, and resumes
// it each time with -resume alone: the parameters, optimizer state and
// settings at the end are bit-identical to those of a run never stopped.
func TestInterruptResumeIdentical(t *testing.T) {
	dir := t.TempDir()
	const examples, batch, epochs = 40, 8, 2
	writeIDX(t, dir, "train", examples, brightPixels)
	writeIDX(t, dir, "t10k", 20, brightPixels)
	batches := (examples + batch - 1) / batch
	args := func(ck string) []string {
		return []string{"-data", dir, "-model", "mlp", "-epochs", fmt.Sprint(epochs), "-batch", fmt.Sprint(batch), "-checkpoint", ck}
	}

	whole := filepath.Join(dir, "whole.ckpt")
	var wholeOut bytes.Buffer
	if err := run(context.Background(), args(whole), &wholeOut, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}

	stopped := filepath.Join(dir, "stopped.ckpt")
	var out bytes.Buffer
	// stop in epoch 1, then in epoch 2, then finish
	first, second := batches/2, batches/2+batches
	err := run(interruptAfter(first), args(stopped), &out, io.Discard, quietLog())
	want := fmt.Sprintf("interrupted in epoch 1 after batch %d of %d; saved the model to %s: continue with -resume", first, batches, stopped)
	if err == nil || err.Error() != want {
		t.Fatalf("first stop: %v; want %q", err, want)
	}
	resume := []string{"-data", dir, "-checkpoint", stopped, "-resume"}
	err = run(interruptAfter(second-first), resume, &out, io.Discard, quietLog())
	want = fmt.Sprintf("interrupted in epoch 2 after batch %d of %d; saved the model to %s: continue with -resume", second-batches, batches, stopped)
	if err == nil || err.Error() != want {
		t.Fatalf("second stop: %v; want %q", err, want)
	}
	if err := run(context.Background(), resume, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if out.String() != wholeOut.String() {
		t.Errorf("stopped and resumed run printed\n%s\nthe whole run\n%s", out.String(), wholeOut.String())
	}

	a, err := graph.LoadCheckpoint(whole)
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.LoadCheckpoint(stopped)
	if err != nil {
		t.Fatal(err)
	}
	if a.Model != b.Model || !reflect.DeepEqual(a.Params, b.Params) {
		t.Errorf("parameters differ between the whole run and the stopped and resumed one")
	}
	if !reflect.DeepEqual(a.Optimizer, b.Optimizer) {
		t.Errorf("optimizer state differs: step %d and %d", a.Optimizer.Step, b.Optimizer.Step)
	}
	if !reflect.DeepEqual(a.Meta, b.Meta) {
		t.Errorf("metadata differs:\n%v\n%v", a.Meta, b.Meta)
	}
	if want := fmt.Sprint(epochs * batches); b.Meta["steps"] != want {
		t.Errorf("steps %q, want %s", b.Meta["steps"], want)
	}
}

// TestInterruptMessages: the line printed on Ctrl-C says what is on disk,
// and a save that fails then is reported with the interrupt.
func TestInterruptMessages(t *testing.T) {
	dir := t.TempDir()
	const examples, batch, stopAt = 20, 4, 3
	writeIDX(t, dir, "train", examples, nil)
	writeIDX(t, dir, "t10k", 10, nil)
	batches := (examples + batch - 1) / batch
	args := []string{"-data", dir, "-model", "mlp", "-epochs", "2", "-batch", fmt.Sprint(batch)}
	where := fmt.Sprintf("interrupted in epoch 1 after batch %d of %d", stopAt, batches)
	ck := filepath.Join(dir, "m.ckpt")
	cases := []struct {
		name  string
		ctx   context.Context
		args  []string
		want  string
		saved bool
	}{
		{"no checkpoint", interruptAfter(stopAt), args, where + "; nothing was saved (no -checkpoint)", false},
		{"before the first step", interruptAfter(0), append(args, "-checkpoint", ck), "interrupted before the first training step; nothing was saved", false},
		{"save fails", &stopAfter{Context: context.Background(), n: stopAt, onStop: func() { os.Mkdir(ck, 0o755) }},
			append(args, "-checkpoint", ck), where + ", and saving the model failed: ", false},
		{"after an epoch", interruptAfter(batches), append(args, "-checkpoint", ck, "-overwrite"),
			fmt.Sprintf("interrupted after epoch 1, which %s holds: continue with -resume", ck), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.RemoveAll(ck)
			err := run(c.ctx, c.args, io.Discard, io.Discard, quietLog())
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v; want one line with %q", err, c.want)
			}
			_, lerr := graph.LoadCheckpoint(ck)
			if saved := lerr == nil; saved != c.saved {
				t.Errorf("checkpoint saved: %v, want %v", saved, c.saved)
			}
		})
	}
}

// TestSIGTERM stops a child train process with SIGTERM in the middle of
// an epoch: it exits 1 with one line saying where it stopped and that it
// saved the model, and -resume finishes the run from the checkpoint.
func TestSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for a few seconds")
	}
	dir := t.TempDir()
	const examples = 12000 // an epoch of single examples takes seconds
	writeIDX(t, dir, "train", examples, nil)
	writeIDX(t, dir, "t10k", 10, nil)
	ck := filepath.Join(dir, "m.ckpt")
	cmd := mainCommand("-data", dir, "-model", "seed", "-batch", "1", "-epochs", "1", "-checkpoint", ck)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// the first line of the progress bar comes after the first batch
	var stderr []string
	sc := bufio.NewScanner(pipe)
	for sc.Scan() {
		stderr = append(stderr, sc.Text())
		if strings.HasPrefix(sc.Text(), "epoch 1/1 ") {
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	for sc.Scan() {
		stderr = append(stderr, sc.Text())
	}
	err = cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	last := stderr[len(stderr)-1]
	const want = "train: interrupted in epoch 1 after batch "
	if !ok || ee.ExitCode() != 1 || !strings.HasPrefix(last, want) || !strings.HasSuffix(last, fmt.Sprintf(" of %d; saved the model to %s: continue with -resume", examples, ck)) {
		t.Fatalf("exit %v, last line %q; want status 1 and %q... (stderr:\n%s)", err, last, want, strings.Join(stderr, "\n"))
	}
	ckp, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	if done := ckp.Meta["batches_done"]; done == "0" || !strings.Contains(last, " batch "+done+" of ") {
		t.Errorf("checkpoint holds %s batches done; the message says %q", done, last)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-data", dir, "-checkpoint", ck, "-resume"}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if ckp, err = graph.LoadCheckpoint(ck); err != nil {
		t.Fatal(err)
	}
	if ckp.Meta["epoch"] != "1" || ckp.Meta["steps"] != fmt.Sprint(examples) || !strings.HasPrefix(out.String(), "epoch 1: test accuracy") {
		t.Errorf("after -resume: epoch %q, steps %q, output %q; want epoch 1 of %d steps", ckp.Meta["epoch"], ckp.Meta["steps"], out.String(), examples)
	}
}

// TestHugeLoss: a diverging run prints its losses in a few significant
// digits, not the hundreds of digits of %f.
func TestHugeLoss(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 40, brightPixels)
	writeIDX(t, dir, "t10k", 10, brightPixels)
	var stderr bytes.Buffer
	log := logrus.New()
	log.SetOutput(&stderr)
	// the loss grows by tens of orders of magnitude a step, then overflows
	run(context.Background(), []string{"-data", dir, "-model", "mlp", "-optimizer", "sgd", "-lr", "1e20", "-loss", "mse", "-batch", "10", "-epochs", "1"}, io.Discard, &stderr, log)
	biggest, longest := 0.0, ""
	for _, m := range regexp.MustCompile(`loss[ =](\S+)`).FindAllStringSubmatch(stderr.String(), -1) {
		x, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatalf("loss %q is not a number: %v", m[1], err)
		}
		biggest = max(biggest, x)
		if len(m[1]) > len(longest) {
			longest = m[1]
		}
	}
	if biggest < 1e20 {
		t.Fatalf("no huge loss printed (largest %g); stderr:\n%s", biggest, stderr.String())
	}
	if maxWidth := len(fmt.Sprintf("%.4g", -math.MaxFloat64)); len(longest) > maxWidth {
		t.Errorf("printed a loss of %d characters, want at most %d: %s", len(longest), maxWidth, longest)
	}
}

// TestFailedStep: a step with an infinite loss saves the parameters before
// it next to the checkpoint, never over it, and a failure to save them is
// reported with the failure.
func TestFailedStep(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 40, brightPixels)
	writeIDX(t, dir, "t10k", 10, brightPixels)
	ck := filepath.Join(dir, "m.ckpt")
	args := []string{"-data", dir, "-model", "mlp", "-lr", "1e300", "-optimizer", "sgd", "-batch", "20", "-checkpoint", ck}
	err := run(context.Background(), args, io.Discard, io.Discard, quietLog())
	var step int
	if err == nil {
		t.Fatal("no error; want a loss that is not finite")
	}
	if _, serr := fmt.Sscanf(err.Error()[strings.Index(err.Error(), "at step "):], "at step %d", &step); serr != nil {
		t.Fatalf("error %q names no step: %v", err, serr)
	}
	failed, lerr := graph.LoadCheckpoint(ck + ".failed")
	if lerr != nil {
		t.Fatal(lerr)
	}
	if want := fmt.Sprint(step - 1); failed.Meta["steps"] != want {
		t.Errorf("%s.failed holds %s steps; the failing step was %d", ck, failed.Meta["steps"], step)
	}
	if _, serr := os.Stat(ck); serr == nil {
		t.Errorf("the failure wrote %s", ck)
	}

	os.Remove(ck + ".failed")
	os.Mkdir(ck+".failed", 0o755)
	err = run(context.Background(), args, io.Discard, io.Discard, quietLog())
	if err == nil || !strings.Contains(err.Error(), "loss is") || !strings.Contains(err.Error(), "saving the last good parameters failed too") {
		t.Errorf("error %v; want the failing step and the failed save", err)
	}
}

// TestModelOptions: -hidden shapes a registered MLP, the checkpoint keeps
// it, and -eval rebuilds the same model from the checkpoint alone.
func TestModelOptions(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 40, nil)
	writeIDX(t, dir, "t10k", 20, nil)
	ck := filepath.Join(dir, "h.ckpt")
	if err := run(context.Background(), []string{"-data", dir, "-model", "mlp", "-hidden", "32,16", "-epochs", "1", "-checkpoint", ck}, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	c, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != "mlp-784-32-16-10-relu" {
		t.Errorf("checkpoint of model %q, want mlp-784-32-16-10-relu", c.Model)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-data", dir, "-eval", "-checkpoint", ck}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "mlp-784-32-16-10-relu") {
		t.Errorf("-eval output %q", out.String())
	}
	err = run(context.Background(), []string{"-data", dir, "-model", "seed", "-filters", "8"}, io.Discard, io.Discard, quietLog())
	if err == nil || !strings.Contains(err.Error(), "no filters") {
		t.Errorf("-filters on an MLP: %v", err)
	}
}

// TestActivationBatchNorm: -activation and -batch-norm change a registered
// MLP, its name says so, and -eval and -resume rebuild it from the
// checkpoint alone.
func TestActivationBatchNorm(t *testing.T) {
	dir := t.TempDir()
	writeIDX(t, dir, "train", 40, nil)
	writeIDX(t, dir, "t10k", 20, nil)
	ck := filepath.Join(dir, "bn.ckpt")
	const want = "mlp-784-16-10-tanh-bn"
	args := []string{"-data", dir, "-model", "mlp", "-hidden", "16", "-activation", "tanh", "-batch-norm", "-epochs", "1", "-checkpoint", ck}
	if err := run(context.Background(), args, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	c, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatal(err)
	}
	if c.Model != want {
		t.Errorf("checkpoint of model %q, want %s", c.Model, want)
	}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-data", dir, "-eval", "-checkpoint", ck}, &out, io.Discard, quietLog()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), want) {
		t.Errorf("-eval output %q, want the model %s", out.String(), want)
	}
	if err := run(context.Background(), []string{"-data", dir, "-resume", "-epochs", "2", "-checkpoint", ck}, io.Discard, io.Discard, quietLog()); err != nil {
		t.Fatalf("-resume: %v", err)
	}
	err = run(context.Background(), []string{"-data", dir, "-eval", "-activation", "relu", "-checkpoint", ck}, io.Discard, io.Discard, quietLog())
	if err == nil || !strings.Contains(err.Error(), "is for model") {
		t.Errorf("-eval of the tanh network as a ReLU one: %v", err)
	}
}
