package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// engine is the machinery of the optimization-based learners (Gradient,
// Reptile): one worker (graphs and runners) per goroutine, the inner loop
// run outside the graph (adapt.go), and a deterministic reduction of
// per-task meta-gradients.
type engine struct {
	*base
	// adapted holds the weights that move in the inner loop (ANIL adapts
	// only the head); nil means every model weight. adapting lists them in
	// model order.
	adapted  map[string]bool
	adapting []string
	// rule moves the adapted weights in the inner loop.
	rule InnerRule
	// stepped is the model when its batch norm depends on the inner step
	// (nil otherwise), stats its running statistics (nil without them)
	// and statSlots each task's batch statistics of the last meta-step
	// (stepnorm.go).
	stepped   models.Stepped
	stats     *models.RunningStats
	statSlots [][]batchValues

	// buildMeta adds the meta-objective of one task to a worker's graph
	// (Gradient sets it; Reptile has none).
	buildMeta func(w *worker) (*Objective, error)

	workers []*worker
	gradSlots
}

// worker is one goroutine's graphs.
type worker struct {
	e   *engine
	g   *G.ExprGraph
	p   *graph.Params // mirrors the engine's meta-parameters
	obj *Objective    // the compiled meta-objective, once built
	run *graph.Runner

	adapt map[[2]int]*adaptGraph
}

func newEngine(name string, m models.Model, o Options, rule InnerRule) (*engine, error) {
	b, err := newBase(name, m, o)
	if err != nil {
		return nil, err
	}
	if rule == nil {
		rule = SGD{LR: b.opts.InnerLR}
	}
	e := &engine{base: b, rule: rule, adapting: b.modelNames}
	e.initStepNorm()
	return e, nil
}

// adaptOnly makes the inner loop move only the named weights.
func (e *engine) adaptOnly(names []string) error {
	e.adapted = map[string]bool{}
	for _, n := range names {
		if e.params.Get(n) == nil {
			return fmt.Errorf("%s: adapted weight %q is not a weight of %s (have %v)", e.name, n, e.model.Name(), e.modelNames)
		}
		e.adapted[n] = true
	}
	if len(e.adapted) == 0 {
		return fmt.Errorf("%s: no weights to adapt", e.name)
	}
	e.adapting = nil
	for _, n := range e.modelNames {
		if e.adapted[n] {
			e.adapting = append(e.adapting, n)
		}
	}
	return nil
}

// isAdapted reports whether the inner loop moves weight name.
func (e *engine) isAdapted(name string) bool { return e.adapted == nil || e.adapted[name] }

// innerStep applies the rule to the adapted weights (cur, grads in
// e.adapting order) at inner step s, outside the graph.
func (e *engine) innerStep(cur, grads []*tensor.Dense, s int) {
	for k, name := range e.adapting {
		e.rule.Apply(e.params, name, s, cur[k], grads[k])
	}
}

// worker returns worker i, building it on first use.
func (e *engine) worker(i int) *worker {
	for len(e.workers) <= i {
		g, p := e.mirror()
		e.workers = append(e.workers, &worker{e: e, g: g, p: p, adapt: map[[2]int]*adaptGraph{}})
	}
	return e.workers[i]
}

// parallel runs fn on the engine's workers for i in [0, n).
func (e *engine) parallel(n int, fn func(w *worker, i int) error) error {
	if n == 0 {
		return nil
	}
	e.worker(min(e.opts.Workers, n) - 1)
	return parallel(e.opts.Workers, n, func(k, i int) error { return fn(e.workers[k], i) })
}

// dropMetaGraphs discards the workers' meta-objective graphs, to be built
// afresh (in new graphs) on their next use: after a change to what the
// meta-objective is (MAML++'s schedules).
func (e *engine) dropMetaGraphs() {
	for _, w := range e.workers {
		w.g, w.p = e.mirror()
		w.obj, w.run = nil, nil
	}
}

// compileMeta builds and compiles a worker's meta-objective graph.
func (w *worker) compileMeta() error {
	if w.run != nil {
		return nil
	}
	e := w.e
	err := graph.Build(func() {
		var err error
		if w.obj, err = e.buildMeta(w); err != nil {
			panic(&graph.ShapeError{Msg: err.Error()})
		}
	})
	if err != nil {
		return fmt.Errorf("%s: build meta-graph: %w", e.name, err)
	}
	outs := []*G.Node{w.obj.Loss}
	for _, l := range w.obj.StepLosses {
		outs = append(outs, l) // the last is QueryLoss
	}
	if w.obj.StepLosses == nil && w.obj.QueryLoss != w.obj.Loss {
		outs = append(outs, w.obj.QueryLoss)
	}
	outs = append(append(outs, w.obj.Outputs), w.obj.Grads...)
	for _, b := range w.obj.batch {
		outs = append(outs, b.BatchMean, b.BatchVar)
	}
	w.run, err = graph.NewRunner(outs...)
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

// metaStep is the gradient-based meta-update: each task's meta-gradient
// is computed on some worker and stored in the task's slot; the slots are
// then averaged in task order, so the result does not depend on the
// number of workers. With Options.Comm the tasks are split across
// processes, each computing its share, and the average is continued from
// rank to rank in task order (see Comm), so the result does not depend on
// the number of processes either.
func (e *engine) metaStep(tasks []Task) (Stats, error) {
	if len(tasks) == 0 {
		return Stats{}, fmt.Errorf("%s: empty meta-batch", e.name)
	}
	for _, t := range tasks {
		if err := e.opts.Spec.check(t); err != nil {
			return Stats{}, fmt.Errorf("%s: %w", e.name, err)
		}
	}
	sh, err := shareOf(e.opts.Comm, len(tasks))
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", e.name, err)
	}
	e.ensureSlots(len(tasks))
	losses, accs := make([]float64, len(tasks)), make([]float64, len(tasks))
	err = e.parallel(sh.hi-sh.lo, func(w *worker, k int) error {
		i := sh.lo + k
		if err := w.runMeta(tasks[i]); err != nil {
			return err
		}
		losses[i] = w.run.Scalar(w.obj.QueryLoss)
		accs[i] = e.opts.Spec.accuracy(w.run.Float64s(w.obj.Outputs), tasks[i].QueryY)
		for j, g := range w.obj.Grads {
			graph.ToFloat64s(e.slots[i][j], w.run.Value(g))
		}
		e.keepBatchStats(w, i)
		return nil
	})
	if err = e.exchangeTasks(sh, err, losses, accs); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", e.name, err)
	}
	st := Stats{Loss: mean(losses), Accuracy: mean(accs)}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("%s: meta-loss is %v: the meta-parameters were not updated (try lower learning rates)", e.name, st.Loss)
	}
	if err := e.averageSlots(sh); err != nil {
		return st, fmt.Errorf("%s: %w", e.name, err)
	}
	if err := e.outerStep(e.mean); err != nil {
		return st, fmt.Errorf("%s: %w", e.name, err)
	}
	if err := e.updateRunningStats(len(tasks)); err != nil {
		return st, fmt.Errorf("%s: %w", e.name, err)
	}
	e.zeroHead()
	return st, nil
}

// exchangeTasks tells every process whether any failed to compute its
// tasks (failed: this one's error), and then
// gives every process the query loss, accuracy and batch statistics of
// the tasks the others computed (see Comm). Nothing for one process.
func (e *engine) exchangeTasks(sh taskShare, failed error, losses, accs []float64) error {
	if err := sh.agree(failed); err != nil || !sh.split() {
		return err
	}
	size := 2
	var tmpl []batchValues // the layout of a task's batch statistics
	if e.stats != nil {
		tmpl = e.statSlots[sh.lo]
		for _, v := range tmpl {
			size += len(v.mean) + len(v.variance)
		}
	}
	return sh.exchange(size, func(i int, out []float64) {
		out[0], out[1] = losses[i], accs[i]
		k := 2
		for _, v := range e.statSlotsOf(i) {
			k += copy(out[k:], v.mean)
			k += copy(out[k:], v.variance)
		}
	}, func(i int, in []float64) {
		losses[i], accs[i] = in[0], in[1]
		if tmpl == nil {
			return
		}
		slot := e.statSlots[i][:0]
		k := 2
		for _, t := range tmpl {
			v := batchValues{stat: t.stat, mean: make([]float64, len(t.mean)), variance: make([]float64, len(t.variance))}
			k += copy(v.mean, in[k:])
			k += copy(v.variance, in[k:])
			slot = append(slot, v)
		}
		e.statSlots[i] = slot
	})
}

// statSlotsOf is task i's batch statistics (nil without running
// statistics).
func (e *engine) statSlotsOf(i int) []batchValues {
	if e.stats == nil {
		return nil
	}
	return e.statSlots[i]
}

// runMeta runs the worker's meta-objective on t.
func (w *worker) runMeta(t Task) error {
	if err := w.compileMeta(); err != nil {
		return err
	}
	if err := feed(w.run, w.obj.support, w.obj.query, t); err != nil {
		return err
	}
	return w.run.Run()
}

// ensureSlots allocates per-task gradient slots (gradSlots) and batch
// statistics.
func (e *engine) ensureSlots(n int) {
	e.ensureGradSlots(e.params, e.opts.Dtype, n)
	for e.stats != nil && len(e.statSlots) < n {
		e.statSlots = append(e.statSlots, nil)
	}
}
