package meta

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Sweeps. A grid file lists a sweep's trials, one per line, each line the
// flags that trial adds to the command line, e.g.
//
//	# inner rate × meta-batch
//	-inner-lr 0.1 -meta-batch 16
//	-inner-lr 0.4 -meta-batch 16
//	-inner-lr 0.4 -meta-batch 32
//
// and `meta -grid FILE -trial-index N -out runs/sweep/{trial} ...` runs
// trial N (from 0; blank lines and lines starting with # are not
// trials): the command line, then the trial's flags (which win where both
// set one), with {trial} replaced by N in every argument. Without
// -trial-index the index is $SLURM_ARRAY_TASK_ID (a Slurm job array:
// sbatch --array=0-2) or $JOB_COMPLETION_INDEX (a Kubernetes indexed Job).
// A line's flags are split at spaces; there is no quoting.

// trialArgs returns args with the trial's index and flags added and
// {trial} replaced, and the trial's line; explicit says -trial-index was
// given.
func (c *config) trialArgs(args []string, explicit bool) ([]string, string, error) {
	if c.grid == "" {
		return nil, "", fmt.Errorf("-trial-index %d: there is no -grid to pick the trial from", c.trial)
	}
	if !explicit {
		for _, v := range []string{"SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"} {
			if s := os.Getenv(v); s != "" {
				n, err := strconv.Atoi(s)
				if err != nil {
					return nil, "", fmt.Errorf("-grid %s: $%s is %q, not a trial index", c.grid, v, s)
				}
				c.trial = n
				break
			}
		}
		if c.trial < 0 {
			return nil, "", fmt.Errorf("-grid %s: which trial? give -trial-index N (or run as a Slurm job array, $SLURM_ARRAY_TASK_ID, or a Kubernetes indexed Job, $JOB_COMPLETION_INDEX)", c.grid)
		}
	}
	trials, err := readGrid(c.grid)
	if err != nil {
		return nil, "", err
	}
	if c.trial < 0 || c.trial >= len(trials) {
		return nil, "", fmt.Errorf("-grid %s has %d trials (0 to %d): no trial %d", c.grid, len(trials), len(trials)-1, c.trial)
	}
	line := trials[c.trial]
	n := strconv.Itoa(c.trial)
	out := make([]string, 0, len(args)+2+len(line.flags))
	for _, a := range append(append(append([]string{}, args...), "-trial-index", n), line.flags...) {
		out = append(out, strings.ReplaceAll(a, "{trial}", n))
	}
	for _, f := range line.flags {
		if name := strings.TrimLeft(strings.SplitN(f, "=", 2)[0], "-"); strings.HasPrefix(f, "-") && (name == "grid" || name == "trial-index") {
			return nil, "", fmt.Errorf("-grid %s line %d: a trial cannot set -%s", c.grid, line.number, name)
		}
	}
	return out, line.text, nil
}

// gridLine is one trial of a grid file.
type gridLine struct {
	number int // in the file, from 1
	text   string
	flags  []string
}

// readGrid reads a grid file's trials.
func readGrid(path string) ([]gridLine, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("-grid: %w", err)
	}
	defer f.Close()
	var trials []gridLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		trials = append(trials, gridLine{number: n, text: text, flags: strings.Fields(text)})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("-grid %s: %w", path, err)
	}
	if len(trials) == 0 {
		return nil, fmt.Errorf("-grid %s has no trials (one line of flags per trial)", path)
	}
	return trials, nil
}
