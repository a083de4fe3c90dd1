package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
)

// sinusoids is the sinusoid regression family of Finn et al. 2017, §5.1:
// y = A sin(x − φ), A ∈ [0.1, 5], φ ∈ [0, π], x ∈ [−5, 5].
type sinusoids struct{ c SourceConfig }

func init() {
	RegisterSource("sinusoid", SourceEntry{
		Summary: "sinusoid regression (Finn et al. 2017, §5.1; no data needed)",
		// Finn et al.: K = 10, meta-batch 25, α = 0.01, 70,000 iterations
		// (40,000 here: the curve is flat by then).
		Defaults: Settings{Shots: 10, MetaBatch: 25, InnerLR: 0.01, Iterations: 40000, CheckpointEvery: 5000, Dtype: "float64", Init: "finn"},
		New:      func(c SourceConfig) (TaskSource, error) { return sinusoids{c}, nil },
	})
}

func (s sinusoids) Describe() string { return fmt.Sprintf("%d-shot sinusoid", s.c.Shots) }

func (s sinusoids) Spec() Spec { return SinusoidSpec(s.c.TrainShots, s.c.Queries) }

// Model is Finn et al.'s 1-40-40-1 ReLU network; Init "torch" draws it as
// PyTorch's nn.Linear does (Reptile's code).
func (s sinusoids) Model(bool) (string, models.Spec) {
	init := s.c.Init
	if init == "finn" {
		init = "" // the model's own
	}
	return "sinusoid-mlp", models.Spec{Input: []int{1}, Outputs: 1, Init: init}
}

func (s sinusoids) Train(it, n int) []Task {
	return SinusoidTasks(s.c.Stream(TrainStream), uint64(it*n), n, s.c.TrainShots, s.c.Queries)
}

func (s sinusoids) Valid() []Task {
	return SinusoidTasks(s.c.Stream(ValidStream), 0, 100, s.c.Shots, s.c.Queries)
}

func (s sinusoids) Test(n int) []Task {
	return SinusoidTasks(s.c.Stream(TestStream), 0, n, s.c.Shots, s.c.Queries)
}

// TestFunction returns test task i's sinusoid.
func (s sinusoids) TestFunction(i int) (func(float64) float64, Task, string) {
	t := data.SinusoidTaskAt(s.c.Stream(TestStream), uint64(i), s.c.Shots, 1, data.SinusoidOptions{})
	return t.F, Task{SupportX: t.SupportX, SupportY: t.SupportY}, fmt.Sprintf("amplitude %.2f, phase %.2f", t.Amplitude, t.Phase)
}
