package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestMain lets the tests run the real main() in a child process.
func TestMain(m *testing.M) {
	if os.Getenv("METAGON_TRAIN_MAIN") == "1" {
		os.Args = append([]string{"train"}, strings.Fields(os.Getenv("METAGON_TRAIN_ARGS"))...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
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
// clear line naming the problem, never a panic.
func TestBadInput(t *testing.T) {
	good := t.TempDir()
	writeIDX(t, good, "train", 20, nil)
	writeIDX(t, good, "t10k", 10, nil)

	truncated := t.TempDir()
	writeIDX(t, truncated, "train", 20, func(i, l []byte) ([]byte, []byte) { return i[:len(i)-100], l })
	writeIDX(t, truncated, "t10k", 10, func(i, l []byte) ([]byte, []byte) { return i[:len(i)-100], l })

	badMagic := t.TempDir()
	writeIDX(t, badMagic, "train", 20, func(i, l []byte) ([]byte, []byte) { i[3] = 0x99; return i, l })
	writeIDX(t, badMagic, "t10k", 10, func(i, l []byte) ([]byte, []byte) { i[3] = 0x99; return i, l })

	// a checkpoint of the seed network, to be loaded into another model
	ckDir := t.TempDir()
	seedCk := filepath.Join(ckDir, "seed.ckpt")
	{
		p := graph.NewParams(G.NewGraph(), tensor.Float64)
		m := models.SeedNetwork()
		if err := m.Init(p, 1); err != nil {
			t.Fatal(err)
		}
		if err := graph.SaveCheckpoint(seedCk, p.Snapshot(m.Name())); err != nil {
			t.Fatal(err)
		}
	}
	// bright images, so that a huge learning rate overflows the weights
	bright := t.TempDir()
	fillPixels := func(i, l []byte) ([]byte, []byte) {
		for k := 16; k < len(i); k++ {
			i[k] = byte(k * 7)
		}
		return i, l
	}
	writeIDX(t, bright, "train", 40, fillPixels)
	writeIDX(t, bright, "t10k", 10, fillPixels)
	garbage := filepath.Join(ckDir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("not a checkpoint at all"), 0o644)

	cases := []struct {
		name string
		args []string
		want string // a fragment of the error
	}{
		{"missing data dir", []string{"-data", filepath.Join(good, "nope")}, "does not exist"},
		{"truncated idx", []string{"-data", truncated, "-epochs", "1"}, "truncated"},
		{"wrong magic", []string{"-data", badMagic, "-epochs", "1"}, "magic"},
		{"checkpoint of another model", []string{"-data", good, "-model", "mlp", "-eval", "-checkpoint", seedCk}, "is for model"},
		{"corrupt checkpoint", []string{"-data", good, "-eval", "-checkpoint", garbage}, "not a metagon checkpoint"},
		{"missing checkpoint", []string{"-data", good, "-eval", "-checkpoint", filepath.Join(ckDir, "none")}, "does not exist"},
		{"eval without checkpoint", []string{"-data", good, "-eval"}, "need -checkpoint"},
		{"unknown model", []string{"-data", good, "-model", "resnet"}, "unknown model"},
		{"unknown optimizer", []string{"-data", good, "-optimizer", "lbfgs"}, "unknown optimizer"},
		{"bad dtype", []string{"-data", good, "-dtype", "int8"}, "want float64 or float32"},
		{"diverging learning rate", []string{"-data", bright, "-model", "mlp", "-lr", "1e300", "-optimizer", "sgd", "-batch", "20"}, "loss is"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
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
		})
	}
}

// TestExitStatus runs main in a child process: a bad input exits 1 with a
// single "train: ..." line on stderr and no panic trace.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "METAGON_TRAIN_MAIN=1", "METAGON_TRAIN_ARGS=-data "+filepath.Join(dir, "missing"))
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
}
