package metalearn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
)

// stripeClass is a class of 1×16×16 images for tests: a bright horizontal
// band at rows 2·id … 2·id+3 over Gaussian noise that depends on the image
// index, so classes are easy to tell apart and no two images are equal.
type stripeClass struct{ id, n int }

func (c stripeClass) Len() int       { return c.n }
func (c stripeClass) Shape() [3]int  { return [3]int{1, 16, 16} }
func (c stripeClass) Check() error   { return nil }
func (c stripeClass) String() string { return fmt.Sprintf("stripe%d", c.id) }
func (c stripeClass) Image(j int, dst []float32) {
	rng := rand.New(rand.NewPCG(uint64(c.id), uint64(j)))
	for k := range dst {
		v := 0.5 * rng.NormFloat64()
		if r := k / 16; r >= 2*c.id && r < 2*c.id+4 {
			v += 2
		}
		dst[k] = float32(v)
	}
}

// stripeClasses returns classes first … first+n−1 of 10 images each.
func stripeClasses(first, n int) []stripeClass {
	var cs []stripeClass
	for i := range n {
		cs = append(cs, stripeClass{id: first + i, n: 10})
	}
	return cs
}

// newSmallTransfer is Transfer over Conv-4 with 4 filters on 1×16×16
// images, pre-training over classes classes by Adam at 10⁻².
func newSmallTransfer(t *testing.T, classes, workers int) *Transfer {
	t.Helper()
	l, err := NewTransfer(&models.Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 4},
		TransferOptions{Options: Options{Spec: Spec{Support: 3, Query: 3, Input: []int{1, 16, 16}, Classes: 3}, Seed: 1, Workers: workers,
			Outer: graph.NewAdam(0.01)}, Classes: classes})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestTransferPreTrains: steps on class batches of 6 training classes
// bring the pre-training loss from about log 6 to well below it, and the
// batches' accuracy up from chance; labels that are not training classes
// and empty batches are refused.
func TestTransferPreTrains(t *testing.T) {
	const classes = 6
	l := newSmallTransfer(t, classes, 1)
	b, err := data.NewClassBatches(stripeClasses(0, classes), 1)
	if err != nil {
		t.Fatal(err)
	}
	var first, last Stats
	const steps, window = 60, 10
	for it := range steps {
		st, err := l.MetaStep([]Task{classBatch(b, it, 12)})
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case it < window:
			first.Loss, first.Accuracy = first.Loss+st.Loss/window, first.Accuracy+st.Accuracy/window
		case it >= steps-window:
			last.Loss, last.Accuracy = last.Loss+st.Loss/window, last.Accuracy+st.Accuracy/window
		}
	}
	t.Logf("first %d batches: loss %.3f, accuracy %.2f; last %d: loss %.3f, accuracy %.2f", window, first.Loss, first.Accuracy, window, last.Loss, last.Accuracy)
	if last.Loss > first.Loss/3 || last.Accuracy < 0.9 {
		t.Errorf("pre-training: loss %.3f → %.3f, accuracy %.2f → %.2f; want the loss under a third and the accuracy at least 0.9", first.Loss, last.Loss, first.Accuracy, last.Accuracy)
	}
	bad := classBatch(b, 0, 4)
	bad.SupportY[2] = classes
	if _, err := l.MetaStep([]Task{bad}); err == nil || !strings.Contains(err.Error(), "not one of the 6 training classes") {
		t.Errorf("label %d of %d classes: %v", classes, classes, err)
	}
	if _, err := l.MetaStep(nil); err == nil || !strings.Contains(err.Error(), "no images") {
		t.Errorf("no tasks: %v", err)
	}
	if _, err := NewTransfer(&models.Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 4},
		TransferOptions{Options: Options{Spec: Spec{Support: 3, Query: 3, Input: []int{1, 16, 16}, Classes: 3}}, Classes: 1}); err == nil || !strings.Contains(err.Error(), "at least 2 training classes") {
		t.Errorf("1 training class: %v", err)
	}
}

// stripeEpisodes returns n 3-way 1-shot episodes with 4 queries per class
// of the held-out stripe classes 6 … 9.
func stripeEpisodes(t *testing.T, n int) []Task {
	t.Helper()
	s, err := data.NewSampler(stripeClasses(6, 4), data.EpisodeOptions{Ways: 3, Shots: 1, Queries: 4}, 5)
	if err != nil {
		t.Fatal(err)
	}
	return episodes(s, 0, n)
}

// TestTransferAdaptAt: adaptation reports the query set after the numbers
// of steps asked for, the zero head's loss log(ways) first; Adapt reports
// every step; results do not depend on the number of workers, bit for bit.
func TestTransferAdaptAt(t *testing.T) {
	tasks := stripeEpisodes(t, 5)
	at := []int{0, 1, 20}
	one, err := newSmallTransfer(t, 6, 1).AdaptAt(tasks, at)
	if err != nil {
		t.Fatal(err)
	}
	three, err := newSmallTransfer(t, 6, 3).AdaptAt(tasks, at)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, three) {
		t.Error("1 and 3 workers adapt differently")
	}
	for i, r := range one {
		if !reflect.DeepEqual(r.Steps, at) || len(r.Loss) != len(at) || len(r.Outputs[2]) != 12*3 {
			t.Fatalf("task %d: steps %v, %d losses, %d outputs", i, r.Steps, len(r.Loss), len(r.Outputs[2]))
		}
		if math.Abs(r.Loss[0]-math.Log(3)) > 1e-12 || !(r.Loss[2] < r.Loss[0]) {
			t.Errorf("task %d: query loss %v after 0 steps (want log 3 = %v), %v after 20", i, r.Loss[0], math.Log(3), r.Loss[2])
		}
	}
	every, err := newSmallTransfer(t, 6, 1).Adapt(tasks[:1], 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(every[0].Loss) != 21 || every[0].Loss[20] != one[0].Loss[2] || every[0].Loss[1] != one[0].Loss[1] {
		t.Errorf("Adapt(20): %d losses, after 1 and 20 steps %v and %v; AdaptAt gave %v and %v",
			len(every[0].Loss), every[0].Loss[1], every[0].Loss[20], one[0].Loss[1], one[0].Loss[2])
	}
	if _, err := newSmallTransfer(t, 6, 1).AdaptAt(tasks, []int{3, 1}); err == nil {
		t.Error("decreasing step counts: no error")
	}
}

// stripeSource is a ClassBatcher of the stripe classes for TrainTasks: its
// training episodes are not meant to be drawn.
type stripeSource struct {
	TaskSource
	b *data.ClassBatches[stripeClass]
}

func (s stripeSource) Describe() string          { return "stripes" }
func (s stripeSource) TrainClasses() int         { return s.b.NumClasses() }
func (s stripeSource) ClassBatch(it, n int) Task { return classBatch(s.b, it, n) }

// TestTrainTasks: a ClassTrainer gets its source's class batch, one task
// of n images; a source without class batches, or with other training
// classes than the learner's, is an error; other learners get episodes.
func TestTrainTasks(t *testing.T) {
	b, err := data.NewClassBatches(stripeClasses(0, 6), 1)
	if err != nil {
		t.Fatal(err)
	}
	src := stripeSource{b: b}
	l := newSmallTransfer(t, 6, 1)
	ts, err := TrainTasks(l, src, 3, 8)
	if err != nil {
		t.Fatal(err)
	}
	want := classBatch(b, 3, 8)
	if len(ts) != 1 || !reflect.DeepEqual(ts[0], want) || len(ts[0].SupportY) != 8 {
		t.Errorf("TrainTasks: %d tasks; want class batch 3 of 8 images", len(ts))
	}
	if _, err := TrainTasks(newSmallTransfer(t, 7, 1), src, 0, 8); err == nil || !strings.Contains(err.Error(), "built for 7 training classes") {
		t.Errorf("7 classes on a source of 6: %v", err)
	}
	sin, err := mustSource(t, "sinusoid").New(SourceConfig{Settings: Resolve(Settings{}, mustLearner(t, "maml"), mustSource(t, "sinusoid"), "sinusoid"), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := TrainTasks(l, sin, 0, 8); err == nil || !strings.Contains(err.Error(), "cannot draw") {
		t.Errorf("transfer on sinusoids: %v", err)
	}
	maml, err := NewMAML(models.SinusoidMLP(), MAMLOptions{Options: Options{Spec: sin.Spec(), Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if ts, err := TrainTasks(maml, sin, 2, 3); err != nil || !reflect.DeepEqual(ts, sin.Train(2, 3)) {
		t.Errorf("maml: %v; want the source's episodes", err)
	}
}

// TestSetupRefusesTransferWithoutClasses: the transfer learner on a
// regression source is refused in one line naming the sources it takes.
func TestSetupRefusesTransferWithoutClasses(t *testing.T) {
	run := Run{Learner: "transfer", Source: "sinusoid", Settings: Resolve(Settings{}, mustLearner(t, "transfer"), mustSource(t, "sinusoid"), "sinusoid"), Seed: 1}
	_, _, err := Setup(run)
	if err == nil || !strings.Contains(err.Error(), "use cifar-fs, fc100, mini-imagenet, omniglot") || strings.Contains(err.Error(), "\n") {
		t.Errorf("transfer on sinusoids: %v", err)
	}
}
