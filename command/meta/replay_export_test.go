package meta

import (
	"encoding/binary"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestExportReplay writes what a metagon Omniglot run starts from and
// trains on, for replaying it in PyTorch (scripts/torch_maml_replay.py):
// init.json (initial weights), train.bin (every meta-training episode's
// support and query images, float32) and test.bin (the test episodes).
// It skips unless METAGON_REPLAY_DIR names the output directory;
// METAGON_REPLAY_ARGS holds the cmd/meta flags (default: the 200-iteration
// MAML run, seed 1).
func TestExportReplay(t *testing.T) {
	dir := os.Getenv("METAGON_REPLAY_DIR")
	if dir == "" {
		t.Skip("METAGON_REPLAY_DIR not set: see scripts/torch_maml_replay.py")
	}
	args := []string{"-dataset", "omniglot", "-iterations", "200", "-eval-tasks", "300", "-seed", "1"}
	if a := os.Getenv("METAGON_REPLAY_ARGS"); a != "" {
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			t.Fatalf("METAGON_REPLAY_ARGS: want a JSON list of flags: %v", err)
		}
	}
	c, err := parseFlags(args, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	l, src, err := setup(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	ck := l.Params().Snapshot(learnerKey(l))
	ck.Meta["iterations"], ck.Meta["meta_batch"] = strconv.Itoa(c.iterations), strconv.Itoa(c.metaBatch)
	ck.Meta["eval_tasks"], ck.Meta["inner_lr"] = strconv.Itoa(c.evalTasks), strconv.FormatFloat(c.innerLR, 'g', -1, 64)
	raw, err := json.Marshal(ck)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "init.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	write := func(name string, batches func(yield func(x []float64) bool)) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		buf := make([]float32, 0, 1<<16)
		for x := range batches {
			buf = buf[:0]
			for _, v := range x {
				buf = append(buf, float32(v))
			}
			if err := binary.Write(f, binary.LittleEndian, buf); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("train.bin", func(yield func([]float64) bool) {
		for it := range c.iterations {
			for _, task := range src.Train(it, c.metaBatch) {
				if !yield(task.SupportX) || !yield(task.QueryX) {
					return
				}
			}
		}
	})
	write("test.bin", func(yield func([]float64) bool) {
		for _, task := range src.Test(c.evalTasks) {
			if !yield(task.SupportX) || !yield(task.QueryX) {
				return
			}
		}
	})
}
