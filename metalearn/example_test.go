package metalearn_test

import (
	"fmt"

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
