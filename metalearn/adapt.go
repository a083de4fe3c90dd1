package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// adaptGraph runs one inner step at a time outside the meta-graph: it
// takes the current weights as inputs and returns the support gradient
// together with the query loss and outputs at those weights. Adapt (and
// Reptile's inner loop) call it in a Go loop, so any number of steps costs
// one compiled graph, and no second-order terms are built.
type adaptGraph struct {
	run       *graph.Runner
	weights   []*G.Node // current weights, one input per model weight
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
	a := &adaptGraph{}
	wt := graph.Weights{}
	var adaptedNodes []*G.Node
	for i, name := range e.modelNames {
		p := e.params.Get(name)
		shape := p.Value.Shape()
		n := G.NewTensor(g, e.opts.Dtype, len(shape), G.WithShape(shape...), G.WithName("cur."+name))
		a.weights = append(a.weights, n)
		wt.Names, wt.Nodes = append(wt.Names, name), append(wt.Nodes, n)
		a.cur = append(a.cur, tensor.New(tensor.Of(e.opts.Dtype), tensor.WithShape(shape...)))
		if e.isAdapted(name) {
			adaptedNodes = append(adaptedNodes, n)
			a.adaptedIx = append(a.adaptedIx, i)
			a.curAdapt = append(a.curAdapt, a.cur[i])
		}
	}
	err := graph.Build(func() {
		spec := e.opts.Spec
		a.sup = spec.newSet(g, e.opts.Dtype, "support", support)
		a.qry = spec.newSet(g, e.opts.Dtype, "query", query)
		a.supLoss = spec.loss(e.model.Forward(wt, a.sup.x), a.sup.y)
		a.qryOut = e.model.Forward(wt, a.qry.x)
		a.qryLoss = spec.loss(a.qryOut, a.qry.y)
		var err error
		if a.supGrads, err = graph.Grad(a.supLoss, adaptedNodes...); err != nil {
			panic(&graph.ShapeError{Msg: err.Error()})
		}
	})
	if err != nil {
		return nil, fmt.Errorf("%s: build adaptation graph: %w", e.name, err)
	}
	if a.run, err = graph.NewRunner(append([]*G.Node{a.supLoss, a.qryLoss, a.qryOut}, a.supGrads...)...); err != nil {
		return nil, fmt.Errorf("%s: compile adaptation graph: %w", e.name, err)
	}
	for _, gn := range a.supGrads {
		a.gradVals = append(a.gradVals, a.run.Value(gn))
	}
	w.adapt[key] = a
	return a, nil
}

// start loads the meta-parameters as the current weights and feeds t.
func (a *adaptGraph) start(e *engine, t Task) error {
	for i, name := range e.modelNames {
		copyDense(a.cur[i], e.params.Get(name).Value)
	}
	return feed(a.run, a.sup, a.qry, t)
}

// eval runs the graph at the current weights.
func (a *adaptGraph) eval() error {
	for i, n := range a.weights {
		if err := a.run.Feed(n, a.cur[i]); err != nil {
			return err
		}
	}
	return a.run.Run()
}

// adapt runs steps inner steps on t from the meta-parameters.
func (e *engine) adapt(w *worker, t Task, steps int) (Adaptation, error) {
	spec := e.opts.Spec
	in, tw := spec.inputSize(), spec.targetWidth()
	if len(t.SupportX)%in != 0 || len(t.QueryX)%in != 0 || len(t.SupportX)/in*tw != len(t.SupportY) || len(t.QueryX)/in*tw != len(t.QueryY) {
		return Adaptation{}, fmt.Errorf("%s: task sets do not match input size %d and target width %d", e.name, in, tw)
	}
	a, err := w.adaptGraph(len(t.SupportX)/in, len(t.QueryX)/in)
	if err != nil {
		return Adaptation{}, err
	}
	if err := a.start(e, t); err != nil {
		return Adaptation{}, err
	}
	var res Adaptation
	for s := 0; s <= steps; s++ {
		if err := a.eval(); err != nil {
			return res, err
		}
		out := append([]float64(nil), a.run.Float64s(a.qryOut)...)
		res.Loss = append(res.Loss, a.run.Scalar(a.qryLoss))
		res.Accuracy = append(res.Accuracy, spec.accuracy(out, t.QueryY))
		res.Outputs = append(res.Outputs, out)
		if s < steps {
			e.innerStep(a.curAdapt, a.gradVals, s)
		}
	}
	return res, nil
}

// Adapt implements Learner for the gradient-based learners.
func (e *engine) Adapt(tasks []Task, steps int) ([]Adaptation, error) {
	res := make([]Adaptation, len(tasks))
	err := e.parallel(len(tasks), func(w *worker, i int) error {
		var err error
		res[i], err = e.adapt(w, tasks[i], steps)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s: adapt: %w", e.name, err)
	}
	return res, nil
}

func copyDense(dst, src *tensor.Dense) {
	if dst.Dtype() == tensor.Float64 {
		copy(dst.Float64s(), src.Float64s())
	} else {
		copy(dst.Float32s(), src.Float32s())
	}
}
