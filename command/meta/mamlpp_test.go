package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/sirupsen/logrus"
)

// TestMAMLPPResumeMatchesUninterrupted: MAML++ on Omniglot, 20 iterations
// straight must equal a run of 20 interrupted after 10 (its schedules
// span -iterations, so the halves are one run) and -resume, bit for bit: the meta-parameters (per-step batch-norm weights and learned
// rates included), the per-step running statistics the checkpoint
// carries, and the curve. The run crosses the end of the multi-step loss
// (iteration 2) and resumes exactly where derivative-order annealing turns
// second order (10). -eval of the final checkpoint evaluates with its
// running statistics, as the run's own final evaluation did; a run
// -without some switches keeps them in its checkpoint, and -resume takes
// them from it (and -eval the inner steps, which shape the parameters). Small shapes keep it short: 4 filters, 2 inner steps,
// meta-batches of 2, one query per class, 3 evaluation episodes.
func TestMAMLPPResumeMatchesUninterrupted(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	data := omniglotDir(t)
	dir := t.TempDir()
	args := func(iters, ckpt string, extra ...string) []string {
		return append([]string{"-dataset", "omniglot", "-data", data, "-algorithm", "mamlpp", "-filters", "4",
			"-inner-steps", "2", "-meta-batch", "2", "-eval-queries", "1", "-eval-tasks", "3", "-eval-every", "5",
			"-out", dir, "-no-plots", "-iterations", iters, "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
	}
	if _, err := runMeta(t, args("20", "straight.ckpt")...); err != nil {
		t.Fatal(err)
	}
	straightReport := readReport(t, filepath.Join(dir, "metrics.json"))
	if err := run(&countdown{context.Background(), 10}, args("20", "split.ckpt"), io.Discard, io.Discard, quietLog()); err == nil || err.Error() != "interrupted after 10 iterations" {
		t.Fatalf("interrupted run: %v", err)
	}
	var logged bytes.Buffer
	log := logrus.New()
	log.SetOutput(&logged)
	if err := run(context.Background(), args("20", "split.ckpt", "-resume"), io.Discard, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batch norm weights and running statistics per step (2 sets)", "multi-step loss annealed over 2 iterations", "first order for 10 iterations", "cosine-annealed to 1e-05 over 20 iterations"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("banner lacks %q:\n%s", want, logged.String())
		}
	}
	a, err := graph.LoadCheckpoint(filepath.Join(dir, "straight.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := graph.LoadCheckpoint(filepath.Join(dir, "split.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if b.Meta["iteration"] != "20" || b.Meta["mamlpp.iteration"] != "20" || !strings.Contains(b.Model, "mamlpp/conv4-1x28x28-4filters-5classes-bn2steps-weights-running") {
		t.Fatalf("resumed checkpoint: iteration %s (mamlpp %s), key %s", b.Meta["iteration"], b.Meta["mamlpp.iteration"], b.Model)
	}
	for i := range a.Params {
		if !slices.Equal(a.Params[i].Data, b.Params[i].Data) {
			t.Fatalf("%s differs straight and resumed", a.Params[i].Name)
		}
	}
	sa, sb := a.States["batchnorm"], b.States["batchnorm"]
	if len(sa.Slots) != 1 || len(sa.Slots[0]) != 4*2*2 {
		t.Fatalf("running statistics in the checkpoint: %+v", sa)
	}
	for i := range sa.Slots[0] {
		if !slices.Equal(sa.Slots[0][i], sb.Slots[0][i]) {
			t.Fatalf("running statistic %d differs straight and resumed: %v, %v", i, sa.Slots[0][i], sb.Slots[0][i])
		}
		if i%2 == 1 && sa.Slots[0][i][0] == 1 {
			t.Errorf("running variance %d never moved from 1", i)
		}
	}
	rep := readReport(t, filepath.Join(dir, "metrics.json"))
	if len(rep.Curve) != 20 || rep.Curve[19].Iteration != 20 {
		t.Fatalf("curve of the resumed run: %d points", len(rep.Curve))
	}
	for i := range rep.Curve {
		if rep.Curve[i].Loss != straightReport.Curve[i].Loss {
			t.Fatalf("iteration %d: training loss %v resumed, %v straight", i+1, rep.Curve[i].Loss, straightReport.Curve[i].Loss)
		}
	}
	// -eval reads the running statistics back: the same evaluation
	evalDir := t.TempDir()
	if _, err := runMeta(t, "-eval", "-checkpoint", filepath.Join(dir, "straight.ckpt"), "-data", data, "-filters", "4",
		"-eval-queries", "1", "-eval-tasks", "3", "-out", evalDir, "-no-plots"); err != nil {
		t.Fatal(err)
	}
	ev := readReport(t, filepath.Join(evalDir, "eval.json"))
	got, _ := json.Marshal(ev.Eval["query_loss_by_steps"])
	want, _ := json.Marshal(straightReport.Eval["query_loss_by_steps"])
	if string(got) != string(want) {
		t.Errorf("-eval of the checkpoint: %s; the run's own evaluation %s", got, want)
	}
	// -bn-eval running evaluates the same checkpoint with the per-step
	// running statistics: another evaluation
	runningDir := t.TempDir()
	if _, err := runMeta(t, "-eval", "-bn-eval", "running", "-checkpoint", filepath.Join(dir, "straight.ckpt"), "-data", data, "-filters", "4",
		"-eval-queries", "1", "-eval-tasks", "3", "-out", runningDir, "-no-plots"); err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(readReport(t, filepath.Join(runningDir, "eval.json")).Eval["query_loss_by_steps"]); string(got) == string(want) {
		t.Errorf("-bn-eval running gives the batch statistics' evaluation %s", got)
	}
	for _, bad := range [][]string{{"-bn-eval", "both"}, {"-bn-eval", "running", "-without", "bnrs"}} {
		args := append([]string{"-dataset", "omniglot", "-data", data, "-algorithm", "mamlpp", "-filters", "4", "-iterations", "1",
			"-out", t.TempDir(), "-no-plots"}, bad...)
		if _, err := runMeta(t, args...); err == nil || !strings.Contains(err.Error(), "bn-eval") && !strings.Contains(err.Error(), "running statistics") {
			t.Errorf("%v: %v", bad, err)
		}
	}
	// ablation: -without goes into the checkpoint and back
	ab := t.TempDir()
	abArgs := func(iters string, extra ...string) []string {
		return append([]string{"-dataset", "omniglot", "-data", data, "-algorithm", "mamlpp", "-filters", "4", "-inner-steps", "2",
			"-meta-batch", "2", "-eval-queries", "1", "-eval-tasks", "2", "-out", ab, "-no-plots", "-iterations", iters,
			"-checkpoint", filepath.Join(ab, "run.ckpt")}, extra...)
	}
	if _, err := runMeta(t, abArgs("2", "-without", "bnwb,msl")...); err != nil {
		t.Fatal(err)
	}
	logged.Reset()
	if err := run(context.Background(), abArgs("3", "-resume"), io.Discard, io.Discard, log); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(logged.String(), "multi-step") || !strings.Contains(logged.String(), "batch norm running statistics per step") {
		t.Errorf("resumed ablation's banner:\n%s", logged.String())
	}
	c, err := graph.LoadCheckpoint(filepath.Join(ab, "run.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Meta["without"] != "bnwb,msl" || strings.Contains(c.Model, "weights") || c.Meta["iteration"] != "3" {
		t.Errorf("ablation checkpoint: without %q, model %s, iteration %s", c.Meta["without"], c.Model, c.Meta["iteration"])
	}
	if _, err := runMeta(t, abArgs("1", "-without", "bogus", "-overwrite")...); err == nil || !strings.Contains(err.Error(), "msl, da, bnwb, bnrs, lslr, ca") {
		t.Errorf("-without bogus: %v", err)
	}
}
