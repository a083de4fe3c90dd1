package meta

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/sirupsen/logrus"
)

func quietLog() *logrus.Logger {
	l := logrus.New()
	l.SetOutput(io.Discard)
	return l
}

func runMeta(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, io.Discard, quietLog())
	return out.String(), err
}

// TestBadFlags: each bad command line fails with one clear line.
func TestBadFlags(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("nope"), 0o644)
	// a checkpoint of another algorithm
	other := filepath.Join(dir, "reptile.ckpt")
	if _, err := runMeta(t, "-algorithm", "reptile", "-iterations", "2", "-eval-tasks", "2", "-no-plots", "-out", dir, "-checkpoint", other); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-algorithm", "snail"}, "want one of"},
		{[]string{"-dataset", "imagenet"}, "want one of"},
		{[]string{"-dataset", "gp", "-iterations", "1", "-no-plots"}, "varying size"}, // maml on tasks of varying size
		{[]string{"-dataset", "gp", "-algorithm", "cnp", "-zero-head"}, "no inner loop"},
		{[]string{"-dataset", "gp", "-algorithm", "transfer"}, "pre-trains on the classes of an image data set"},
		{[]string{"-dataset", "gp", "-algorithm", "cnp", "-export-torch", filepath.Join(dir, "cnp.npz")}, "model cnp has no PyTorch module"},
		{[]string{"-algorithm", "cnp", "-model", "mann", "-import-torch", filepath.Join(dir, "mann.npz")}, "model mann has no PyTorch module"},
		{[]string{"-shots", "-1"}, "at least 1"},
		{[]string{"-train-shots", "-1"}, "at least 1"},
		{[]string{"-meta-batch", "-1"}, "at least 1"},
		{[]string{"-dtype", "float16"}, "float64 or float32"},
		{[]string{"-resume"}, "need -checkpoint"},
		{[]string{"-eval", "-checkpoint", garbage}, "not a metagon checkpoint"},
		{[]string{"-eval", "-checkpoint", filepath.Join(dir, "missing.ckpt")}, "does not exist"},
		{[]string{"-eval", "-algorithm", "maml", "-checkpoint", other}, "is for model"}, // -algorithm given: not taken from the checkpoint
		{[]string{"-algorithm", "maml", "-inner-lr", "1e200", "-iterations", "5", "-no-plots", "-out", dir}, "meta-loss is"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			_, err := runMeta(t, append(c.args, "-out", t.TempDir())...)
			if err == nil {
				t.Fatalf("no error; want one mentioning %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q: want one line mentioning %q", err, c.want)
			}
		})
	}
}

// TestTrainShotsDefault: training episodes have -shots examples per class,
// except Reptile on Omniglot, which trains on 10-shot episodes as Nichol
// et al. do; -train-shots overrides both.
func TestTrainShotsDefault(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"-dataset", "omniglot"}, 1},
		{[]string{"-dataset", "omniglot", "-shots", "5"}, 5},
		{[]string{"-dataset", "omniglot", "-algorithm", "reptile"}, 10},
		{[]string{"-dataset", "omniglot", "-algorithm", "reptile", "-train-shots", "3"}, 3},
		{[]string{"-algorithm", "reptile"}, 10},
		{[]string{"-algorithm", "reptile", "-shots", "5"}, 5},
	}
	for _, c := range cases {
		if cfg := parsed(t, c.args); cfg.trainShots != c.want {
			t.Errorf("%v: train shots %d, want %d", c.args, cfg.trainShots, c.want)
		}
	}
}

// parsed returns the configuration args give, defaults applied.
func parsed(t *testing.T, args []string) config {
	t.Helper()
	c, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestEvalStepsDefault: 10 test-time steps, none for ProtoNet, and
// Nichol et al.'s 50 for Reptile on Omniglot; -eval-steps wins.
func TestEvalStepsDefault(t *testing.T) {
	cases := []struct {
		args []string
		want int
	}{
		{[]string{"-dataset", "omniglot"}, 10},
		{[]string{"-dataset", "omniglot", "-algorithm", "protonet"}, 0},
		{[]string{"-dataset", "omniglot", "-algorithm", "reptile"}, 50},
		{[]string{"-dataset", "omniglot", "-algorithm", "reptile", "-eval-steps", "3"}, 3},
		{[]string{"-algorithm", "reptile"}, 10},
	}
	for _, c := range cases {
		if cfg := parsed(t, c.args); cfg.evalSteps != c.want {
			t.Errorf("%v: eval steps %d, want %d", c.args, cfg.evalSteps, c.want)
		}
	}
}

// TestResumeMatchesUninterrupted: 30 iterations straight must equal 15
// iterations, a checkpoint, and -resume to 30, bit for bit. (Reptile is
// left out: its ε schedule is annealed over -iterations, which differs
// between the two halves by design.)
func TestResumeMatchesUninterrupted(t *testing.T) {
	for _, alg := range []string{"maml", "fomaml", "metasgd", "anil"} {
		t.Run(alg, func(t *testing.T) {
			dir := t.TempDir()
			args := func(iters, ckpt string, extra ...string) []string {
				return append([]string{"-algorithm", alg, "-meta-batch", "4", "-eval-tasks", "5", "-no-plots",
					"-out", dir, "-iterations", iters, "-checkpoint", filepath.Join(dir, ckpt)}, extra...)
			}
			if _, err := runMeta(t, args("30", "straight.ckpt")...); err != nil {
				t.Fatal(err)
			}
			if _, err := runMeta(t, args("15", "split.ckpt")...); err != nil {
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
			if b.Meta["iteration"] != "30" {
				t.Fatalf("resumed checkpoint at iteration %s, want 30", b.Meta["iteration"])
			}
			// the resumed run's curve continues the first half's
			var rep report
			if raw, err := os.ReadFile(filepath.Join(dir, "metrics.json")); err != nil {
				t.Fatal(err)
			} else if err := json.Unmarshal(raw, &rep); err != nil {
				t.Fatal(err)
			}
			for i, p := range rep.Curve {
				if p.Iteration != i+1 || len(rep.Curve) != 30 {
					t.Fatalf("curve of the resumed run: point %d at iteration %d of %d points; want iterations 1..30", i, p.Iteration, len(rep.Curve))
				}
			}
			for i := range a.Params {
				for k := range a.Params[i].Data {
					if a.Params[i].Data[k] != b.Params[i].Data[k] {
						t.Fatalf("%s[%d]: %v straight, %v resumed", a.Params[i].Name, k, a.Params[i].Data[k], b.Params[i].Data[k])
					}
				}
			}
		})
	}
}

// TestReptileCheckpointKeepsInnerAdam: Reptile with a carried inner Adam
// saves that Adam's state with the meta-parameters, and -resume restores it
// (the resumed run's state has taken the first run's steps plus its own).
func TestReptileCheckpointKeepsInnerAdam(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "reptile.ckpt")
	args := func(iters string, extra ...string) []string {
		return append([]string{"-algorithm", "reptile", "-inner-adam", "-inner-lr", "0.001", "-meta-batch", "2", "-inner-steps", "3",
			"-eval-tasks", "2", "-no-plots", "-out", dir, "-iterations", iters, "-checkpoint", ckpt}, extra...)
	}
	stepsAt := func(want string) int64 {
		t.Helper()
		ck, err := graph.LoadCheckpoint(ckpt)
		if err != nil {
			t.Fatal(err)
		}
		inner, ok := ck.States["inner"]
		if ck.Meta["iteration"] != want || !ok || inner.Kind != "adam" {
			t.Fatalf("checkpoint at iteration %s with inner state %+v; want iteration %s and an Adam state", ck.Meta["iteration"], inner, want)
		}
		return inner.Step
	}
	if _, err := runMeta(t, args("4")...); err != nil {
		t.Fatal(err)
	}
	if got, want := stepsAt("4"), int64(4*2*3); got != want {
		t.Errorf("inner Adam took %d steps in 4 iterations of 2 tasks × 3 steps, want %d", got, want)
	}
	if _, err := runMeta(t, args("6", "-resume")...); err != nil {
		t.Fatal(err)
	}
	if got, want := stepsAt("6"), int64(6*2*3); got != want {
		t.Errorf("after -resume to 6 iterations the inner Adam took %d steps, want %d", got, want)
	}
	if _, err := runMeta(t, args("4", "-fresh-adam", "-overwrite")...); err != nil {
		t.Fatal(err)
	}
	ck, err := graph.LoadCheckpoint(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if inner, ok := ck.States["inner"]; ok {
		t.Errorf("-fresh-adam checkpoint has an inner state %+v, want none", inner)
	}
}

// TestDefaultRunWritesReport runs a short default-style run and checks the
// outputs a user gets: the table, metrics.json and the plots.
func TestDefaultRunWritesReport(t *testing.T) {
	dir := t.TempDir()
	out, err := runMeta(t, "-iterations", "40", "-eval-tasks", "20", "-out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| 10 |") || !strings.Contains(out, "±") {
		t.Errorf("evaluation table missing:\n%s", out)
	}
	b, err := os.ReadFile(filepath.Join(dir, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	if m["algorithm"] != "maml" || m["iterations"].(float64) != 40 {
		t.Errorf("metrics.json: %v", m)
	}
	for _, f := range []string{"learning_curve.png", "fits.png"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// omniglotDir finds Omniglot the way the tool does, or skips (fails in CI).
func omniglotDir(t *testing.T) string {
	t.Helper()
	dir := data.OmniglotDirOrSkip(t)
	t.Setenv("XDG_CACHE_HOME", omniglotCache) // keep the decoded cache out of the user's home
	return dir
}

var omniglotCache = filepath.Join(os.TempDir(), "metagon-test-cache")

// TestOmniglotBadInput: impossible episodes and missing data fail with one
// clear line.
func TestOmniglotBadInput(t *testing.T) {
	dir := omniglotDir(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-dataset", "omniglot", "-data", dir, "-ways", "3000", "-algorithm", "protonet"}, "cannot sample 3000-way episodes"},
		{[]string{"-dataset", "omniglot", "-data", dir, "-shots", "15", "-eval-queries", "10"}, "too many"},
		{[]string{"-dataset", "omniglot", "-data", dir, "-train-ways", "20", "-ways", "5"}, "differs from -ways"},
		{[]string{"-dataset", "omniglot", "-data", filepath.Join(t.TempDir(), "none")}, "does not exist"},
		{[]string{"-dataset", "omniglot", "-data", dir, "-split", "lake"}, "want background or vinyals"},
		{[]string{"-dataset", "omniglot", "-data", dir, "-resize", "bicubic"}, "want one of area, lanczos"},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args[2:], " "), func(t *testing.T) {
			_, err := runMeta(t, append(c.args, "-iterations", "1", "-no-plots", "-out", t.TempDir())...)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v: want one line mentioning %q", err, c.want)
			}
		})
	}
}

// TestOmniglotRun meta-trains ProtoNet and MAML for a few episodes with a
// small network and checks the report a user gets.
func TestOmniglotRun(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	dir := omniglotDir(t)
	out := t.TempDir()
	stdout, err := runMeta(t, "-dataset", "omniglot", "-data", dir, "-algorithm", "protonet", "-train-ways", "10",
		"-iterations", "3", "-eval-tasks", "10", "-out", out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "query accuracy") {
		t.Errorf("no accuracy table:\n%s", stdout)
	}
	if strings.Contains(stdout, "inner steps") {
		t.Errorf("ProtoNet's table talks about inner steps, which it does not have:\n%s", stdout)
	}
	for _, f := range []string{"metrics.json", "learning_curve.png", "episode.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
}

// TestInnerLRKeepsInnerOptimizer: an explicit -inner-lr changes the inner
// rate only; Reptile on Omniglot keeps its Adam inner loop (it used to
// switch silently to SGD).
func TestInnerLRKeepsInnerOptimizer(t *testing.T) {
	c := parsed(t, []string{"-dataset", "omniglot", "-algorithm", "reptile", "-inner-lr", "0.002"})
	if c.innerLR != 0.002 || !c.innerAdam {
		t.Errorf("-inner-lr 0.002: inner lr %g, inner Adam %v; want 0.002 and Adam", c.innerLR, c.innerAdam)
	}
	if c := parsed(t, []string{"-dataset", "omniglot", "-algorithm", "reptile", "-inner-adam=false"}); c.innerAdam {
		t.Errorf("-inner-adam=false kept Adam")
	}
}

// TestModelFlag: -model, -filters and -hidden choose any registered model
// wherever the shapes fit, and refuse in one line where they do not.
func TestModelFlag(t *testing.T) {
	out, err := runMeta(t, "-model", "mlp", "-hidden", "16,16", "-iterations", "3", "-eval-tasks", "2", "-no-plots", "-out", t.TempDir())
	if err != nil || !strings.Contains(out, "mlp-1-16-16-1") {
		t.Errorf("-model mlp -hidden 16,16 on sinusoids: %v\n%s", err, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-model", "conv4"}, "takes images"},
		{[]string{"-model", "resnet"}, "unknown model"},
		{[]string{"-hidden", "16,x"}, "positive widths"},
		{[]string{"-filters", "8"}, "no filters"},
	} {
		_, err := runMeta(t, append(c.args, "-iterations", "1", "-no-plots", "-out", t.TempDir())...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line mentioning %q", c.args, err, c.want)
		}
	}
}
