package meta

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestResumedTimesAddUp: a resumed run's training and validation seconds
// continue those of the record it resumes (metrics.json in -out), with
// the points of its curve up to the checkpoint; its own milliseconds per
// iteration are its own.
func TestResumedTimesAddUp(t *testing.T) {
	dir := t.TempDir()
	old := `{"train_seconds": 100, "validation_seconds": 10, "curve": [{"iteration": 5, "train_query_loss": 1}, {"iteration": 9, "train_query_loss": 2}]}`
	if err := os.WriteFile(filepath.Join(dir, metricsFile), []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	var r report
	r.resumeCurve(config{out: dir}, 5)
	r.setTimes(7*time.Second, 2*time.Second)
	if r.TrainSeconds != 105 || r.ValidSeconds != 12 {
		t.Errorf("train / validation seconds %g / %g; want 100 + 5 and 10 + 2", r.TrainSeconds, r.ValidSeconds)
	}
	if len(r.Curve) != 1 || r.Curve[0].Iteration != 5 {
		t.Errorf("curve %v; want the point at iteration 5 only", r.Curve)
	}
	var fresh report
	fresh.setTimes(7*time.Second, 2*time.Second)
	if fresh.TrainSeconds != 5 || fresh.ValidSeconds != 2 {
		t.Errorf("a fresh run: %g / %g seconds; want 5 and 2", fresh.TrainSeconds, fresh.ValidSeconds)
	}
}
