package metalearn_test

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
)

// One sinusoid task's second-order MAML meta-gradient, ∇θ L_query(θ′)
// with θ′ = θ − α∇L_support(θ), checked against central finite
// differences (error relative to max(1, |∂|)) of the same objective
// computed another way: Adapt runs the
// inner step outside the graph and reports the query loss at θ′.
func ExampleGradient_TaskGradient() {
	l, err := metalearn.NewMAML(models.SinusoidMLP(), metalearn.MAMLOptions{
		Options: metalearn.Options{Spec: metalearn.SinusoidSpec(10, 10), InnerLR: 0.01, Seed: 1},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	task := metalearn.SinusoidTasks(7, 0, 1, 10, 10)[0]
	mg, err := l.TaskGradient(task)
	if err != nil {
		fmt.Println(err)
		return
	}
	queryLoss := func() float64 { // L_query(θ′) at the current θ
		res, _ := l.Adapt([]metalearn.Task{task}, 1)
		return res[0].Loss[1]
	}
	worst := 0.0
	for j, p := range l.Params().List {
		theta := p.Value.Float64s()
		for k := 0; k < len(theta); k += 7 { // every 7th weight of each tensor
			const h = 1e-6
			old := theta[k]
			theta[k] = old + h
			up := queryLoss()
			theta[k] = old - h
			down := queryLoss()
			theta[k] = old
			fd := (up - down) / (2 * h)
			worst = math.Max(worst, math.Abs(fd-mg.Grads[j][k])/math.Max(1, math.Abs(fd)))
		}
	}
	fmt.Printf("query loss %.4f; meta-gradient matches finite differences to 1e-6: %v\n", mg.Loss, worst < 1e-6)
	// Output: query loss 13.4476; meta-gradient matches finite differences to 1e-6: true
}
