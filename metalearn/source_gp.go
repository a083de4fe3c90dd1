package metalearn

import (
	"fmt"
	"math/rand/v2"

	"github.com/metagon/metagon/data"
	"github.com/metagon/metagon/models"
)

// gpCurves is the 1-D regression task family of Conditional Neural
// Processes (Garnelo et al. 2018, §4.1) as DeepMind's reference notebook
// draws it (conditional_neural_process.ipynb, GPCurvesReader): each task
// is a curve sampled from a zero-mean Gaussian process with a
// squared-exponential kernel (length scale 0.4, signal σ 1, noise 0.02;
// data.GPOptions), observed at inputs in [−2, 2].
//
// Training tasks follow the notebook's training batches: each
// meta-iteration draws one number of context points n ∈ [3, TrainShots]
// and one number of further target points m ∈ [2, Queries] for its whole
// batch (the notebook: n from 3 to 9, m from 2 to 9); each task then
// samples n + m inputs uniformly, their values jointly, and gives the
// first n as its support set and the other m as its query set.
//
// Validation and test tasks follow the notebook's test curves: the values
// at the 400 grid inputs −2, −1.99, …, 1.99 sampled jointly, n ∈ [3,
// Shots] of them (chosen at random) as the support set; the query set is
// the other 400 − n grid points. (The notebook's test targets are all 400
// points, the context included; ours leave the context out.) Every task
// depends only on the seed, its stream and its index, like the sinusoid
// source's.
type gpCurves struct {
	c    SourceConfig
	o    data.GPOptions
	grid *data.GPPrior // the process at the test grid, factored once
}

// The least numbers of context points and of further target points of
// the notebook's tasks.
const (
	gpMinContext = 3
	gpMinQuery   = 2
)

func init() {
	RegisterSource("gp", SourceEntry{
		Summary: "Gaussian-process curves, SE kernel ℓ = 0.4 on [−2, 2], 3–9 context points (Garnelo et al. 2018; no data needed)",
		// The notebook: up to 9 context points (MAX_CONTEXT_POINTS = 10,
		// exclusive) and 2–9 further targets in training.
		Defaults:     Settings{Shots: 9, Queries: 9, MetaBatch: 64, Iterations: 200000, CheckpointEvery: 5000, Dtype: "float64"},
		VariableSize: true,
		New:          newGPCurves,
	})
}

// newGPCurves checks the counts and factors the test grid's covariance.
func newGPCurves(c SourceConfig) (TaskSource, error) {
	switch {
	case c.Shots < gpMinContext || c.TrainShots < gpMinContext:
		return nil, fmt.Errorf("gp: up to %d (training: %d) context points: want at least %d", c.Shots, c.TrainShots, gpMinContext)
	case c.Queries < gpMinQuery:
		return nil, fmt.Errorf("gp: up to %d further target points: want at least %d", c.Queries, gpMinQuery)
	case c.Shots >= data.DefaultGPGridPoints:
		return nil, fmt.Errorf("gp: up to %d context points of %d test points: want fewer", c.Shots, data.DefaultGPGridPoints)
	}
	s := &gpCurves{c: c, o: data.GPOptions{}.WithDefaults()}
	var err error
	if s.grid, err = data.NewGPPrior(s.o.Grid(data.DefaultGPGridPoints), s.o); err != nil {
		return nil, fmt.Errorf("gp: %w", err)
	}
	return s, nil
}

func (s *gpCurves) Describe() string {
	return fmt.Sprintf("GP curves (SE kernel, ℓ = %g; %d–%d context points)", s.o.LengthScale, gpMinContext, s.c.Shots)
}

// Spec gives the most context and query points of a training task.
func (s *gpCurves) Spec() Spec {
	return Spec{Support: s.c.TrainShots, Query: s.c.Queries, Input: []int{1}, Outputs: 1}
}

// Model is the CNP network, the model these tasks are learnt with.
func (s *gpCurves) Model(bool) (string, models.Spec) {
	return "cnp", models.Spec{Input: []int{1}, Outputs: 1, Init: s.c.Init}
}

// Train returns the tasks of meta-iteration it: one number of context
// and of query points for the whole batch, drawn from the iteration's
// own generator, then task it·n + i of the training stream for each i.
func (s *gpCurves) Train(it, n int) []Task {
	stream := s.c.Stream(TrainStream)
	// Task indices stay below 2⁶³, so the counts' generator is never a
	// task's.
	rng := rand.New(rand.NewPCG(stream, 1<<63|uint64(it)))
	context := gpMinContext + rng.IntN(s.c.TrainShots-gpMinContext+1)
	query := gpMinQuery + rng.IntN(s.c.Queries-gpMinQuery+1)
	ts := make([]Task, n)
	for i := range ts {
		ts[i] = s.trainTask(stream, uint64(it*n+i), context, query)
	}
	return ts
}

// trainTask samples context + query inputs uniformly on [−2, 2] and the
// curve's values there jointly; the first context points are the support
// set.
func (s *gpCurves) trainTask(stream, index uint64, context, query int) Task {
	rng := rand.New(rand.NewPCG(stream, index))
	xs := make([]float64, context+query)
	for i := range xs {
		xs[i] = s.o.XMin + (s.o.XMax-s.o.XMin)*rng.Float64()
	}
	ys, err := data.SampleGP(rng, xs, s.o)
	if err != nil {
		// The noise adds NoiseStd² = 4·10⁻⁴ to the diagonal of a positive
		// semi-definite kernel matrix of at most a few dozen points: its
		// factor always exists.
		panic(fmt.Sprintf("gp: unreachable: %v", err))
	}
	return Task{SupportX: xs[:context:context], SupportY: ys[:context:context], QueryX: xs[context:], QueryY: ys[context:]}
}

func (s *gpCurves) Valid() []Task { return s.gridTasks(ValidStream, 100) }

func (s *gpCurves) Test(n int) []Task { return s.gridTasks(TestStream, n) }

// gridTasks returns the first n grid tasks of a stream.
func (s *gpCurves) gridTasks(stream uint64, n int) []Task {
	ts := make([]Task, n)
	for i := range ts {
		ts[i], _, _ = s.gridTask(stream, i)
	}
	return ts
}

// gridTask returns grid task i of a stream, the curve's values at the
// whole grid and its number of context points: from the task's own
// generator, the number of context points, the values (one draw of the
// grid's process) and a random order of the grid points, whose first
// ones are the context.
func (s *gpCurves) gridTask(stream uint64, i int) (Task, []float64, int) {
	rng := rand.New(rand.NewPCG(s.c.Stream(stream), uint64(i)))
	context := gpMinContext + rng.IntN(s.c.Shots-gpMinContext+1)
	ys := s.grid.Sample(rng)
	isContext := make([]bool, len(ys))
	var t Task
	for _, k := range rng.Perm(len(ys))[:context] {
		isContext[k] = true
		t.SupportX, t.SupportY = append(t.SupportX, s.grid.X[k]), append(t.SupportY, ys[k])
	}
	for k, y := range ys {
		if !isContext[k] {
			t.QueryX, t.QueryY = append(t.QueryX, s.grid.X[k]), append(t.QueryY, y)
		}
	}
	return t, ys, context
}

// TestCurve returns test task i's curve at the 400 grid inputs (the values
// the task's support and query sets were taken from, noise included) and
// its support set.
func (s *gpCurves) TestCurve(i int) ([]float64, []float64, Task, string) {
	t, ys, context := s.gridTask(TestStream, i)
	return append([]float64(nil), s.grid.X...), ys, Task{SupportX: t.SupportX, SupportY: t.SupportY}, fmt.Sprintf("%d context points", context)
}
