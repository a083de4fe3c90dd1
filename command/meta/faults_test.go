package meta

// Fault tests: a run never loses work. Each test names the defect of the
// issue "Never lose a run" it guards against.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/cli"
)

// TestMain lets a test run the real Main() in a child process.
func TestMain(m *testing.M) {
	if args, ok := os.LookupEnv("METAGON_META_ARGS"); ok {
		os.Args = append([]string{"meta"}, strings.Fields(args)...)
		Main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// hashes returns the SHA-256 of every file under dir, by relative path.
func hashes(t *testing.T, dir string) map[string][32]byte {
	t.Helper()
	h := map[string][32]byte{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			h[rel] = sha256.Sum256(b)
		}
		return nil
	})
	return h
}

// unchanged reports the files of before that differ or are gone in after.
func unchanged(t *testing.T, before, after map[string][32]byte) {
	t.Helper()
	for name, h := range before {
		if g, ok := after[name]; !ok {
			t.Errorf("%s was removed", name)
		} else if g != h {
			t.Errorf("%s was changed", name)
		}
	}
}

// readReport parses a metrics.json or eval.json.
func readReport(t *testing.T, path string) report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}

// TestEvalKeepsTrainingRecord (defect 2): -eval writes eval.json and
// eval_fits.png and leaves the training run's metrics.json and curve as
// they were; it needs no flag but -checkpoint.
func TestEvalKeepsTrainingRecord(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "c.ckpt")
	if _, err := runMeta(t, "-algorithm", "fomaml", "-iterations", "20", "-eval-tasks", "5", "-checkpoint", ck, "-out", dir); err != nil {
		t.Fatal(err)
	}
	before := hashes(t, dir)
	out, err := runMeta(t, "-eval", "-checkpoint", ck, "-eval-tasks", "7", "-out", dir)
	if err != nil {
		t.Fatal(err)
	}
	unchanged(t, before, hashes(t, dir))
	if !strings.Contains(out, "fomaml/") || !strings.Contains(out, "7 held-out tasks") {
		t.Errorf("-eval did not evaluate the checkpoint's fomaml on 7 tasks:\n%s", out)
	}
	ev := readReport(t, filepath.Join(dir, evalFile))
	if ev.Checkpoint != ck || ev.Eval["tasks"].(float64) != 7 || len(ev.Curve) != 0 {
		t.Errorf("eval.json: checkpoint %q, eval %v, %d curve points", ev.Checkpoint, ev.Eval, len(ev.Curve))
	}
	if _, err := os.Stat(filepath.Join(dir, "eval_fits.png")); err != nil {
		t.Error(err)
	}
	if tr := readReport(t, filepath.Join(dir, metricsFile)); len(tr.Curve) != 20 {
		t.Errorf("metrics.json has %d curve points after -eval, want the 20 of training", len(tr.Curve))
	}
}

// TestFreshRunKeepsCheckpoint (defect 3): a fresh run refuses to replace an
// existing checkpoint, naming -resume and -overwrite, before any work;
// -overwrite replaces it.
func TestFreshRunKeepsCheckpoint(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "good.ckpt")
	args := []string{"-iterations", "5", "-eval-tasks", "2", "-no-plots", "-checkpoint", ck, "-out", dir}
	if _, err := runMeta(t, args...); err != nil {
		t.Fatal(err)
	}
	before := hashes(t, dir)
	_, err := runMeta(t, args...)
	if err == nil || !strings.Contains(err.Error(), "-resume") || !strings.Contains(err.Error(), "-overwrite") {
		t.Fatalf("second fresh run: error %v, want a refusal naming -resume and -overwrite", err)
	}
	unchanged(t, before, hashes(t, dir))
	if _, err := runMeta(t, append(args, "-overwrite", "-seed", "2")...); err != nil {
		t.Fatal(err)
	}
	if ck2, err := graph.LoadCheckpoint(ck); err != nil || ck2.Meta["seed"] != "2" {
		t.Errorf("-overwrite: checkpoint seed %v (%v), want the new run's 2", ck2, err)
	}
}

// TestOutputPathsCheckedFirst (defect 4): unusable -out and -checkpoint
// paths are refused before the first iteration, and nothing is written.
func TestOutputPathsCheckedFirst(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "afile")
	os.WriteFile(file, []byte("x"), 0o644)
	sub := filepath.Join(dir, "somedir")
	os.Mkdir(sub, 0o755)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"-out", filepath.Join(file, "sub"), "-checkpoint", filepath.Join(dir, "x.ckpt")}, "-out " + filepath.Join(file, "sub")},
		{[]string{"-out", filepath.Join(dir, "o"), "-checkpoint", sub}, "is a directory"},
		{[]string{"-out", filepath.Join(dir, "o"), "-checkpoint", filepath.Join(file, "x.ckpt")}, "not a directory"},
	}
	for _, c := range cases {
		before := hashes(t, dir)
		_, err := runMeta(t, append(c.args, "-iterations", "200", "-eval-tasks", "2")...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %q", c.args, err, c.want)
		}
		after := hashes(t, dir)
		unchanged(t, before, after)
		if len(after) != len(before) {
			t.Errorf("%v: files were written: %d before, %d after", c.args, len(before), len(after))
		}
	}
}

// TestDivergenceRecorded (defect 5): a run whose losses overflow writes
// its record with the non-finite values encoded, and fails with one line
// saying it diverged; -eval of its checkpoint does the same.
func TestDivergenceRecorded(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "c.ckpt")
	_, err := runMeta(t, "-outer-lr", "1e6", "-iterations", "60", "-eval-tasks", "5", "-no-plots", "-checkpoint", ck, "-out", dir)
	if err == nil || !strings.Contains(err.Error(), "diverged") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %v, want one line saying the run diverged", err)
	}
	for _, args := range [][]string{nil, {"-eval", "-checkpoint", ck}} {
		if args != nil {
			if _, err := runMeta(t, append(args, "-eval-tasks", "5", "-no-plots", "-out", dir)...); err == nil || !strings.Contains(err.Error(), "diverged") {
				t.Errorf("-eval of a diverged checkpoint: error %v", err)
			}
		}
		name := map[bool]string{true: evalFile, false: metricsFile}[args != nil]
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(`"NaN"`)) && !bytes.Contains(b, []byte(`"+Inf"`)) {
			t.Errorf("%s holds no non-finite value:\n%.400s", name, b)
		}
		readReport(t, filepath.Join(dir, name))
	}
}

// countdown is a context cancelled after its Err has been asked n times:
// the loop asks once per iteration, so it stops after exactly n.
type countdown struct {
	context.Context
	n int
}

func (c *countdown) Err() error {
	if c.n--; c.n < 0 {
		return context.Canceled
	}
	return nil
}

// TestInterruptKeepsCurve (defects 8 and 12): an interrupt after k
// iterations saves the state after iteration k with the curve up to it,
// says so with the right number, and -resume continues with every point.
func TestInterruptKeepsCurve(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "c.ckpt")
	args := []string{"-iterations", "40", "-eval-every", "25", "-checkpoint-every", "100", "-eval-tasks", "2", "-no-plots", "-checkpoint", ck, "-out", dir}
	var out bytes.Buffer
	err := run(&countdown{context.Background(), 17}, args, &out, io.Discard, quietLog())
	if err == nil || err.Error() != "interrupted after 17 iterations" {
		t.Fatalf("error %v, want \"interrupted after 17 iterations\"", err)
	}
	if c, err := graph.LoadCheckpoint(ck); err != nil || c.Meta["iteration"] != "17" {
		t.Fatalf("checkpoint after the interrupt: %v, %v; want iteration 17", c, err)
	}
	if got := readReport(t, filepath.Join(dir, metricsFile)).Curve; len(got) != 17 {
		t.Fatalf("metrics.json after the interrupt: %d curve points, want 17", len(got))
	}
	if _, err := runMeta(t, append(args, "-resume")...); err != nil {
		t.Fatal(err)
	}
	curve := readReport(t, filepath.Join(dir, metricsFile)).Curve
	for i, p := range curve {
		if p.Iteration != i+1 || len(curve) != 40 {
			t.Fatalf("resumed curve: point %d at iteration %d of %d; want iterations 1..40", i, p.Iteration, len(curve))
		}
	}
}

// TestResumeAcrossFirstOrder (defect 12): a maml checkpoint resumes as
// fomaml: the parameters are the same.
func TestResumeAcrossFirstOrder(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "c.ckpt")
	base := []string{"-eval-tasks", "2", "-no-plots", "-checkpoint", ck, "-out", dir}
	if _, err := runMeta(t, append(base, "-iterations", "5")...); err != nil {
		t.Fatal(err)
	}
	if _, err := runMeta(t, append(base, "-iterations", "8", "-resume", "-algorithm", "fomaml")...); err != nil {
		t.Fatal(err)
	}
	if c, err := graph.LoadCheckpoint(ck); err != nil || c.Meta["iteration"] != "8" || c.Meta["algorithm"] != "fomaml" {
		t.Errorf("checkpoint %v (%v), want fomaml at iteration 8", c, err)
	}
}

// TestSIGTERMSaves (defect 6): SIGTERM, as schedulers and docker stop
// send it, stops the real binary like Ctrl-C: exit 1, one line, and a
// checkpoint that -resume continues.
func TestSIGTERMSaves(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "t.ckpt")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "METAGON_META_ARGS=-iterations 1000000 -checkpoint-every 1000000 -eval-tasks 2 -no-plots -checkpoint "+ck+" -out "+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until training has begun (the banner is logged), then a little.
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), "meta-training") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	err := cmd.Wait()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stderr:\n%s", err, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "meta: interrupted after ") || strings.Contains(stderr.String(), "panic") {
		t.Errorf("last line %q, want \"meta: interrupted after N iterations\"", last)
	}
	c, err := graph.LoadCheckpoint(ck)
	if err != nil {
		t.Fatalf("no checkpoint after SIGTERM: %v", err)
	}
	if want := "meta: interrupted after " + c.Meta["iteration"] + " iterations"; last != want {
		t.Errorf("last line %q, checkpoint at iteration %s", last, c.Meta["iteration"])
	}
}

// TestBadInputTable: each bad command line fails before any work with one
// line naming the problem and the exit status cli.Main gives it (2 for a
// bad flag, 1 otherwise), and leaves every existing file as it was.
func TestBadInputTable(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "run.ckpt")
	if _, err := runMeta(t, "-iterations", "3", "-eval-tasks", "2", "-checkpoint", ck, "-out", dir); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "garbage.ckpt")
	os.WriteFile(garbage, []byte("nope"), 0o644)
	cases := []struct {
		args   []string
		want   string
		status int
	}{
		{[]string{"-iterations", "many"}, "invalid value", 2},
		{[]string{"-no-such-flag"}, "not defined", 2},
		{[]string{"extra"}, "unexpected argument", 2},
		{[]string{"-eval-every", "-3"}, "-eval-every -3", 2},
		{[]string{"-eval-steps", "-5"}, "-eval-steps -5", 2},
		{[]string{"-iterations", "-1"}, "-iterations -1", 2},
		{[]string{"-eval-tasks", "0"}, "-eval-tasks 0", 2},
		{[]string{"-scale", "-2"}, "-scale -2: want a positive factor", 2},
		{[]string{"-algorithm", "snail"}, "want one of", 2},
		{[]string{"-resume", "-eval", "-checkpoint", ck}, "choose one", 2},
		{[]string{"-overwrite", "-resume", "-checkpoint", ck}, "fresh run", 2},
		{[]string{"-checkpoint", ck}, "-overwrite", 1},
		{[]string{"-checkpoint", dir}, "is a directory", 1},
		{[]string{"-out", ck}, "-out " + ck, 1},
		{[]string{"-eval", "-checkpoint", garbage}, "not a metagon checkpoint", 1},
		{[]string{"-resume", "-checkpoint", filepath.Join(dir, "none.ckpt")}, "does not exist", 1},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			before := hashes(t, dir)
			args := append([]string{"-out", dir, "-eval-tasks", "2", "-no-plots"}, c.args...)
			_, err := runMeta(t, args...)
			if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v: want one line mentioning %q", err, c.want)
			}
			if s := cli.Status(err); s != c.status {
				t.Errorf("exit status %d, want %d", s, c.status)
			}
			after := hashes(t, dir)
			unchanged(t, before, after)
			if len(after) != len(before) {
				t.Errorf("files were added: %d before, %d after", len(before), len(after))
			}
		})
	}
}
