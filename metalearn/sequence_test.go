package metalearn

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestPresentationOrder: the order is a permutation of the support set,
// the same every time for the same task, and differs between tasks (of 20
// random 50-example tasks, no two share an order and none is the identity).
func TestPresentationOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 6))
	spec := Spec{Support: 50, Query: 1, Input: []int{4}, Classes: 5}
	seen := map[string]bool{}
	for i := 0; i < 20; i++ {
		task := randomTask(rng, spec)
		order := presentationOrder(task)
		if !slices.Equal(order, presentationOrder(task)) {
			t.Fatalf("task %d: two calls give two orders", i)
		}
		sorted := slices.Sorted(slices.Values(order))
		for k, v := range sorted {
			if v != k {
				t.Fatalf("task %d: order %v is not a permutation of 0..49", i, order)
			}
		}
		if slices.IsSorted(order) {
			t.Errorf("task %d: the identity order", i)
		}
		key := fmt.Sprint(order)
		if seen[key] {
			t.Errorf("task %d: the order of an earlier task: %v", i, order)
		}
		seen[key] = true
	}
}

// TestInstancesAndOrdinal: which presentation of its class each step is,
// and the ordinals that name them.
func TestInstancesAndOrdinal(t *testing.T) {
	if got, want := instances([]int{2, 0, 2, 2, 1, 0}), []int{1, 1, 2, 3, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("instances: %v, want %v", got, want)
	}
	for n, want := range map[int]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 10: "10th", 11: "11th", 12: "12th", 13: "13th", 21: "21st", 22: "22nd", 101: "101st", 111: "111th"} {
		if got := Ordinal(n); got != want {
			t.Errorf("Ordinal(%d) = %q, want %q", n, got, want)
		}
	}
}
