package metalearn

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func reptileParams(t *testing.T, o ReptileOptions, iterations int) []float64 {
	t.Helper()
	l, err := NewReptile(smallModel(), o)
	if err != nil {
		t.Fatal(err)
	}
	return metaTrainSmall(t, l, rand.New(rand.NewPCG(20, 21)), iterations, 4)
}

// TestReptileInnerBatches: mini-batches are rows of the support set, the
// first ⌊n/b⌋ of them disjoint; a batch as large as the support set is the
// whole-set inner loop; workers do not change the result.
func TestReptileInnerBatches(t *testing.T) {
	base := ReptileOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.05, Seed: 4, Workers: 1}}

	l, err := NewReptile(smallModel(), ReptileOptions{Options: base.Options, InnerBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	task := randomTask(rand.New(rand.NewPCG(1, 2)), smallSpec)
	in := smallSpec.inputSize()
	batches := l.miniBatches(task, 0)
	if len(batches) != 3 {
		t.Fatalf("%d batches for 3 inner steps", len(batches))
	}
	seen := map[int]int{}
	for s, b := range batches {
		if len(b.SupportX) != 2*in || len(b.SupportY) != 2 {
			t.Fatalf("batch %d: %d inputs, %d targets; want 2 examples", s, len(b.SupportX)/in, len(b.SupportY))
		}
		for k := range 2 {
			row := -1
			for j := range smallSpec.Support {
				if slices.Equal(task.SupportX[j*in:(j+1)*in], b.SupportX[k*in:(k+1)*in]) && task.SupportY[j] == b.SupportY[k] {
					row = j
				}
			}
			if row < 0 {
				t.Fatalf("batch %d example %d is not a support example", s, k)
			}
			if s < 2 {
				seen[row]++
			}
		}
	}
	for row, n := range seen {
		if n > 1 {
			t.Errorf("support example %d appears %d times in the first two batches", row, n)
		}
	}
	if other := l.miniBatches(task, 1); slices.Equal(other[0].SupportY, batches[0].SupportY) && slices.Equal(other[1].SupportY, batches[1].SupportY) &&
		slices.Equal(other[0].SupportX, batches[0].SupportX) {
		t.Error("tasks 0 and 1 of a meta-batch got the same shuffle")
	}

	whole := reptileParams(t, base, 3)
	big := base
	big.InnerBatch = smallSpec.Support
	if got := reptileParams(t, big, 3); !slices.Equal(got, whole) {
		t.Error("inner batch = support size differs from the whole-set inner loop")
	}
	small := base
	small.InnerBatch = 2
	one := reptileParams(t, small, 3)
	if slices.Equal(one, whole) {
		t.Error("inner batches of 2 gave the same meta-parameters as whole-set steps")
	}
	small.Workers = 3
	if got := reptileParams(t, small, 3); !slices.Equal(got, one) {
		t.Error("3 workers changed the result of mini-batched Reptile")
	}
}

// TestZeroHead: the named weights are zero at the start and after every
// meta-update, for MAML and Reptile, while the others learn.
func TestZeroHead(t *testing.T) {
	o := Options{Spec: smallSpec, InnerLR: 0.05, Seed: 4, ZeroHead: []string{"w3", "b3"}}
	maml, err := NewMAML(smallModel(), MAMLOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	reptile, err := NewReptile(smallModel(), ReptileOptions{Options: o, InnerBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []Learner{maml, reptile} {
		before := slices.Clone(l.Params().Get("w1").Value.Float64s())
		metaTrainSmall(t, l, rand.New(rand.NewPCG(5, 6)), 3, 4)
		for _, n := range []string{"w3", "b3"} {
			for _, v := range l.Params().Get(n).Value.Float64s() {
				if v != 0 {
					t.Fatalf("%s: %s = %v after meta-updates, want 0", l.Name(), n, v)
				}
			}
		}
		if slices.Equal(before, l.Params().Get("w1").Value.Float64s()) {
			t.Errorf("%s: w1 did not move", l.Name())
		}
	}
	if _, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, ZeroHead: []string{"fc.w"}}}); err == nil {
		t.Error("zeroing a weight the model lacks: no error")
	}
}
