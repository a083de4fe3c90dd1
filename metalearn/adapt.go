package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// adaptGraph runs one inner step at a time outside the meta-graph: it
// takes the current weights as inputs and returns the support gradient
// (runner grad) and, separately, the query loss and outputs at those
// weights (runner query), so that a long adaptation measures the query set
// only where asked. Adapt (and Reptile's inner loop) call it in a Go loop,
// so any number of steps costs one compiled graph, and no second-order
// terms are built.
type adaptGraph struct {
	grad  *graph.Runner // support loss and gradients
	query *graph.Runner // query loss and outputs
	// weights are the current weights, one input per model weight; with
	// per-step batch norm (stepnorm.go) only step 0's set has inputs
	// (nil for the others), fed the set of the step being run.
	weights   []*G.Node
	stepSets  *adaptSets
	sup, qry  setNodes
	supLoss   *G.Node
	supGrads  []*G.Node // ∂supLoss/∂(adapted weights)
	qryLoss   *G.Node
	qryOut    *G.Node
	cur       []*tensor.Dense // the worker's current weights (model order)
	curAdapt  []*tensor.Dense // the adapted subset of cur
	gradVals  []*tensor.Dense
	adaptedIx []int
}

// adaptGraph returns the worker's adaptation graph for the given set sizes.
func (w *worker) adaptGraph(support, query int) (*adaptGraph, error) {
	key := [2]int{support, query}
	if a, ok := w.adapt[key]; ok {
		return a, nil
	}
	e := w.e
	g := G.NewGraph()
	a := &adaptGraph{stepSets: e.newAdaptSets()}
	wt := graph.Weights{}
	var adaptedNodes []*G.Node
	for i, name := range e.modelNames {
		p := e.params.Get(name)
		shape := p.Value.Shape()
		a.cur = append(a.cur, tensor.New(tensor.Of(e.opts.Dtype), tensor.WithShape(shape...)))
		if !a.stepSets.hasInput(i) {
			a.weights = append(a.weights, nil)
			continue
		}
		n := G.NewTensor(g, e.opts.Dtype, len(shape), G.WithShape(shape...), G.WithName("cur."+name))
		a.weights = append(a.weights, n)
		wt.Names, wt.Nodes = append(wt.Names, name), append(wt.Nodes, n)
		if e.isAdapted(name) {
			adaptedNodes = append(adaptedNodes, n)
			a.adaptedIx = append(a.adaptedIx, i)
			a.curAdapt = append(a.curAdapt, a.cur[i])
		}
	}
	wt = a.stepSets.addStats(g, e.opts.Dtype, wt)
	err := graph.Build(func() {
		spec := e.opts.Spec
		a.sup = spec.newSet(g, e.opts.Dtype, "support", support)
		a.qry = spec.newSet(g, e.opts.Dtype, "query", query)
		eval := a.stepSets != nil && a.stepSets.stats != nil
		a.supLoss = spec.loss(e.forward(wt, a.sup.x, 0, eval, nil), a.sup.y)
		a.qryOut = e.forward(wt, a.qry.x, 0, eval, nil)
		a.qryLoss = spec.loss(a.qryOut, a.qry.y)
		var err error
		if a.supGrads, err = graph.Grad(a.supLoss, adaptedNodes...); err != nil {
			panic(&graph.ShapeError{Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: build adaptation graph: %w", e.name, err)
	}
	if a.grad, err = graph.NewRunner(append([]*G.Node{a.supLoss}, a.supGrads...)...); err != nil {
		return nil, fmt.Errorf("%s: compile adaptation graph: %w", e.name, err)
	}
	if a.query, err = graph.NewRunner(a.qryLoss, a.qryOut); err != nil {
		return nil, fmt.Errorf("%s: compile adaptation graph: %w", e.name, err)
	}
	for _, gn := range a.supGrads {
		a.gradVals = append(a.gradVals, a.grad.Value(gn))
	}
	w.adapt[key] = a
	return a, nil
}

// start loads the meta-parameters as the current weights and feeds t.
func (a *adaptGraph) start(e *engine, t Task) error {
	for i, name := range e.modelNames {
		graph.CopyValues(a.cur[i], e.params.Get(name).Value)
	}
	if err := a.feedSupport(t); err != nil {
		return err
	}
	if err := a.query.Feed(a.qry.x, t.QueryX); err != nil {
		return err
	}
	return a.query.Feed(a.qry.y, t.QueryY)
}

// feedSupport feeds t's support set to the gradient runner.
func (a *adaptGraph) feedSupport(t Task) error {
	if err := a.grad.Feed(a.sup.x, t.SupportX); err != nil {
		return err
	}
	return a.grad.Feed(a.sup.y, t.SupportY)
}

// gradients computes the support gradient at the current weights into
// a.gradVals, with the forward pass of inner step s.
func (a *adaptGraph) gradients(s int) error { return a.runAtCurrent(a.grad, a.stepSets.set(s)) }

// measure appends the query loss, accuracy and outputs at the current
// weights, after s inner steps, to res.
func (a *adaptGraph) measure(spec Spec, t Task, res *Adaptation, s int) error {
	if err := a.runAtCurrent(a.query, a.stepSets.set(max(s-1, 0))); err != nil {
		return err
	}
	out := append([]float64(nil), a.query.Float64s(a.qryOut)...)
	res.Loss = append(res.Loss, a.query.Scalar(a.qryLoss))
	res.Accuracy = append(res.Accuracy, spec.accuracy(out, t.QueryY))
	res.Outputs = append(res.Outputs, out)
	return nil
}

// runAtCurrent feeds the current weights to r, with per-step batch norm
// set k's, and runs it.
func (a *adaptGraph) runAtCurrent(r *graph.Runner, k int) error {
	for i, n := range a.weights {
		if n == nil {
			continue
		}
		if err := r.Feed(n, a.cur[a.stepSets.source(i, k)]); err != nil {
			return err
		}
	}
	if err := a.stepSets.feedStats(r, k); err != nil {
		return err
	}
	return r.Run()
}

// checkTask checks that t's sets fit the spec.
func (e *engine) checkTask(t Task) error {
	in, tw := e.opts.Spec.inputSize(), e.opts.Spec.targetWidth()
	if len(t.SupportX)%in != 0 || len(t.QueryX)%in != 0 || len(t.SupportX)/in*tw != len(t.SupportY) || len(t.QueryX)/in*tw != len(t.QueryY) {
		return fmt.Errorf("%s: task sets do not match input size %d and target width %d", e.name, in, tw)
	}
	return nil
}

// innerLoop runs last(at) inner steps with step from the meta-parameters
// on t, step s on batches[s]'s support set when batches is not nil (on
// t's otherwise), and measures t's query set after each number of steps in
// at. The trained weights stay in the returned graph's cur. The engine's
// Adapt and Reptile's inner loop both run on it.
func (e *engine) innerLoop(w *worker, t Task, batches []Task, at []int, step func(cur, grads []*tensor.Dense, s int)) (Adaptation, *adaptGraph, error) {
	if err := e.checkTask(t); err != nil {
		return Adaptation{}, nil, err
	}
	first := t
	if batches != nil {
		first = batches[0]
	}
	in := e.opts.Spec.inputSize()
	a, err := w.adaptGraph(len(first.SupportX)/in, len(first.QueryX)/in)
	if err != nil {
		return Adaptation{}, nil, err
	}
	if err := a.start(e, first); err != nil {
		return Adaptation{}, nil, err
	}
	res := Adaptation{Steps: at}
	steps, next := at[len(at)-1], 0
	for s := 0; ; s++ {
		if s == at[next] {
			if err := a.measure(e.opts.Spec, t, &res, s); err != nil {
				return res, nil, err
			}
			next++
		}
		if s == steps {
			return res, a, nil
		}
		if batches != nil && s > 0 {
			if err := a.feedSupport(batches[s]); err != nil {
				return res, nil, err
			}
		}
		if err := a.gradients(s); err != nil {
			return res, nil, err
		}
		step(a.curAdapt, a.gradVals, s)
	}
}

// Adapt implements Learner for the gradient-based learners.
func (e *engine) Adapt(tasks []Task, steps int) ([]Adaptation, error) {
	return everyStepOf(e.AdaptAt(tasks, everyStep(steps)))
}

// AdaptAt implements StepAdapter for the gradient-based learners.
func (e *engine) AdaptAt(tasks []Task, at []int) ([]Adaptation, error) {
	return e.adaptTasks(e.name, tasks, at, func(w *worker, t Task) (Adaptation, error) {
		res, _, err := e.innerLoop(w, t, nil, at, e.innerStep)
		return res, err
	})
}

// adaptTasks checks at and runs one on every task on the workers.
func (e *engine) adaptTasks(name string, tasks []Task, at []int, one func(w *worker, t Task) (Adaptation, error)) ([]Adaptation, error) {
	if err := checkSteps(at); err != nil {
		return nil, fmt.Errorf("%s: adapt: %w", name, err)
	}
	res := make([]Adaptation, len(tasks))
	err := e.parallel(len(tasks), func(w *worker, i int) error {
		var err error
		res[i], err = one(w, tasks[i])
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: adapt: %w", name, err)
	}
	return res, nil
}

// everyStepOf turns AdaptAt's result for every step into Adapt's: index s
// is step s, Steps nil.
func everyStepOf(res []Adaptation, err error) ([]Adaptation, error) {
	for i := range res {
		res[i].Steps = nil
	}
	return res, err
}
