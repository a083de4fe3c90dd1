package meta

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/commtest"
)

// runRanks runs the command as size goroutine ranks (commtest), rank r
// with args and then extra[r], and returns each one's stdout and error.
func runRanks(t *testing.T, ctxs []context.Context, args []string, extra ...[]string) ([]string, []error) {
	t.Helper()
	size := len(extra)
	group := commtest.Group(size)
	outs, errs := make([]bytes.Buffer, size), make([]error, size)
	var wg sync.WaitGroup
	for r := range size {
		ctx := context.Background()
		if ctxs != nil {
			ctx = ctxs[r]
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = runIn(ctx, group[r], append(append([]string{}, args...), extra[r]...), &outs[r], io.Discard, quietLog())
		}()
	}
	wg.Wait()
	s := make([]string, size)
	for r := range outs {
		s[r] = outs[r].String()
	}
	return s, errs
}

// TestRanksMatchOneProcess: MAML on sinusoids split across 2 and 3 ranks
// writes, from rank 0, the checkpoint one process writes, byte for byte;
// the other ranks write and print nothing.
func TestRanksMatchOneProcess(t *testing.T) {
	dir := t.TempDir()
	args := []string{"-iterations", "20", "-eval-tasks", "5", "-no-plots", "-workers", "1", "-checkpoint-every", "7"}
	one := filepath.Join(dir, "one")
	if _, err := runMeta(t, append(args, "-out", one, "-checkpoint", filepath.Join(one, "run.ckpt"))...); err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join(one, "run.ckpt"))
	if err != nil {
		t.Fatal(err)
	}
	for size, outs := range ranksMatchOneProcess(t, dir, args, want) {
		if !strings.Contains(outs[0], "query MSE") {
			t.Errorf("%d ranks: rank 0 printed no evaluation:\n%s", size, outs[0])
		}
		for r := 1; r < size; r++ {
			if outs[r] != "" {
				t.Errorf("%d ranks: rank %d printed %q", size, r, outs[r])
			}
			d := filepath.Join(dir, "ranks", string(rune('0'+size)), string(rune('0'+r))) // its -out
			if _, err := os.Stat(d); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%d ranks: rank %d wrote to its -out (%v)", size, r, err)
			}
		}
	}
}

// TestRanksProtoNetMatchOneProcess: ProtoNet on Omniglot with meta-batches
// of 4 episodes split across 2 and 3 ranks writes, from rank 0, the
// checkpoint of one process, byte for byte (the episode count of the
// learning-rate halving included: 4 per iteration).
func TestRanksProtoNetMatchOneProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	data := omniglotDir(t)
	dir := t.TempDir()
	args := []string{"-dataset", "omniglot", "-data", data, "-algorithm", "protonet", "-filters", "8", "-train-ways", "5",
		"-queries", "2", "-eval-queries", "1", "-eval-tasks", "2", "-iterations", "3", "-meta-batch", "4", "-no-plots", "-workers", "1"}
	one := filepath.Join(dir, "one", "run.ckpt")
	if _, err := runMeta(t, append(args, "-out", filepath.Dir(one), "-checkpoint", one)...); err != nil {
		t.Fatal(err)
	}
	want, err := graph.LoadCheckpoint(one)
	if err != nil {
		t.Fatal(err)
	}
	if want.Meta["protonet.episodes"] != "12" {
		t.Errorf("one process counted %s episodes, want 12", want.Meta["protonet.episodes"])
	}
	wantBytes, err := os.ReadFile(one)
	if err != nil {
		t.Fatal(err)
	}
	ranksMatchOneProcess(t, dir, args, wantBytes)
}

// ranksMatchOneProcess runs the command with args as 2 and 3 ranks (each
// with its own -out and -checkpoint under dir) and checks that rank 0's
// checkpoint is want, one process's, byte for byte. It returns each group
// size's outputs by rank.
func ranksMatchOneProcess(t *testing.T, dir string, args []string, want []byte) map[int][]string {
	t.Helper()
	all := map[int][]string{}
	for _, size := range []int{2, 3} {
		extra := make([][]string, size)
		for r := range extra {
			d := filepath.Join(dir, "ranks", string(rune('0'+size)), string(rune('0'+r)))
			extra[r] = []string{"-out", d, "-checkpoint", filepath.Join(d, "run.ckpt")}
		}
		outs, errs := runRanks(t, nil, args, extra...)
		for r, err := range errs {
			if err != nil {
				t.Fatalf("%d ranks, rank %d: %v", size, r, err)
			}
		}
		got, err := os.ReadFile(extra[0][3])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d ranks: rank 0's checkpoint differs from one process's", size)
		}
		all[size] = outs
	}
	return all
}

// TestRanksStopTogether: an interrupt seen by one rank stops every rank
// at the same iteration, rank 0 saving the checkpoint; ranks started with
// other flags refuse to run, naming the rank. Both endings are agreed (no
// abort).
func TestRanksStopTogether(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "run.ckpt")
	args := []string{"-iterations", "20", "-eval-tasks", "5", "-no-plots", "-workers", "1", "-out", dir, "-checkpoint", ckpt}
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	_, errs := runRanks(t, []context.Context{context.Background(), cancelled}, args, nil, nil)
	for r, err := range errs {
		var ag agreedError
		if err == nil || !errors.As(err, &ag) || !strings.Contains(err.Error(), "interrupted after 0 iterations") {
			t.Errorf("rank %d: %v, want an agreed interrupt after 0 iterations", r, err)
		}
	}
	if _, err := os.Stat(ckpt); err != nil {
		t.Errorf("rank 0 saved no checkpoint: %v", err)
	}
	_, errs = runRanks(t, nil, []string{"-iterations", "2", "-no-plots", "-out", filepath.Join(dir, "seeds")}, nil, []string{"-seed", "2"})
	for r, err := range errs {
		var ag agreedError
		if err == nil || !errors.As(err, &ag) || !strings.Contains(err.Error(), "rank 1 starts another run than rank 0") {
			t.Errorf("rank %d with other seeds: %v", r, err)
		}
	}
	_, errs = runRanks(t, nil, []string{"-algorithm", "cnp", "-dataset", "gp", "-iterations", "2", "-no-plots", "-out", filepath.Join(dir, "cnp")}, nil, nil)
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "does not split its meta-batch") {
			t.Errorf("rank %d, cnp: %v", r, err)
		}
	}
}
