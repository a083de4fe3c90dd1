package meta

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
)

// TestCNPResumeMatchesUninterrupted: CNP on GP curves and on sinusoids,
// 6 iterations straight must equal 3 iterations, a checkpoint, and
// -resume to 6, bit for bit (the weights and Adam's state; the curve
// continues); the run reports MSE and NLL without inner steps, records
// the NLL (objective, curve, evaluation) in metrics.json, draws the curve
// and the predictive plot, and -eval of the checkpoint writes eval.json
// and eval_fits.png. A small network (-hidden 16,16) keeps it short.
func TestCNPResumeMatchesUninterrupted(t *testing.T) {
	for _, dataset := range []string{"gp", "sinusoid"} {
		t.Run(dataset, func(t *testing.T) {
			dir := t.TempDir()
			args := func(iters, ckpt string, extra ...string) []string {
				return append([]string{"-algorithm", "cnp", "-dataset", dataset, "-hidden", "16,16", "-meta-batch", "4",
					"-eval-tasks", "5", "-eval-every", "2", "-out", dir, "-iterations", iters, "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
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
			if !strings.Contains(stdout, "query MSE") || !strings.Contains(stdout, "query NLL") || strings.Contains(stdout, "inner steps") {
				t.Errorf("want a table of MSE and NLL without inner steps:\n%s", stdout)
			}
			a, err := graph.LoadCheckpoint(filepath.Join(dir, "straight.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := graph.LoadCheckpoint(filepath.Join(dir, "split.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			if b.Meta["iteration"] != "6" || !strings.HasPrefix(b.Model, "cnp/cnp-enc-2-16-16-dec-17-16-16-2") {
				t.Fatalf("resumed checkpoint of %s at iteration %s", b.Model, b.Meta["iteration"])
			}
			if len(a.Params) != len(b.Params) || len(a.Params) != 10 {
				t.Fatalf("%d parameters straight, %d resumed; want 10 (3 encoder and 2 decoder layers)", len(a.Params), len(b.Params))
			}
			for i := range a.Params {
				for k := range a.Params[i].Data {
					if a.Params[i].Data[k] != b.Params[i].Data[k] {
						t.Fatalf("%s[%d]: %v straight, %v resumed", a.Params[i].Name, k, a.Params[i].Data[k], b.Params[i].Data[k])
					}
				}
			}
			if a.Optimizer == nil || b.Optimizer == nil || a.Optimizer.Step != b.Optimizer.Step || a.Optimizer.Step != 6 {
				t.Fatalf("Adam states %+v and %+v; want 6 steps each", a.Optimizer, b.Optimizer)
			}
			var rep struct {
				Objective string           `json:"objective"`
				Curve     []map[string]any `json:"curve"`
				Eval      map[string]any   `json:"eval"`
				Files     map[string]string
			}
			if raw, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err != nil {
				t.Fatal(err)
			} else if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Objective != "NLL" || rep.Eval["query_nll_by_steps"] == nil || len(rep.Curve) != 6 {
				t.Fatalf("metrics.json: objective %q, evaluation %v, %d curve points; want NLL, query_nll_by_steps, 6", rep.Objective, rep.Eval, len(rep.Curve))
			}
			for i, p := range rep.Curve {
				// validations every 2 iterations and at the end of the first half
				if _, validated := p["valid_objective"]; p["iteration"] != float64(i+1) || validated != ((i+1)%2 == 0 || i+1 == 3) {
					t.Fatalf("curve point %d: %v; want iteration %d, a validation NLL at iterations 2, 3, 4 and 6", i, p, i+1)
				}
			}
			for _, f := range []string{"learning_curve.png", "fits.png"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			if _, err := runMeta(t, "-eval", "-checkpoint", filepath.Join(dir, "split.ckpt"), "-hidden", "16,16", "-eval-tasks", "5", "-out", dir); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"eval.json", "eval_fits.png"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
