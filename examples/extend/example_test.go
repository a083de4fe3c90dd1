package extend_test

import (
	"fmt"

	_ "github.com/metagon/metagon/examples/extend" // registers "lines" and "pretrain"
	"github.com/metagon/metagon/metalearn"
)

// A learner and a task source defined outside the library (this package)
// run through the same registry and construction as cmd/meta: the
// example's "pretrain" learner and MAML, both on its "lines" tasks.
func Example() {
	for _, learner := range []string{"pretrain", "maml"} {
		le, _ := metalearn.LookupLearner(learner)
		se, _ := metalearn.LookupSource("lines")
		s := metalearn.Resolve(metalearn.Settings{}, le, se, "lines")
		l, src, err := metalearn.Setup(metalearn.Run{Learner: learner, Source: "lines", Settings: s, Seed: 1})
		if err != nil {
			fmt.Println(err)
			return
		}
		for it := 0; it < s.Iterations; it++ {
			if _, err := l.MetaStep(src.Train(it, s.MetaBatch)); err != nil {
				fmt.Println(err)
				return
			}
		}
		ev, err := metalearn.Evaluate(l, src.Test(100), 10)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s on %s: adapting to 5 points lowers the query MSE: %v\n",
			learner, src.Describe(), ev.Loss[10].Mean < 0.5*ev.Loss[0].Mean)
	}
	// Output:
	// pretrain on 5-shot lines: adapting to 5 points lowers the query MSE: true
	// maml on 5-shot lines: adapting to 5 points lowers the query MSE: true
}
