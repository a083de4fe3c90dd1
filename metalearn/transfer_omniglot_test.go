package metalearn

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/internal/commtest"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// TestTransferLearnsOmniglot pre-trains Conv-4 (16 filters) with a head
// over 193 background characters (every fifth, so most alphabets are
// there; no rotations) on 200 batches of 64 images, about 3 epochs, and
// evaluates 5-way 1-shot with 15 queries per class on 100 episodes of
// the evaluation characters (unseen alphabets), fitting each episode's
// head for 100 steps. The same network untrained, its embedding random,
// is evaluated on the same episodes: pre-training must beat it by 10
// points. (An untrained Conv-4 scores about 55%; chance is 20%.)
func TestTransferLearnsOmniglot(t *testing.T) {
	if testing.Short() {
		t.Skip("pre-trains on Omniglot")
	}
	start := time.Now()
	o := loadOmniglot(t)
	train, test, err := o.Split("background", false)
	if err != nil {
		t.Fatal(err)
	}
	var some []data.Class
	for i := 0; i < len(train); i += 5 {
		some = append(some, train[i])
	}
	b, err := data.NewClassBatches(some, 1)
	if err != nil {
		t.Fatal(err)
	}
	es, err := data.NewSampler(test, data.EpisodeOptions{Ways: 5, Shots: 1, Queries: 15}, 2)
	if err != nil {
		t.Fatal(err)
	}
	tasks := episodes(es, 0, 100)
	newLearner := func() *Transfer {
		l, err := NewTransfer(&models.Conv4{InChannels: 1, Height: 28, Width: 28, Filters: 16},
			TransferOptions{Options: Options{Spec: Spec{Support: 5, Query: 75, Input: []int{1, 28, 28}, Classes: 5}, Seed: 1, Dtype: tensor.Float32}, Classes: len(some)})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	accuracy := func(l *Transfer) float64 {
		ev, err := EvaluateAt(l, tasks, []int{0, 100})
		if err != nil {
			t.Fatal(err)
		}
		return ev.Accuracy[1].Mean
	}
	untrained := accuracy(newLearner())
	l := newLearner()
	var st Stats
	const batches = 200
	for it := range batches {
		if st, err = l.MetaStep([]Task{classBatch(b, it, 64)}); err != nil {
			t.Fatal(err)
		}
	}
	trained := accuracy(l)
	t.Logf("5-way 1-shot accuracy: untrained %.1f%%, after %d batches %.1f%% (last batch: loss %.3f, accuracy %.1f%%; %.1f s)",
		100*untrained, batches, 100*trained, st.Loss, 100*st.Accuracy, time.Since(start).Seconds())
	if trained < untrained+0.10 {
		t.Errorf("pre-trained %.1f%%, untrained %.1f%%: want 10 points more", 100*trained, 100*untrained)
	}
}

// TestSetupTransferOmniglot: Setup gives the transfer learner the source's
// training classes (the background characters ×4 rotations) and hands it
// batches of them; it refuses a run split across processes in one line.
func TestSetupTransferOmniglot(t *testing.T) {
	if testing.Short() {
		t.Skip("decodes Omniglot")
	}
	o := loadOmniglot(t)
	train, _, err := o.Split("background", true)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_CACHE_HOME", filepath.Join(os.TempDir(), "metagon-test-cache"))
	run := Run{Learner: "transfer", Source: "omniglot", DataDir: data.OmniglotDirOrSkip(t), Rotations: true, Seed: 1,
		Settings:     Resolve(Settings{}, mustLearner(t, "transfer"), mustSource(t, "omniglot"), "omniglot"),
		ModelOptions: models.Spec{Filters: 4}}
	l, src, err := Setup(run)
	if err != nil {
		t.Fatal(err)
	}
	if ct, ok := l.(ClassTrainer); !ok || ct.TrainClasses() != len(train) || src.(ClassBatcher).TrainClasses() != len(train) {
		t.Fatalf("transfer on Omniglot: a ClassTrainer %v; want %d training classes", ok, len(train))
	}
	ts, err := TrainTasks(l, src, 7, run.Settings.MetaBatch)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || len(ts[0].SupportY) != run.Settings.MetaBatch || len(ts[0].SupportX) != run.Settings.MetaBatch*28*28 {
		t.Fatalf("training batch: %d tasks; want one of %d images", len(ts), run.Settings.MetaBatch)
	}
	run.Comm = commtest.Group(2)[0]
	if _, _, err := Setup(run); err == nil || !strings.Contains(err.Error(), "learner transfer does not split its meta-batch") || strings.Contains(err.Error(), "\n") {
		t.Errorf("transfer on 2 processes: %v", err)
	}
}
