package metalearn

import (
	"math/rand/v2"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
)

// TestProtoNetGradient checks the gradient of the episode loss with
// respect to every weight of a (small) Conv-4 embedding — through batch
// norm, max-pool, the prototype means and the distances — against finite
// differences.
func TestProtoNetGradient(t *testing.T) {
	m := &models.Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 3}
	spec := Spec{Support: 6, Query: 6, Input: []int{1, 16, 16}, Classes: 3}
	l, err := NewProtoNet(m, ProtoNetOptions{Options: Options{Spec: spec, Seed: 2, Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	res := checkEpisodeGradient(t, l.Metric, randomTask(rng, spec))
	t.Logf("ProtoNet episode gradient: max rel err %.2e over %d weights", res.MaxRelErr, res.Checked)
	if res.MaxRelErr > 1e-5 {
		t.Errorf("max rel err %.2e > 1e-5 (%s)", res.MaxRelErr, res.Worst)
	}
}

// TestProtoNetPrototypes checks the classifier on an embedding that is the
// identity: each query is assigned to the nearest class mean.
func TestProtoNetPrototypes(t *testing.T) {
	m := &models.MLP{Sizes: []int{2, 2}, WeightInit: func(uint64, int) graph.Initializer { return graph.Constant{Value: 0} }}
	spec := Spec{Support: 4, Query: 2, Input: []int{2}, Classes: 2}
	l, err := NewProtoNet(m, ProtoNetOptions{Options: Options{Spec: spec, Workers: 1}})
	if err != nil {
		t.Fatal(err)
	}
	w := l.Params().Get("w1").Value.Float64s()
	w[0], w[3] = 1, 1 // identity
	task := Task{
		SupportX: []float64{0, 0, 0, 2, 10, 10, 10, 12}, SupportY: []float64{0, 0, 1, 1}, // means (0,1) and (10,11)
		QueryX: []float64{1, 1, 9, 9}, QueryY: []float64{0, 1},
	}
	res, err := l.Adapt([]Task{task}, 0)
	if err != nil {
		t.Fatal(err)
	}
	logits := res[0].Outputs[0]
	want := []float64{-(1 + 0), -(81 + 100), -(81 + 64), -(1 + 4)} // −‖q − p‖²
	for i := range want {
		if logits[i] != want[i] {
			t.Fatalf("logits %v, want %v", logits, want)
		}
	}
	if res[0].Accuracy[0] != 1 {
		t.Errorf("accuracy %v, want 1", res[0].Accuracy[0])
	}
}
