package meta

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
)

// TestMANNResumeMatchesUninterrupted: MANN on Omniglot, 6 meta-iterations
// straight must equal 3, a checkpoint, and -resume to 6, bit for bit
// (every weight of the controller, heads and output, and the curve); the
// resumed run reports its evaluation without inner steps and with the
// accuracy by instance, in the table and in metrics.json (and, for the
// curves, at every validation), and draws the learning curve and the episode as a sequence. Small shapes keep it
// short: a controller of 16 units, 5-way episodes of 2 instances per
// class, batches of 2 episodes, 3 evaluation episodes.
func TestMANNResumeMatchesUninterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	data := omniglotDir(t)
	dir := t.TempDir()
	args := func(iters, ckpt string, extra ...string) []string {
		return append([]string{"-dataset", "omniglot", "-data", data, "-algorithm", "mann", "-hidden", "16",
			"-shots", "2", "-meta-batch", "2", "-eval-tasks", "3", "-eval-every", "3",
			"-out", dir, "-iterations", iters, "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
	}
	if _, err := runMeta(t, args("6", "straight.ckpt", "-no-plots")...); err != nil {
		t.Fatal(err)
	}
	if _, err := runMeta(t, args("3", "split.ckpt", "-no-plots")...); err != nil {
		t.Fatal(err)
	}
	stdout, err := runMeta(t, args("6", "split.ckpt", "-resume")...)
	if err != nil {
		t.Fatal(err)
	}
	for _, col := range []string{"query accuracy", "| 1st instance | 2nd instance |\n"} {
		if !strings.Contains(stdout, col) {
			t.Errorf("table without %q:\n%s", col, stdout)
		}
	}
	if strings.Contains(stdout, "inner steps") || strings.Contains(stdout, "3rd instance") {
		t.Errorf("want no inner steps and no 3rd instance of 2:\n%s", stdout)
	}
	a, err := graph.LoadCheckpoint(filepath.Join(dir, "straight.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.LoadCheckpoint(filepath.Join(dir, "split.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Meta["iteration"] != "6" || !strings.HasPrefix(b.Model, "mann/mann-784px-5way-lstm16-") {
		t.Fatalf("resumed checkpoint of %s at iteration %s; want mann's own network at 6", b.Model, b.Meta["iteration"])
	}
	if len(a.Params) != len(b.Params) || len(a.Params) != 10 {
		t.Fatalf("%d parameters straight, %d resumed; want 10 (4 of the controller, 6 of the heads and output)", len(a.Params), len(b.Params))
	}
	for i := range a.Params {
		for k := range a.Params[i].Data {
			if a.Params[i].Data[k] != b.Params[i].Data[k] {
				t.Fatalf("%s[%d]: %v straight, %v resumed", a.Params[i].Name, k, a.Params[i].Data[k], b.Params[i].Data[k])
			}
		}
	}
	var rep report
	if raw, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err != nil {
		t.Fatal(err)
	} else if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Curve) != 6 {
		t.Fatalf("curve of the resumed run: %d points, want 6", len(rep.Curve))
	}
	for i, p := range rep.Curve {
		if p.Iteration != i+1 {
			t.Fatalf("curve of the resumed run: point %d at iteration %d; want iterations 1..6", i, p.Iteration)
		}
	}
	// the validations (at 3, kept through the resume, and 6) record the
	// accuracy by instance for the curves, the instances shown
	for _, i := range []int{2, 5} {
		var keys []string
		for _, m := range rep.Curve[i].ValidMeasures {
			keys = append(keys, m.Key)
		}
		if got := strings.Join(keys, " "); got != "accuracy_instance_1 accuracy_instance_2" {
			t.Errorf("validation at iteration %d: measures %q; want accuracy_instance_1 accuracy_instance_2", i+1, got)
		}
	}
	for _, key := range []string{"accuracy_instance_1_by_steps", "accuracy_instance_2_by_steps", "accuracy_instance_10_by_steps"} {
		if _, ok := rep.Eval[key]; !ok {
			t.Errorf("metrics.json's evaluation lacks %s: %v", key, rep.Eval)
		}
	}
	for _, f := range []string{"learning_curve.png", "episode.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}
