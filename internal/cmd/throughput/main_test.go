package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/sirupsen/logrus"
)

func quiet() *logrus.Logger {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return log
}

// TestThroughput runs a tiny measurement on MNIST: a row per dtype and
// batch size, with positive throughputs, the steps of the epoch and an
// accuracy, and the figure.
func TestThroughput(t *testing.T) {
	dir := data.MNISTDirOrSkip(t)
	png := filepath.Join(t.TempDir(), "speed.png")
	var out bytes.Buffer
	args := []string{"-data", dir, "-model", "mlp=200", "-batches", "10,50", "-test", "100", "-out", png}
	if err := run(context.Background(), args, &out, io.Discard, quiet()); err != nil {
		t.Fatal(err)
	}
	rows := strings.Split(strings.TrimSpace(out.String()), "\n")[2:]
	if len(rows) != 4 {
		t.Fatalf("%d rows, want 4 (2 dtypes × 2 batch sizes):\n%s", len(rows), out.String())
	}
	for i, row := range rows {
		f := strings.Split(strings.Trim(row, "| "), " | ")
		batch := []int{10, 50}[i%2]
		cpu, err1 := strconv.ParseFloat(f[3], 64)
		steps, err2 := strconv.Atoi(f[5])
		if len(f) != 7 || f[0] != "mlp" || f[2] != strconv.Itoa(batch) || err1 != nil || !(cpu > 0) || err2 != nil || steps != 200/batch || !strings.HasSuffix(f[6], "%") {
			t.Errorf("row %q: want mlp, batch %d, a positive throughput, %d steps and an accuracy", row, batch, 200/batch)
		}
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Errorf("figure: %v", err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{args, "already exists"},
		{[]string{"-data", dir}, "no -model"},
		{[]string{"-model", "mlp"}, "want NAME=EXAMPLES"},
		{[]string{"-model", "resnet=10"}, "unknown model"},
		{[]string{"-model", "mlp=10", "-dtypes", "float16"}, "-dtypes: \"float16\""},
		{[]string{"-model", "mlp=10", "-batches", "0"}, "for flag -batches"},
		{[]string{"-data", dir, "-model", "mlp=10", "-batches", "10"}, "no step to time"},
	} {
		err := run(context.Background(), c.args, io.Discard, io.Discard, quiet())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
