package meta

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
)

// TestMetricResumeMatchesUninterrupted: the metric learners on Omniglot,
// 6 episodes straight must equal 3 episodes, a checkpoint, and -resume to
// 6, bit for bit (meta-parameters, the relation module's and the FCE
// LSTMs' included, the curve, and matchingnet's -scale read from the checkpoint); the resumed run reports the paper-style table without inner
// steps and draws the learning curve and a test episode. RelationNet's
// model, built by metalearn.Setup from its registration, keeps 7×7 maps. Small shapes keep
// it short: 8 embedding filters, 5-way episodes with 2 queries per class,
// validation and evaluation episodes with 1.
func TestMetricResumeMatchesUninterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	data := omniglotDir(t)
	for _, alg := range []string{"protonet", "matchingnet", "matchingnet-fce", "relationnet"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			args := func(iters, ckpt string, extra ...string) []string {
				return append([]string{"-dataset", "omniglot", "-data", data, "-algorithm", alg, "-filters", "8",
					"-train-ways", "5", "-queries", "2", "-eval-queries", "1", "-eval-tasks", "5", "-eval-every", "3",
					"-out", dir, "-iterations", iters, "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
			}
			// matchingnet's -scale is given to the first half only: the
			// resumed run must take it from the checkpoint
			var scale []string
			if alg == "matchingnet" {
				scale = []string{"-scale", "7"}
			}
			if _, err := runMeta(t, args("6", "straight.ckpt", append(scale, "-no-plots")...)...); err != nil {
				t.Fatal(err)
			}
			if _, err := runMeta(t, args("3", "split.ckpt", append(scale, "-no-plots")...)...); err != nil {
				t.Fatal(err)
			}
			stdout, err := runMeta(t, args("6", "split.ckpt", "-resume")...)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(stdout, "query accuracy") || strings.Contains(stdout, "inner steps") {
				t.Errorf("want an accuracy table without inner steps:\n%s", stdout)
			}
			a, err := graph.LoadCheckpoint(filepath.Join(dir, "straight.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			b, err := graph.LoadCheckpoint(filepath.Join(dir, "split.ckpt"))
			if err != nil {
				t.Fatal(err)
			}
			if b.Meta["iteration"] != "6" || b.Meta[alg+".episodes"] != "6" {
				t.Fatalf("resumed checkpoint at iteration %s, %s episodes; want 6 and 6", b.Meta["iteration"], b.Meta[alg+".episodes"])
			}
			// relationnet's registration asks for Conv-4 with 2 pooling blocks
			if pooled := strings.Contains(b.Model, "2pools"); pooled != (alg == "relationnet") {
				t.Errorf("checkpoint of %s: model %s", alg, b.Model)
			}
			if len(a.Params) != len(b.Params) {
				t.Fatalf("%d parameters straight, %d resumed", len(a.Params), len(b.Params))
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
			for _, f := range []string{"learning_curve.png", "episode.png"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
		})
	}
}
