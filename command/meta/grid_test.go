package meta

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGrid: -grid FILE -trial-index N adds line N's flags (comments and
// blank lines are not trials), {trial} becomes N, and the index comes from
// Slurm's or Kubernetes's variable when -trial-index is not given.
func TestGrid(t *testing.T) {
	dir := t.TempDir()
	grid := filepath.Join(dir, "grid.txt")
	os.WriteFile(grid, []byte("# inner rate × meta-batch\n-inner-lr 0.1 -meta-batch 4\n\n-inner-lr 0.2 -meta-batch 8 -seed 7\n-algorithm reptile -inner-lr 0.3\n"), 0o644)
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "")
	parse := func(args ...string) config {
		t.Helper()
		c, err := parseFlags(args, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := parse("-grid", grid, "-trial-index", "1", "-out", filepath.Join(dir, "sweep", "{trial}"), "-meta-batch", "2")
	if c.innerLR != 0.2 || c.metaBatch != 8 || c.seed != 7 || c.trial != 1 || c.out != filepath.Join(dir, "sweep", "1") {
		t.Errorf("trial 1: inner-lr %g, meta-batch %d, seed %d, trial %d, out %s", c.innerLR, c.metaBatch, c.seed, c.trial, c.out)
	}
	if c.trialLine != "-inner-lr 0.2 -meta-batch 8 -seed 7" || c.asJSON()["trial_index"] != 1 {
		t.Errorf("trial 1's line %q, recorded %v", c.trialLine, c.asJSON()["trial_index"])
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "2")
	if c := parse("-grid", grid); c.algorithm != "reptile" || c.innerLR != 0.3 || c.trial != 2 {
		t.Errorf("SLURM_ARRAY_TASK_ID=2: %s, inner-lr %g, trial %d", c.algorithm, c.innerLR, c.trial)
	}
	t.Setenv("SLURM_ARRAY_TASK_ID", "")
	t.Setenv("JOB_COMPLETION_INDEX", "0")
	if c := parse("-grid", grid); c.innerLR != 0.1 || c.metaBatch != 4 {
		t.Errorf("JOB_COMPLETION_INDEX=0: inner-lr %g, meta-batch %d", c.innerLR, c.metaBatch)
	}
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("-seed 3 -grid other.txt\n"), 0o644)
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o644)
	t.Setenv("JOB_COMPLETION_INDEX", "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-grid", grid, "-trial-index", "3"}, "has 3 trials (0 to 2): no trial 3"},
		{[]string{"-grid", grid}, "which trial?"},
		{[]string{"-trial-index", "1"}, "no -grid"},
		{[]string{"-grid", bad, "-trial-index", "0"}, "line 1: a trial cannot set -grid"},
		{[]string{"-grid", empty, "-trial-index", "0"}, "no trials"},
		{[]string{"-grid", filepath.Join(dir, "missing.txt"), "-trial-index", "0"}, "no such file"},
	} {
		if _, err := parseFlags(tc.args, io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.args, err, tc.want)
		}
	}
}
