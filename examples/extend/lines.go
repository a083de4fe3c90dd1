package extend

import (
	"fmt"
	"math/rand/v2"

	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
)

// lines is a task source of linear regression tasks y = a·x + b with a
// and b drawn from U(−1, 1) and x from U(−5, 5): each task is a line, and
// K points of it are enough to find it.
type lines struct{ c metalearn.SourceConfig }

func init() {
	metalearn.RegisterSource("lines", metalearn.SourceEntry{
		Summary:  "linear regression tasks y = a·x + b (an example source)",
		Defaults: metalearn.Settings{Shots: 5, MetaBatch: 10, InnerLR: 0.02, Iterations: 300},
		New:      func(c metalearn.SourceConfig) (metalearn.TaskSource, error) { return lines{c}, nil },
	})
}

func (l lines) Describe() string { return fmt.Sprintf("%d-shot lines", l.c.Shots) }

func (l lines) Spec() metalearn.Spec {
	return metalearn.Spec{Support: l.c.TrainShots, Query: l.c.Queries, Input: []int{1}, Outputs: 1}
}

// Model is a small MLP, 1-20-20-1.
func (l lines) Model(bool) (string, models.Spec) {
	return "mlp", models.Spec{Input: []int{1}, Outputs: 1, Hidden: []int{20, 20}}
}

func (l lines) Train(it, n int) []metalearn.Task {
	return l.tasks(metalearn.TrainStream, it*n, n, l.c.TrainShots)
}

func (l lines) Valid() []metalearn.Task { return l.tasks(metalearn.ValidStream, 0, 50, l.c.Shots) }

func (l lines) Test(n int) []metalearn.Task { return l.tasks(metalearn.TestStream, 0, n, l.c.Shots) }

// tasks draws tasks first..first+n−1 of a stream; task i depends only on
// the seed, the stream and i, so a resumed run sees the same tasks.
func (l lines) tasks(stream uint64, first, n, shots int) []metalearn.Task {
	ts := make([]metalearn.Task, n)
	for i := range ts {
		rng := rand.New(rand.NewPCG(l.c.Stream(stream), uint64(first+i)))
		a, b := 2*rng.Float64()-1, 2*rng.Float64()-1
		draw := func(k int) (xs, ys []float64) {
			for range k {
				x := 10*rng.Float64() - 5
				xs, ys = append(xs, x), append(ys, a*x+b)
			}
			return xs, ys
		}
		t := &ts[i]
		t.SupportX, t.SupportY = draw(shots)
		t.QueryX, t.QueryY = draw(l.c.Queries)
	}
	return ts
}
