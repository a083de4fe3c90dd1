package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// writeRecord writes a metrics.json to dir whose weights w1..w3 have norm
// scale·(i+1)·(s+1) at step s·10, with a bias and a batch-norm scale that
// gradlayers must leave out.
func writeRecord(t *testing.T, dir string, scale float64, steps int) {
	t.Helper()
	params := []string{"w1", "bn1.scale", "w2", "w3", "b3"}
	rec := map[string]any{"model": "mlp-test", "epochs": []map[string]any{{"epoch": 1}}}
	norms := map[string][]float64{}
	var stepList []int
	for s := 0; s < steps; s++ {
		stepList = append(stepList, 10*s)
		for i, p := range params {
			norms[p] = append(norms[p], scale*float64(i+1)*float64(s+1))
		}
	}
	norms["w2"], norms["w3"] = norms["w3"], norms["w2"] // layer 2 is params[3]: norm 4, layer 3 is params[2]
	rec["grad_norms"] = map[string]any{"params": params, "steps": stepList, "norms": norms}
	b, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "metrics.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGradLayers(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	writeRecord(t, a, 1, 6)
	writeRecord(t, b, 1e-3, 6)
	png := filepath.Join(root, "g.png")
	log := logrus.New()
	log.SetOutput(io.Discard)
	var out bytes.Buffer
	args := []string{"-out", png, "-last", "2", "-run", "net a=" + a, "-run", "b=" + b}
	if err := run(context.Background(), args, &out, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(png); err != nil || fi.Size() == 0 {
		t.Fatalf("figure: %v", err)
	}
	// layer weights in order w1 (norm 1 per step factor), w2 (4), w3 (3);
	// trained: the geometric mean of the factors 5 and 6 of the last two
	// records
	g := math.Sqrt(5 * 6)
	for i, f := range []float64{1, 4, 3} {
		row := fmt.Sprintf("| %d | %.2g | %.2g | %.2g | %.2g |", i+1, f, f*g, f*1e-3, f*g*1e-3)
		if !strings.Contains(out.String(), row) {
			t.Errorf("table lacks %q:\n%s", row, out.String())
		}
	}
	if !strings.Contains(out.String(), "| last / first | 3 | 3 | 3 | 3 |") {
		t.Errorf("table lacks the ratio row:\n%s", out.String())
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{args, "already exists"},
		{[]string{"-out", png, "-overwrite"}, "no -run"},
		{[]string{"-out", png, "-overwrite", "-run", a}, "want LABEL=DIR"},
		{[]string{"-out", png, "-overwrite", "-run", "x=" + root}, "no such file"},
		{[]string{"-out", png, "-overwrite", "-last", "0", "-run", "a=" + a}, "-last 0"},
	} {
		err := run(context.Background(), c.args, io.Discard, io.Discard, log)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.args, err, c.want)
		}
	}
}
