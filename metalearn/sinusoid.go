package metalearn

import (
	"github.com/metagon/metagon/data"
)

// SinusoidSpec is the task shape of K-shot sinusoid regression with q query
// points: scalar inputs and outputs.
func SinusoidSpec(k, q int) Spec {
	return Spec{Support: k, Query: q, Input: []int{1}, Outputs: 1}
}

// FromSinusoid converts a sinusoid task to a Task.
func FromSinusoid(t data.SinusoidTask) Task {
	return Task{SupportX: t.SupportX, SupportY: t.SupportY, QueryX: t.QueryX, QueryY: t.QueryY}
}

// SinusoidTasks returns n tasks of K support and q query points, task i
// being index first+i of the seeded stream (see data.SinusoidTaskAt), so a
// run's tasks do not depend on how they are batched or resumed.
func SinusoidTasks(seed, first uint64, n, k, q int) []Task {
	ts := make([]Task, n)
	for i := range ts {
		ts[i] = FromSinusoid(data.SinusoidTaskAt(seed, first+uint64(i), k, q, data.SinusoidOptions{}))
	}
	return ts
}
