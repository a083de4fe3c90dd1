package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/sirupsen/logrus"
)

// TestTransferResumeMatchesUninterrupted: the transfer baseline on
// Omniglot, 6 pre-training batches straight must equal a run interrupted
// after 3 and resumed to 6, bit for bit: the parameters (the pre-training
// head over every training class included), Adam's state, the curve and
// the final evaluation. The table reports 0, 1 and -eval-steps steps of
// fitting the new head, the zero head at chance first (one query per
// class: exactly 1/ways); the resumed run draws the learning curve and a
// test episode, and the banner counts images, not tasks. Small shapes
// keep it short: 8 filters, batches of 16 images, 4 evaluation episodes.
func TestTransferResumeMatchesUninterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	data := omniglotDir(t)
	dir := t.TempDir()
	args := func(ckpt string, extra ...string) []string {
		return append([]string{"-dataset", "omniglot", "-data", data, "-algorithm", "transfer", "-filters", "8",
			"-meta-batch", "16", "-eval-steps", "5", "-eval-queries", "1", "-eval-tasks", "4", "-eval-every", "3",
			"-out", dir, "-iterations", "6", "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
	}
	var logged bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logged)
	if err := run(context.Background(), args("straight.ckpt", "-no-plots"), io.Discard, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	if want := "6 iterations of 16 training images; pre-training: conv4-1x28x28-8filters-embedding with a linear head over 3856 classes"; !strings.Contains(logged.String(), want) {
		t.Errorf("banner lacks %q:\n%s", want, logged.String())
	}
	straight := readReport(t, filepath.Join(dir, "metrics.json"))
	if err := run(&countdown{context.Background(), 3}, args("split.ckpt", "-no-plots"), io.Discard, io.Discard, quietLog()); err == nil || err.Error() != "interrupted after 3 iterations" {
		t.Fatalf("interrupted run: %v", err)
	}
	stdout, err := runMeta(t, args("split.ckpt", "-resume")...)
	if err != nil {
		t.Fatal(err)
	}
	a, err := graph.LoadCheckpoint(filepath.Join(dir, "straight.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.LoadCheckpoint(filepath.Join(dir, "split.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Meta["iteration"] != "6" || len(a.Params) != len(b.Params) || a.Params[len(a.Params)-2].Name != "pretrain.w" {
		t.Fatalf("resumed checkpoint at iteration %s with %d parameters (straight: %d, the last two %v)", b.Meta["iteration"], len(b.Params), len(a.Params), a.Params[len(a.Params)-2].Name)
	}
	for i := range a.Params {
		if a.Params[i].Name != b.Params[i].Name || !reflect.DeepEqual(a.Params[i].Data, b.Params[i].Data) {
			t.Fatalf("parameter %s differs between the straight and the resumed run", a.Params[i].Name)
		}
	}
	if !reflect.DeepEqual(a.Optimizer, b.Optimizer) || a.Optimizer.Step != 6 {
		t.Errorf("Adam's state differs between the straight and the resumed run, or is not after 6 steps (%d)", a.Optimizer.Step)
	}
	resumed := readReport(t, filepath.Join(dir, "metrics.json"))
	sc, _ := json.Marshal(straight.Curve)
	rc, _ := json.Marshal(resumed.Curve)
	if len(resumed.Curve) != 6 || string(sc) != string(rc) {
		t.Errorf("curves differ:\nstraight %s\nresumed  %s", sc, rc)
	}
	se, _ := json.Marshal(straight.Eval)
	re, _ := json.Marshal(resumed.Eval)
	if string(se) != string(re) {
		t.Errorf("evaluations differ:\nstraight %s\nresumed  %s", se, re)
	}
	var ev struct {
		Steps []int `json:"steps"`
		Acc   []struct {
			Mean float64 `json:"mean"`
		} `json:"query_accuracy_by_steps"`
	}
	if err := json.Unmarshal(re, &ev); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ev.Steps, []int{0, 1, 5}) || len(ev.Acc) != 3 || ev.Acc[0].Mean != 1.0/5 {
		t.Errorf("evaluation: steps %v, accuracies %v; want steps 0, 1, 5 and chance (1/5) after 0", ev.Steps, ev.Acc)
	}
	if !strings.Contains(stdout, "| inner steps | query accuracy") || !strings.Contains(stdout, "\n| 5 | ") {
		t.Errorf("want a table by inner steps down to 5:\n%s", stdout)
	}
	for _, f := range []string{"learning_curve.png", "episode.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
