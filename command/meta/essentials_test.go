package meta

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/earlystop"
)

// TestEssentialsBadFlags: bad values of -lr-schedule, -clip-norm and
// -early-stop, and a best learner's file in the way, get one line naming
// the flag, before any training.
func TestEssentialsBadFlags(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	os.WriteFile(bestPath(ck), []byte("a best learner"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-lr-schedule", "cos"}, `-lr-schedule "cos": unknown schedule "cos" (want constant, step:EVERY:GAMMA, exp:GAMMA, cosine`},
		{[]string{"-lr-schedule", "exp:0"}, `-lr-schedule "exp:0": exp: gamma "0": want a number above 0 (syntax exp:GAMMA)`},
		{[]string{"-lr-schedule", "linear:steps=10:warmup=2"}, `linear: unknown argument "warmup"`},
		{[]string{"-clip-norm", "-1"}, "-clip-norm -1: want a finite norm ≥ 0"},
		{[]string{"-early-stop", "-2"}, "-early-stop -2: want a number of validations ≥ 0"},
		{[]string{"-early-stop", "2", "-checkpoint", ck}, "-checkpoint " + bestPath(ck) + " already exists: add -resume"},
	} {
		before, _ := os.ReadDir(dir)
		_, err := runMeta(t, append(c.args, "-out", dir, "-no-plots")...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v; want one line with %q", c.args, err, c.want)
		}
		if after, _ := os.ReadDir(dir); len(after) != len(before) {
			t.Errorf("%v: files written to %s", c.args, dir)
		}
	}
}

// TestScheduleResumeMatchesUninterrupted: MAML with a cosine schedule with
// warm-up and a clipped meta-gradient, 30 iterations straight, equals 15,
// a checkpoint, and -resume to 30 given neither the schedule nor
// -outer-lr nor -clip-norm (taken from the checkpoint), bit for bit; the
// outer rate at the end is the schedule's.
func TestScheduleResumeMatchesUninterrupted(t *testing.T) {
	dir := t.TempDir()
	const spec, lr = "cosine:steps=30:warmup=4:min=1e-4", 0.01
	args := func(iters, ckpt string, extra ...string) []string {
		return append([]string{"-algorithm", "maml", "-meta-batch", "4", "-eval-tasks", "5", "-no-plots",
			"-out", dir, "-iterations", iters, "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
	}
	essentials := []string{"-lr-schedule", spec, "-outer-lr", strconv.FormatFloat(lr, 'g', -1, 64), "-clip-norm", "0.5"}
	if _, err := runMeta(t, args("30", "straight.ckpt", essentials...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := runMeta(t, args("15", "split.ckpt", essentials...)...); err != nil {
		t.Fatal(err)
	}
	if _, err := runMeta(t, args("30", "split.ckpt", "-resume")...); err != nil {
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
	if !reflect.DeepEqual(a.Params, b.Params) || !reflect.DeepEqual(a.Optimizer, b.Optimizer) {
		t.Errorf("the resumed run differs from the straight one")
	}
	if b.Meta[metaLRSchedule] != spec || b.Meta[metaClipNorm] != "0.5" {
		t.Errorf("resumed checkpoint records schedule %q, clip norm %q", b.Meta[metaLRSchedule], b.Meta[metaClipNorm])
	}
	s, err := graph.ParseSchedule(spec, 30)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.Optimizer.LR, s.Rate(lr, 30); got != want || b.Optimizer.Step != 30 {
		t.Errorf("outer rate after %d steps %v, want the schedule's %v after 30", b.Optimizer.Step, got, want)
	}
}

// TestEarlyStopMeta: a run's validation losses (every 2 iterations, no
// early stop) say where -early-stop 2 must stop and which learner is the
// best; the run with it stops there, saves the checkpoint there, keeps
// the best learner in CHECKPOINT.best (the learner of a run that ends at
// that iteration), evaluates that one and says so in metrics.json; its
// -resume trains no further.
func TestEarlyStopMeta(t *testing.T) {
	const patience = 2
	base := []string{"-algorithm", "maml", "-meta-batch", "4", "-eval-tasks", "5", "-no-plots", "-eval-every", "2", "-outer-lr", "0.01"}
	run := func(dir string, extra ...string) report {
		t.Helper()
		if _, err := runMeta(t, append(append(base, "-out", dir), extra...)...); err != nil {
			t.Fatal(err)
		}
		var rep report
		if raw, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err != nil {
			t.Fatal(err)
		} else if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	full := run(t.TempDir(), "-iterations", "60")
	best, bestIt, since, stopAt := 0.0, 0, 0, 0
	for _, p := range full.Curve {
		if p.Iteration%2 != 0 {
			continue
		}
		if bestIt == 0 || p.ValidPost < best {
			best, bestIt, since = p.ValidPost, p.Iteration, 0
		} else if since++; since == patience {
			stopAt = p.Iteration
			break
		}
	}
	if stopAt == 0 {
		t.Fatalf("the validation loss of 60 iterations never stalls for %d validations: no early stop to test", patience)
	}
	t.Logf("the validations call for a stop after iteration %d, the best after %d", stopAt, bestIt)
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	rep := run(dir, "-iterations", "60", "-early-stop", strconv.Itoa(patience), "-checkpoint", ck)
	last := rep.Curve[len(rep.Curve)-1].Iteration
	if !rep.StoppedEarly || rep.Iterations != stopAt || last != stopAt || rep.BestIteration != bestIt {
		t.Fatalf("stopped early %v at iteration %d (curve to %d), best %d; want a stop at %d, best %d",
			rep.StoppedEarly, rep.Iterations, last, rep.BestIteration, stopAt, bestIt)
	}
	load := func(path string) *graph.Checkpoint {
		t.Helper()
		c, err := graph.LoadCheckpoint(path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	short := filepath.Join(t.TempDir(), "short.ckpt")
	run(filepath.Dir(short), "-iterations", strconv.Itoa(bestIt), "-checkpoint", short)
	if b, s := load(bestPath(ck)), load(short); !reflect.DeepEqual(b.Params, s.Params) || b.Meta["iteration"] != strconv.Itoa(bestIt) {
		t.Errorf("the best learner (iteration %s) is not the learner after iteration %d", b.Meta["iteration"], bestIt)
	}
	stopped := load(ck)
	if stopped.Meta["iteration"] != strconv.Itoa(stopAt) || stopped.Meta[earlystop.AtKey("iteration")] != strconv.Itoa(bestIt) || stopped.Meta[earlystop.SinceKey] != strconv.Itoa(patience) {
		t.Errorf("checkpoint at iteration %s, best %s, %s since", stopped.Meta["iteration"], stopped.Meta[earlystop.AtKey("iteration")], stopped.Meta[earlystop.SinceKey])
	}
	again := run(dir, "-resume", "-checkpoint", ck, "-iterations", "60")
	if again.Iterations != stopAt || again.BestIteration != bestIt || !again.StoppedEarly || !reflect.DeepEqual(again.Eval, rep.Eval) {
		t.Errorf("-resume of a run that stopped early: at iteration %d, best %d; want no training, the same evaluation", again.Iterations, again.BestIteration)
	}
	if !reflect.DeepEqual(load(ck).Params, stopped.Params) {
		t.Error("-resume of a run that stopped early changed its checkpoint")
	}
}
