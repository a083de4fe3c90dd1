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
