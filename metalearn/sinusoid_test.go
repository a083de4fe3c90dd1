package metalearn

import (
	"testing"

	"github.com/metagon/metagon/models"
)

// TestMAMLLearnsSinusoids meta-trains second-order MAML briefly on 10-shot
// sinusoids (Finn et al.'s settings) and checks that one inner step on 10
// points halves the query MSE of the unadapted model on 600 fresh tasks.
// A meta-gradient that ignores adaptation (or a broken inner loop) leaves
// the post-update error near the pre-update one (≈ 3, predicting the mean).
func TestMAMLLearnsSinusoids(t *testing.T) {
	if testing.Short() {
		t.Skip("meta-trains for several seconds")
	}
	const k, iters, batch = 10, 2000, 25
	l, err := NewMAML(models.SinusoidMLP(), MAMLOptions{Options: Options{Spec: SinusoidSpec(k, k), InnerLR: 0.01, Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for it := 0; it < iters; it++ {
		if _, err := l.MetaStep(SinusoidTasks(1, uint64(it*batch), batch, k, k)); err != nil {
			t.Fatal(err)
		}
	}
	ev, err := Evaluate(l, SinusoidTasks(2, 0, 600, k, k), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d meta-iterations:\n%s", iters, ev.Table(0, 1, 10))
	if pre, post := ev.Loss[0].Mean, ev.Loss[1].Mean; post > pre/2 {
		t.Errorf("query MSE after 1 step %.3f is not below half of %.3f before adaptation", post, pre)
	}
}
