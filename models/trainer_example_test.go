package models_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
)

// exampleData is 64 random rows of 8 features whose label is the sign of
// the first feature.
func exampleData() (x, labels []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	x, labels = make([]float64, 64*8), make([]float64, 64)
	for i := range x {
		x[i] = rng.NormFloat64()
	}
	for r := range labels {
		if x[r*8] > 0 {
			labels[r] = 1
		}
	}
	return x, labels
}

// The learning-rate range test on a small MLP with dropout: the sweep
// trains from the current weights at exponentially growing rates, then
// puts the trainer back as it was.
func ExampleTrainer_FindLR() {
	m := &models.MLP{Sizes: []int{8, 16, 2}, Hidden: models.ReLUActivation, Dropout: 0.2}
	tr, _ := models.NewTrainer(m, graph.NewSGD(0.1), models.TrainerOptions{Seed: 1})
	x, labels := exampleData()
	res, err := tr.FindLR(models.LRRangeOptions{MinLR: 1e-4, MaxLR: 100, Steps: 100},
		func(int) ([]float64, []float64, error) { return x, labels, nil })
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("swept", len(res.Points), "steps; diverged:", res.Diverged)
	fmt.Println("suggestion within the sweep:", res.Suggested >= 1e-4 && res.Suggested <= 100)
	fmt.Println("trainer untouched:", tr.Steps == 0)
	// Output:
	// swept 86 steps; diverged: true
	// suggestion within the sweep: true
	// trainer untouched: true
}

// Gradient norms layer by layer after a step: the view that shows
// gradients vanishing in a deep sigmoid network.
func ExampleTrainer_GradNorms() {
	m := &models.MLP{Sizes: []int{8, 16, 16, 16, 16, 2}, Hidden: models.SigmoidActivation}
	tr, _ := models.NewTrainer(m, graph.NewSGD(0.1), models.TrainerOptions{Seed: 1})
	x, labels := exampleData()
	if _, err := tr.Step(x, labels); err != nil {
		fmt.Println(err)
		return
	}
	for i, norm := range tr.GradNorms() {
		if name := tr.Params.List[i].Name; name[0] == 'w' {
			fmt.Printf("%s %.1e\n", name, norm)
		}
	}
	// Output:
	// w1 3.1e-03
	// w2 1.9e-02
	// w3 7.2e-02
	// w4 2.7e-01
	// w5 9.9e-01
}
