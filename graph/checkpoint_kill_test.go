package graph

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// killChildEnv, set to a checkpoint path, turns TestKillHelper into the
// child process of TestCheckpointSurvivesKill.
const killChildEnv = "METAGON_CHECKPOINT_KILL_CHILD"

// killCheckpoint is checkpoint number k of the kill test: about 320 KB, so
// that a save takes long enough for kills to land inside it, with values
// that depend on k, so that a loaded file shows whether it is whole.
func killCheckpoint(k int) *Checkpoint {
	c := &Checkpoint{Model: "kill", Meta: map[string]string{"counter": strconv.Itoa(k)}}
	for j, n := range []int{20000, 15000, 5000} {
		data := make([]float64, n)
		for i := range data {
			data[i] = float64(k) + float64(i+j)/1024
		}
		c.Params = append(c.Params, SavedTensor{Name: fmt.Sprintf("p%d", j), Shape: []int{n}, Dtype: "float64", Data: data})
	}
	return c
}

// TestKillHelper is not a test of its own: run by TestCheckpointSurvivesKill
// as a child process, with killChildEnv set, it loads the checkpoint there,
// prints "ready", then saves checkpoints with counters counting up from the
// loaded one until it is killed (or, should its parent be gone, for 20 s).
func TestKillHelper(t *testing.T) {
	path := os.Getenv(killChildEnv)
	if path == "" {
		t.Skip("the child process of TestCheckpointSurvivesKill")
	}
	c, err := LoadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	k, err := strconv.Atoi(c.Meta["counter"])
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end); {
		k++
		if err := SaveCheckpoint(path, killCheckpoint(k)); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckpointSurvivesKill runs a child process that saves checkpoints in
// a loop (TestKillHelper), SIGKILLs it at a random moment, and checks that
// the checkpoint file loads and is the last one it saw or a newer one;
// kills (100, or 20 with -short) take about 20 ms each here. Kills that
// land mid-save leave a temporary file behind, and the next save must
// remove it (where files can be locked; see checkpoint_tmp.go).
func TestCheckpointSurvivesKill(t *testing.T) {
	kills := 100
	if testing.Short() {
		kills = 20
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.ckpt")
	// Time a few saves, to spread the kills over the first few saves of
	// each child.
	start := time.Now()
	for k := range 3 {
		if err := SaveCheckpoint(path, killCheckpoint(k)); err != nil {
			t.Fatal(err)
		}
	}
	save := time.Since(start) / 3
	last := 2 // the counter in the file

	r := rand.New(rand.NewPCG(7, 8))
	var leftovers []string // temporary files after the previous kill
	midSave, saves := 0, 0
	for i := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillHelper$", "-test.count=1")
		cmd.Env = append(os.Environ(), killChildEnv+"="+path)
		var stderr strings.Builder // read only after Wait
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan error, 1)
		go func() {
			s := bufio.NewScanner(stdout)
			if !s.Scan() || s.Text() != "ready" {
				ready <- fmt.Errorf("child did not print ready (%q, %v)", s.Text(), s.Err())
				return
			}
			ready <- nil
			for s.Scan() { // read to the end, as Wait requires
			}
		}()
		select {
		case err := <-ready:
			if err != nil {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("kill %d: %v; stderr:\n%s", i, err, stderr.String())
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			t.Fatalf("kill %d: child not ready after 20 s; stderr:\n%s", i, stderr.String())
		}
		time.Sleep(time.Duration(r.Int64N(int64(3*save) + 1)))
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		var exit *exec.ExitError
		if err := cmd.Wait(); !errors.As(err, &exit) || exit.Exited() {
			// Exited: it stopped by itself, so the kill tested nothing.
			t.Fatalf("kill %d: child was not killed (%v); stderr:\n%s", i, err, stderr.String())
		}

		temps := tempFiles(t, dir)
		if len(temps) > 0 {
			midSave++
		}
		c, err := LoadCheckpoint(path)
		if err != nil {
			t.Fatalf("kill %d: %v", i, err)
		}
		k, err := strconv.Atoi(c.Meta["counter"])
		if err != nil || k < last {
			t.Fatalf("kill %d: counter %q after %d", i, c.Meta["counter"], last)
		}
		if d := diffCheckpoints(c, killCheckpoint(k)); d != "" {
			t.Fatalf("kill %d: checkpoint %d is not the one saved: %s", i, k, d)
		}
		if k > last && tempLocks {
			// The child completed a save, which removed what earlier
			// children left.
			for _, name := range leftovers {
				if slices.Contains(temps, name) {
					t.Errorf("kill %d: a save did not remove stale temporary file %s", i, name)
				}
			}
		}
		saves += k - last
		last, leftovers = k, temps
	}
	if err := SaveCheckpoint(path, killCheckpoint(last+1)); err != nil {
		t.Fatal(err)
	}
	if tmp := tempFiles(t, dir); tempLocks && len(tmp) != 0 {
		t.Errorf("temporary files left after a save: %v", tmp)
	}
	t.Logf("%d kills, %d mid-save (temporary file left), %d saves completed by the children (a save takes about %v); all %d checkpoints loaded whole and in order",
		kills, midSave, saves, save, kills)
	if midSave == 0 {
		t.Logf("no kill landed mid-save")
	}
}
