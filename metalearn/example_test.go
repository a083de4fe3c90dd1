package metalearn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
)

// Meta-train MAML briefly on 10-shot sinusoids and compare the query error
// before and after one inner step on held-out tasks.
func ExampleNewMAML() {
	l, err := metalearn.NewMAML(models.SinusoidMLP(), metalearn.MAMLOptions{
		Options: metalearn.Options{Spec: metalearn.SinusoidSpec(10, 10), InnerLR: 0.01, Seed: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for it := 0; it < 1500; it++ {
		if _, err := l.MetaStep(metalearn.SinusoidTasks(1, uint64(it*25), 25, 10, 10)); err != nil {
			fmt.Println(err)
			return
		}
	}
	ev, _ := metalearn.Evaluate(l, metalearn.SinusoidTasks(2, 0, 200, 10, 10), 1)
	fmt.Println("one step helps:", ev.Loss[1].Mean < 0.7*ev.Loss[0].Mean)
	// Output: one step helps: true
}

// MAML++ on Omniglot-shaped 5-way 1-shot episodes with Conv-4: the
// learner gives the network one batch-norm set per inner step; an
// ablation turns changes off by their switches.
func ExampleNewMAMLPP() {
	net := &models.Conv4{InChannels: 1, Height: 28, Width: 28, Classes: 5}
	spec := metalearn.Spec{Support: 5, Query: 5, Input: []int{1, 28, 28}, Classes: 5}
	l, err := metalearn.NewMAMLPP(net, metalearn.MAMLPPOptions{
		Options:    metalearn.Options{Spec: spec, InnerLR: 0.1},
		Iterations: 50000,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(l.Model().Name())
	fmt.Println(l.Describe())
	ablated, _ := metalearn.NewMAMLPP(net, metalearn.MAMLPPOptions{
		Options:    metalearn.Options{Spec: spec, InnerLR: 0.1},
		Iterations: 50000, NoMultiStepLoss: true, NoBNStats: true,
	})
	fmt.Println(ablated.Describe())
	// Output:
	// conv4-1x28x28-64filters-5classes-bn5steps-weights-running
	// 5 inner steps, learned α per weight tensor and step (from 0.1); batch norm weights and running statistics per step (5 sets); multi-step loss annealed over 5000 iterations; first order for 25000 iterations; outer adam, lr 0.001, cosine-annealed to 1e-05 over 50000 iterations
	// 5 inner steps, learned α per weight tensor and step (from 0.1); batch norm weights per step (5 sets); first order for 25000 iterations; outer adam, lr 0.001, cosine-annealed to 1e-05 over 50000 iterations
}

// bars is an image class for the transfer example: 1×16×16 images with a
// bright band at rows 2·id … 2·id+3 over noise that differs from image to
// image.
type bars struct{ id int }

func (c bars) Len() int       { return 10 }
func (c bars) Shape() [3]int  { return [3]int{1, 16, 16} }
func (c bars) Check() error   { return nil }
func (c bars) String() string { return fmt.Sprintf("bars%d", c.id) }
func (c bars) Image(j int, dst []float32) {
	rng := rand.New(rand.NewPCG(uint64(c.id), uint64(j)))
	for k := range dst {
		dst[k] = float32(0.5 * rng.NormFloat64())
		if r := k / 16; r >= 2*c.id && r < 2*c.id+4 {
			dst[k] += 2
		}
	}
}

// The transfer-learning baseline: pre-train a small Conv-4 with a head
// over 6 training classes on mini-batches of their images, then classify
// an episode of 3 classes never trained on by fitting a new head to its
// support set on the frozen embedding.
func ExampleNewTransfer() {
	var train, test []bars
	for id := range 6 {
		train = append(train, bars{id})
	}
	for id := 6; id < 8; id++ {
		test = append(test, bars{id})
	}
	test = append(test, bars{0}) // a trained class among the new ones
	batches, _ := data.NewClassBatches(train, 1)
	net := &models.Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 4}
	spec := metalearn.Spec{Support: 3, Query: 12, Input: []int{1, 16, 16}, Classes: 3}
	l, err := metalearn.NewTransfer(net, metalearn.TransferOptions{
		Options: metalearn.Options{Spec: spec, Seed: 1, Outer: graph.NewAdam(0.01)}, Classes: batches.NumClasses()})
	if err != nil {
		fmt.Println(err)
		return
	}
	for it := range 60 {
		x, labels := batches.Batch(uint64(it), 12)
		task := metalearn.Task{SupportX: make([]float64, len(x)), SupportY: labels}
		for i, v := range x {
			task.SupportX[i] = float64(v)
		}
		if _, err := l.MetaStep([]metalearn.Task{task}); err != nil {
			fmt.Println(err)
			return
		}
	}
	episodes, _ := data.NewSampler(test, data.EpisodeOptions{Ways: 3, Shots: 1, Queries: 4}, 2)
	e := episodes.Episode(0)
	var task metalearn.Task
	task.SupportX, task.SupportY, task.QueryX, task.QueryY = e.Task64()
	res, _ := l.AdaptAt([]metalearn.Task{task}, []int{0, 100})
	fmt.Printf("zero head: %.0f%% (chance); after 100 steps: %.0f%%\n", 100*res[0].Accuracy[0], 100*res[0].Accuracy[1])
	// Output: zero head: 33% (chance); after 100 steps: 100%
}
