package metalearn

import (
	"fmt"
	"math"
	"runtime"
	"sync"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Learner is a meta-learner: it improves its meta-parameters from batches
// of tasks, and adapts to a new task from its support set.
type Learner interface {
	// Name identifies the algorithm, e.g. "maml" or "reptile".
	Name() string
	// Model is the network being meta-learned.
	Model() models.Model
	// Params are the meta-parameters (the model's initial weights, and for
	// Meta-SGD the learned inner learning rates).
	Params() *graph.Params
	// Optimizer is the outer (meta) optimizer.
	Optimizer() graph.Optimizer
	// MetaStep takes one meta-update on a batch of tasks.
	MetaStep(tasks []Task) (Stats, error)
	// Adapt adapts to each task with steps inner steps and reports the
	// query loss after each (see Adaptation). It runs the tasks on the
	// learner's worker goroutines.
	Adapt(tasks []Task, steps int) ([]Adaptation, error)
}

// Stats summarises one meta-step: the query loss and accuracy of the
// adapted models, averaged over the meta-batch.
type Stats struct {
	Loss, Accuracy float64
}

// Adaptation is what happened to one task during adaptation: index s of
// each slice is the state after s inner steps (0: before any), or, when
// Steps is not nil, after Steps[s] inner steps.
type Adaptation struct {
	Loss     []float64   // query loss
	Accuracy []float64   // query accuracy (classification only)
	Outputs  [][]float64 // query outputs
	// Steps lists the numbers of inner steps the entries were measured
	// after (StepAdapter.AdaptAt); nil means every step from 0.
	Steps []int
}

// StepAdapter is a Learner that can measure the query set after some
// numbers of inner steps only. The query forward pass is most of the cost
// of a long adaptation (50 Reptile steps on 5 support and 75 query images),
// so EvaluateAt uses AdaptAt where a learner has it.
type StepAdapter interface {
	Learner
	// AdaptAt adapts to each task with the last number of steps in at,
	// which must be non-negative and increasing, and reports the query
	// set after each number of steps in at (Adaptation.Steps = at).
	AdaptAt(tasks []Task, at []int) ([]Adaptation, error)
}

// everyStep returns 0, 1, ..., steps.
func everyStep(steps int) []int {
	at := make([]int, steps+1)
	for s := range at {
		at[s] = s
	}
	return at
}

// checkSteps checks a list of step counts for AdaptAt.
func checkSteps(at []int) error {
	if len(at) == 0 {
		return fmt.Errorf("no step counts to measure at")
	}
	for i, s := range at {
		if s < 0 || (i > 0 && s <= at[i-1]) {
			return fmt.Errorf("step counts %v: want non-negative and increasing", at)
		}
	}
	return nil
}

// Options configures the optimization-based learners.
type Options struct {
	// Spec fixes the tasks' shapes.
	Spec Spec
	// InnerSteps is the number of inner-loop steps during meta-training.
	// If zero, a default of 1 is used.
	InnerSteps int
	// InnerLR is the inner-loop learning rate α. If zero, a default of
	// 0.01 is used.
	InnerLR float64
	// Outer is the meta-optimizer. If nil, Adam with learning rate 1e-3
	// is used.
	Outer graph.Optimizer
	// Workers is the number of goroutines a meta-batch runs on, each with
	// its own compiled task graph. Results do not depend on it. If zero,
	// a default of runtime.GOMAXPROCS(0) is used.
	Workers int
	// Dtype is the element type of the graphs. If zero, a default of
	// tensor.Float64 is used.
	Dtype tensor.Dtype
	// Seed initialises the meta-parameters.
	Seed uint64
	// ZeroHead names weights (a classifier's head, e.g. "fc.w", "fc.b")
	// that start every task at zero: they are zeroed at initialisation and
	// after every meta-update, so the inner loop alone sets them (the
	// "zeroing trick" of Kao et al., "MAML is a Noisy Contrastive Learner
	// in Classification", ICLR 2022). With N-way tasks whose labels are
	// permuted at random, a learned head is noise the inner loop has to
	// undo. If nil, no weight is zeroed.
	ZeroHead []string
}

func (o Options) withDefaults() Options {
	if o.InnerSteps == 0 {
		o.InnerSteps = 1
	}
	if o.InnerLR == 0 {
		o.InnerLR = 0.01
	}
	if o.Outer == nil {
		o.Outer = graph.NewAdam(1e-3)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Dtype == (tensor.Dtype{}) {
		o.Dtype = tensor.Float64
	}
	return o
}

// engine is the machinery the learners share: the meta-parameters, one
// worker (graph + runners) per goroutine, and a deterministic reduction of
// per-task meta-gradients.
type engine struct {
	name   string
	model  models.Model
	opts   Options
	params *graph.Params
	// adapted lists the names of the weights that move in the inner loop
	// (ANIL adapts only the head); nil means every model weight.
	adapted map[string]bool
	// modelNames are the model's own weights, in order (meta-parameters may
	// hold more, such as Meta-SGD's learning rates).
	modelNames []string

	// buildMeta adds the meta-objective of one task to a worker's graph:
	// it returns the query loss, the query outputs and ∂loss/∂(each
	// meta-parameter), in Params order.
	buildMeta func(w *worker) (loss, out *G.Node, grads []*G.Node, err error)
	// innerStep updates the current weights during Adapt from the support
	// gradients (in adaptedNames order) after step s.
	innerStep func(cur, grads []*tensor.Dense, s int)

	workers []*worker
	slots   [][][]float64 // per task, per meta-parameter
	mean    []*tensor.Dense
}

// worker is one goroutine's graphs.
type worker struct {
	e        *engine
	g        *G.ExprGraph
	p        *graph.Params // mirrors the engine's meta-parameters
	sup, qry setNodes

	meta      *graph.Runner
	loss, out *G.Node
	grads     []*G.Node

	adapt map[[2]int]*adaptGraph
}

func newEngine(name string, m models.Model, o Options) (*engine, error) {
	o = o.withDefaults()
	if o.Spec.Support < 1 || o.Spec.Query < 1 {
		return nil, fmt.Errorf("%s: support and query sets need at least one example (got %d and %d)", name, o.Spec.Support, o.Spec.Query)
	}
	e := &engine{name: name, model: m, opts: o, params: graph.NewParams(G.NewGraph(), o.Dtype)}
	if err := m.Init(e.params, o.Seed); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, p := range e.params.List {
		e.modelNames = append(e.modelNames, p.Name)
	}
	for _, n := range o.ZeroHead {
		if e.params.Get(n) == nil {
			return nil, fmt.Errorf("%s: zero head: model %s has no weight %q", name, m.Name(), n)
		}
	}
	e.zeroHead()
	e.innerStep = func(cur, grads []*tensor.Dense, _ int) {
		for i := range cur {
			graph.Axpy(cur[i], grads[i], -e.opts.InnerLR)
		}
	}
	return e, nil
}

// zeroHead sets the Options.ZeroHead weights to zero.
func (e *engine) zeroHead() {
	for _, n := range e.opts.ZeroHead {
		v := e.params.Get(n).Value
		switch d := v.Data().(type) {
		case []float64:
			clear(d)
		case []float32:
			clear(d)
		}
	}
}

// isAdapted reports whether the inner loop moves weight name.
func (e *engine) isAdapted(name string) bool { return e.adapted == nil || e.adapted[name] }

// adaptedNames lists the weights the inner loop moves, in model order.
func (e *engine) adaptedNames() []string {
	var ns []string
	for _, n := range e.modelNames {
		if e.isAdapted(n) {
			ns = append(ns, n)
		}
	}
	return ns
}

// worker returns worker i, building its graph on first use.
func (e *engine) worker(i int) (*worker, error) {
	for len(e.workers) <= i {
		g := G.NewGraph()
		w := &worker{e: e, g: g, p: e.params.Mirror(g), adapt: map[[2]int]*adaptGraph{}}
		e.workers = append(e.workers, w)
	}
	return e.workers[i], nil
}

// compileMeta builds and compiles a worker's meta-objective graph.
func (w *worker) compileMeta() error {
	if w.meta != nil {
		return nil
	}
	e := w.e
	err := graph.Build(func() {
		w.sup = e.opts.Spec.newSet(w.g, e.opts.Dtype, "support", e.opts.Spec.Support)
		w.qry = e.opts.Spec.newSet(w.g, e.opts.Dtype, "query", e.opts.Spec.Query)
		var err error
		w.loss, w.out, w.grads, err = e.buildMeta(w)
		if err != nil {
			panic(&graph.ShapeError{Msg: err.Error()})
		}
	})
	if err != nil {
		return fmt.Errorf("%s: build meta-graph: %w", e.name, err)
	}
	w.meta, err = graph.NewRunner(append([]*G.Node{w.loss, w.out}, w.grads...)...)
	if err != nil {
		return fmt.Errorf("%s: compile meta-graph: %w", e.name, err)
	}
	return nil
}

// feed copies a task into a runner's support and query inputs.
func feed(r *graph.Runner, sup, qry setNodes, t Task) error {
	for _, f := range []struct {
		n *G.Node
		v []float64
	}{{sup.x, t.SupportX}, {sup.y, t.SupportY}, {qry.x, t.QueryX}, {qry.y, t.QueryY}} {
		if err := r.Feed(f.n, f.v); err != nil {
			return err
		}
	}
	return nil
}

// parallel runs fn(worker, i) for i in [0, n) on the engine's workers and
// returns the first error.
func (e *engine) parallel(n int, fn func(w *worker, i int) error) error {
	nw := min(e.opts.Workers, n)
	for i := 0; i < nw; i++ {
		if _, err := e.worker(i); err != nil {
			return err
		}
	}
	next := make(chan int, n)
	for i := 0; i < n; i++ {
		next <- i
	}
	close(next)
	errs := make([]error, nw)
	var wg sync.WaitGroup
	for k := 0; k < nw; k++ {
		wg.Add(1)
		go func(k int) {
			defer wg.Done()
			for i := range next {
				if errs[k] != nil {
					continue
				}
				errs[k] = fn(e.workers[k], i)
			}
		}(k)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// metaStep is the gradient-based meta-update shared by MAML, FOMAML,
// Meta-SGD and ANIL: each task's meta-gradient is computed on some worker
// and stored in the task's slot; the slots are then averaged in task order,
// so the result does not depend on the number of workers.
func (e *engine) metaStep(tasks []Task) (Stats, error) {
	if len(tasks) == 0 {
		return Stats{}, fmt.Errorf("%s: empty meta-batch", e.name)
	}
	for _, t := range tasks {
		if err := e.opts.Spec.check(t); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	e.ensureSlots(len(tasks))
	losses, accs := make([]float64, len(tasks)), make([]float64, len(tasks))
	err := e.parallel(len(tasks), func(w *worker, i int) error {
		if err := w.compileMeta(); err != nil {
			return err
		}
		if err := feed(w.meta, w.sup, w.qry, tasks[i]); err != nil {
			return err
		}
		if err := w.meta.Run(); err != nil {
			return err
		}
		losses[i] = w.meta.Scalar(w.loss)
		accs[i] = e.opts.Spec.accuracy(w.meta.Float64s(w.out), tasks[i].QueryY)
		for j, g := range w.grads {
			graph.ToFloat64s(e.slots[i][j], w.meta.Value(g))
		}
		return nil
	})
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", e.name, err)
	}
	st := Stats{Loss: mean(losses), Accuracy: mean(accs)}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("%s: meta-loss is %v: the meta-parameters were not updated (try lower learning rates)", e.name, st.Loss)
	}
	e.averageSlots(len(tasks))
	if err := e.opts.Outer.Step(e.params.Values(), e.mean); err != nil {
		return st, fmt.Errorf("%s: %w", e.name, err)
	}
	e.zeroHead()
	return st, nil
}

// ensureSlots allocates per-task gradient slots and the mean gradient.
func (e *engine) ensureSlots(n int) {
	for len(e.slots) < n {
		s := make([][]float64, len(e.params.List))
		for j, p := range e.params.List {
			s[j] = make([]float64, p.Value.Shape().TotalSize())
		}
		e.slots = append(e.slots, s)
	}
	if e.mean == nil {
		for _, p := range e.params.List {
			e.mean = append(e.mean, tensor.New(tensor.Of(e.opts.Dtype), tensor.WithShape(p.Value.Shape()...)))
		}
	}
}

// averageSlots writes the mean of the first n slots into e.mean, adding
// the tasks in order.
func (e *engine) averageSlots(n int) {
	for j := range e.params.List {
		acc := make([]float64, len(e.slots[0][j]))
		for i := 0; i < n; i++ {
			for k, v := range e.slots[i][j] {
				acc[k] += v
			}
		}
		for k := range acc {
			acc[k] /= float64(n)
		}
		graph.SetFloat64s(e.mean[j], acc)
	}
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
