package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// CNP is the Conditional Neural Process of Garnelo et al., "Conditional
// Neural Processes" (ICML 2018): a model-based meta-learner, without an
// inner loop. A task's support set is its context O = {(xᵢ, yᵢ)}; the
// network (models.CNP) encodes every context pair, rᵢ = h(xᵢ, yᵢ),
// aggregates them by their mean, r = (1/n) Σ rᵢ, and decodes each target
// input x* with r into a Gaussian predictive distribution,
//
//	(μ, s) = g(r, x*),   σ = 0.1 + 0.9·softplus(s),
//
// the lower bound on σ being DeepMind's reference notebook's
// (conditional_neural_process.ipynb). Meta-training minimises the
// negative log-likelihood of the targets, −(1/m) Σⱼ log N(yⱼ; μⱼ, σⱼ²),
// averaged over the tasks of a meta-batch, with Adam (§2.4: "we train by
// … predicting [the targets] given the context"). Following the paper's
// training procedure and the notebook, the targets of a training task are
// its query points together with its context points (the notebook's
// target set includes the context); CNPOptions.QueryTargetsOnly trains on
// the query points alone.
//
// Adapt conditions on each task's support set and predicts its query set,
// one entry per task: Loss is the MSE of the predictive mean (comparable
// with the other learners' regression losses), Extra[NLL] the negative
// log-likelihood of the query targets per point, Outputs the means and Std
// the standard deviations σ.
//
// Tasks may differ in their numbers of context and query points. Tasks of
// one shape are batched into one graph, at most CNPOptions.ChunkTasks
// tasks and ChunkRows target points at a time; the chunks run on the
// worker goroutines and their gradients are summed in chunk order, so
// results do not depend on the number of workers.
type CNP struct {
	*base
	net     *models.CNP
	copts   CNPOptions
	workers []*cnpWorker
	slots   [][][]float64 // per chunk, per meta-parameter: the chunk's gradient
	mean    []*tensor.Dense
}

// CNPOptions configures a CNP. Options.Spec gives the input and target
// widths; InnerSteps and InnerLR are unused.
type CNPOptions struct {
	Options
	// LR is Adam's learning rate. If zero, a default of 1e-4 (the
	// notebook's) is used; ignored when Options.Outer is set.
	LR float64
	// QueryTargetsOnly trains on the query points alone as targets. The
	// zero value follows the paper and the notebook: the targets are the
	// context points and the query points.
	QueryTargetsOnly bool
	// ChunkTasks is the most tasks one compiled graph takes at once. If
	// zero, a default of 16 is used.
	ChunkTasks int
	// ChunkRows is the most target points (over all its tasks) one
	// compiled graph takes at once; a graph holds at least one task. If
	// zero, a default of 2048 is used.
	ChunkRows int
}

// The bound on the predictive standard deviation of the notebook:
// σ = cnpMinStd + (1 − cnpMinStd)·softplus(s).
const cnpMinStd = 0.1

// NewCNP returns a CNP learner over the network m, which must be a
// *models.CNP shaped for o.Spec's inputs and targets.
func NewCNP(m models.Model, o CNPOptions) (*CNP, error) {
	net, ok := m.(*models.CNP)
	if !ok {
		return nil, fmt.Errorf("cnp: the model must be a CNP network (-model cnp), not %s", m.Name())
	}
	if o.LR == 0 {
		o.LR = 1e-4
	}
	if o.Outer == nil {
		o.Outer = graph.NewAdam(o.LR)
	}
	if o.ChunkTasks == 0 {
		o.ChunkTasks = 16
	}
	if o.ChunkRows == 0 {
		o.ChunkRows = 2048
	}
	if o.ChunkTasks < 1 || o.ChunkRows < 1 {
		return nil, fmt.Errorf("cnp: chunks of %d tasks and %d target points: want at least 1 each", o.ChunkTasks, o.ChunkRows)
	}
	in, out := o.Spec.inputSize(), o.Spec.targetWidth()
	if o.Spec.Classes > 0 {
		return nil, fmt.Errorf("cnp: regression only, not %d-way classification", o.Spec.Classes)
	}
	if x, y := net.EncoderMLP().Sizes[0], net.OutputSize()/2; x != in+out || y != out {
		return nil, fmt.Errorf("cnp: network %s takes pairs of width %d and targets of width %d; the tasks have %d and %d", net.Name(), x, y, in+out, out)
	}
	b, err := newBase("cnp", m, o.Options)
	if err != nil {
		return nil, err
	}
	return &CNP{base: b, net: net, copts: o}, nil
}

// Net returns the learner's network.
func (l *CNP) Net() *models.CNP { return l.net }

// Describe says how the CNP predicts and what it is trained on.
func (l *CNP) Describe() string {
	targets := "targets = context ∪ query"
	if l.copts.QueryTargetsOnly {
		targets = "targets = query"
	}
	return fmt.Sprintf("no inner steps: encoder %v, mean, decoder %v, σ = 0.1 + 0.9·softplus; %s; %s",
		l.net.EncoderMLP().Sizes, l.net.DecoderMLP().Sizes, targets, outer(l.base, "iteration"))
}

// Predict builds the CNP's predictive distribution for tasks tasks of one
// shape, from weights w: cx, cy are their context points and tx their
// target inputs, one task after another (see models.CNP.Encode). It
// returns the means μ and the standard deviations σ = 0.1 + 0.9·softplus(s),
// each (rows of tx × YSize).
func (l *CNP) Predict(w graph.Weights, cx, cy, tx *G.Node, tasks int) (mean, std *G.Node) {
	r := l.net.Encode(w, cx, cy, tasks) // r = (1/n) Σᵢ h(xᵢ, yᵢ)
	mean, raw := l.net.Decode(w, r, tx) // (μ, s) = g(r, x*)
	return mean, graph.Affine(graph.Softplus(raw), 1-cnpMinStd, cnpMinStd)
}

// TaskNLL returns, for tasks tasks of one shape, each task's negative
// log-likelihood of its targets ty per target point (tasks): the mean over
// its points of −log N(y; μ, σ²), summed over a target's components (a
// diagonal Gaussian over YSize values, as the notebook's
// MultivariateNormalDiag).
func TaskNLL(mean, std, ty *G.Node, tasks int) *G.Node {
	rows, width := ty.Shape()[0], ty.Shape()[1]
	points := graph.Reshape(graph.GaussianNLLPoints(mean, std, ty), tasks, rows/tasks*width)
	return graph.Scale(graph.Sum(points, 1), float64(tasks)/float64(rows))
}

// TaskMSE returns each task's mean squared error of the means against its
// targets ty (tasks), as graph.MSE on one task.
func TaskMSE(mean, ty *G.Node, tasks int) *G.Node {
	rows, width := ty.Shape()[0], ty.Shape()[1]
	return graph.Mean(graph.Reshape(graph.Square(graph.Sub(mean, ty)), tasks, rows/tasks*width), 1)
}

// cnpWorker is one goroutine's graphs: a mirror of the parameters and the
// compiled chunk graphs by shape.
type cnpWorker struct {
	g      *G.ExprGraph
	p      *graph.Params
	graphs map[cnpKey]*cnpGraph
}

// cnpKey is the shape of a chunk: tasks, context and target points per
// task, and whether its graph holds the gradients.
type cnpKey struct {
	tasks, context, targets int
	grads                   bool
}

// cnpGraph is a compiled chunk graph.
type cnpGraph struct {
	run            *graph.Runner
	cx, cy, tx, ty *G.Node
	mean, std      *G.Node
	nll, mse       *G.Node // per task
	objective      *G.Node // Σ over tasks of their NLL
	grads          []*G.Node
	buf            [4][]float64
}

// cnpChunk is some tasks of one shape, by index in the batch.
type cnpChunk struct {
	tasks            []int
	context, targets int
}

// targets returns the target points of t: the query points, preceded by
// the context points when training on both.
func (l *CNP) targets(t Task, training bool) (x, y []float64) {
	if !training || l.copts.QueryTargetsOnly {
		return t.QueryX, t.QueryY
	}
	return append(append([]float64(nil), t.SupportX...), t.QueryX...), append(append([]float64(nil), t.SupportY...), t.QueryY...)
}

// chunks checks the tasks and groups them by shape (in order of first
// appearance), each group cut into chunks within ChunkTasks and ChunkRows.
func (l *CNP) chunks(tasks []Task, training bool) ([]cnpChunk, error) {
	in, tw := l.opts.Spec.inputSize(), l.opts.Spec.targetWidth()
	type shape struct{ context, targets int }
	var order []shape
	groups := map[shape][]int{}
	for i, t := range tasks {
		n, q := len(t.SupportX)/in, len(t.QueryX)/in
		switch {
		case n < 1 || q < 1:
			return nil, fmt.Errorf("cnp: task %d has %d context and %d query points: want at least 1 each", i, n, q)
		case len(t.SupportX) != n*in || len(t.QueryX) != q*in:
			return nil, fmt.Errorf("cnp: task %d's inputs are not multiples of %d values", i, in)
		case len(t.SupportY) != n*tw || len(t.QueryY) != q*tw:
			return nil, fmt.Errorf("cnp: task %d has %d and %d target values for %d context and %d query points of width %d", i, len(t.SupportY), len(t.QueryY), n, q, tw)
		}
		m := q
		if training && !l.copts.QueryTargetsOnly {
			m += n
		}
		s := shape{n, m}
		if _, ok := groups[s]; !ok {
			order = append(order, s)
		}
		groups[s] = append(groups[s], i)
	}
	var out []cnpChunk
	for _, s := range order {
		per := max(1, min(l.copts.ChunkTasks, l.copts.ChunkRows/s.targets))
		for idx := groups[s]; len(idx) > 0; {
			k := min(per, len(idx))
			out = append(out, cnpChunk{tasks: idx[:k], context: s.context, targets: s.targets})
			idx = idx[k:]
		}
	}
	return out, nil
}

// chunkGraph returns worker k's graph for chunks of shape key, building it
// on first use.
func (l *CNP) chunkGraph(k int, key cnpKey) (*cnpGraph, error) {
	w := l.workers[k]
	if cg, ok := w.graphs[key]; ok {
		return cg, nil
	}
	dt := l.opts.Dtype
	in, tw := l.opts.Spec.inputSize(), l.opts.Spec.targetWidth()
	name := fmt.Sprintf("cnp.%d.%d.%d.%v", key.tasks, key.context, key.targets, key.grads)
	input := func(what string, rows, cols int) *G.Node {
		return G.NewMatrix(w.g, dt, G.WithShape(rows, cols), G.WithName(name+"."+what))
	}
	cg := &cnpGraph{}
	err := graph.Build(func() {
		cg.cx, cg.cy = input("cx", key.tasks*key.context, in), input("cy", key.tasks*key.context, tw)
		cg.tx, cg.ty = input("tx", key.tasks*key.targets, in), input("ty", key.tasks*key.targets, tw)
		cg.mean, cg.std = l.Predict(w.p.Weights(), cg.cx, cg.cy, cg.tx, key.tasks)
		cg.nll = TaskNLL(cg.mean, cg.std, cg.ty, key.tasks)
		cg.mse = TaskMSE(cg.mean, cg.ty, key.tasks)
		cg.objective = graph.Sum(cg.nll)
	})
	if err != nil {
		return nil, fmt.Errorf("cnp: build graph: %w", err)
	}
	outs := []*G.Node{cg.objective, cg.nll, cg.mse}
	if key.grads {
		if cg.grads, err = graph.Grad(cg.objective, w.p.Nodes()...); err != nil {
			return nil, fmt.Errorf("cnp: %w", err)
		}
		outs = append(outs, cg.grads...)
	} else {
		outs = append(outs, cg.mean, cg.std)
	}
	if cg.run, err = graph.NewRunner(outs...); err != nil {
		return nil, fmt.Errorf("cnp: compile graph: %w", err)
	}
	w.graphs[key] = cg
	return cg, nil
}

// runChunk feeds chunk c of tasks into worker k's graph and runs it.
func (l *CNP) runChunk(k int, c cnpChunk, tasks []Task, training bool) (*cnpGraph, error) {
	cg, err := l.chunkGraph(k, cnpKey{len(c.tasks), c.context, c.targets, training})
	if err != nil {
		return nil, err
	}
	for b := range cg.buf {
		cg.buf[b] = cg.buf[b][:0]
	}
	for _, i := range c.tasks {
		tx, ty := l.targets(tasks[i], training)
		cg.buf[0] = append(cg.buf[0], tasks[i].SupportX...)
		cg.buf[1] = append(cg.buf[1], tasks[i].SupportY...)
		cg.buf[2] = append(cg.buf[2], tx...)
		cg.buf[3] = append(cg.buf[3], ty...)
	}
	for b, n := range []*G.Node{cg.cx, cg.cy, cg.tx, cg.ty} {
		if err := cg.run.Feed(n, cg.buf[b]); err != nil {
			return nil, fmt.Errorf("cnp: %w", err)
		}
	}
	if err := cg.run.Run(); err != nil {
		return nil, fmt.Errorf("cnp: %w", err)
	}
	return cg, nil
}

// MetaStep takes one Adam step on the mean over tasks of their targets'
// negative log-likelihood per point, and reports it as Stats.Loss. A loss
// that is not finite is refused and leaves the parameters as they were.
func (l *CNP) MetaStep(tasks []Task) (Stats, error) {
	if len(tasks) == 0 {
		return Stats{}, fmt.Errorf("cnp: empty meta-batch")
	}
	chunks, err := l.chunks(tasks, true)
	if err != nil {
		return Stats{}, err
	}
	l.ensureWorkers()
	l.ensureSlots(len(chunks))
	sums := make([]float64, len(chunks))
	err = parallel(l.opts.Workers, len(chunks), func(k, c int) error {
		cg, err := l.runChunk(k, chunks[c], tasks, true)
		if err != nil {
			return err
		}
		sums[c] = cg.run.Scalar(cg.objective)
		for j, g := range cg.grads {
			graph.ToFloat64s(l.slots[c][j], cg.run.Value(g))
		}
		return nil
	})
	if err != nil {
		return Stats{}, err
	}
	loss := 0.0
	for _, s := range sums {
		loss += s
	}
	loss /= float64(len(tasks))
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return Stats{Loss: loss}, fmt.Errorf("cnp: loss is %v: the parameters were not updated (try a lower learning rate)", loss)
	}
	for j := range l.params.List {
		acc := make([]float64, len(l.slots[0][j]))
		for c := range chunks {
			for i, v := range l.slots[c][j] {
				acc[i] += v
			}
		}
		for i := range acc {
			acc[i] /= float64(len(tasks))
		}
		graph.SetFloat64s(l.mean[j], acc)
	}
	if err := l.outerStep(l.mean); err != nil {
		return Stats{Loss: loss}, fmt.Errorf("cnp: %w", err)
	}
	return Stats{Loss: loss}, nil
}

// Adapt predicts each task's query set from its support set (the
// context). There is no inner loop: each Adaptation has one entry,
// whatever steps is.
func (l *CNP) Adapt(tasks []Task, _ int) ([]Adaptation, error) {
	chunks, err := l.chunks(tasks, false)
	if err != nil {
		return nil, err
	}
	l.ensureWorkers()
	tw := l.opts.Spec.targetWidth()
	res := make([]Adaptation, len(tasks))
	err = parallel(l.opts.Workers, len(chunks), func(k, c int) error {
		cg, err := l.runChunk(k, chunks[c], tasks, false)
		if err != nil {
			return err
		}
		nll, mse := cg.run.Float64s(cg.nll), cg.run.Float64s(cg.mse)
		mean, std := cg.run.Float64s(cg.mean), cg.run.Float64s(cg.std)
		per := chunks[c].targets * tw
		for j, i := range chunks[c].tasks {
			res[i] = Adaptation{Loss: []float64{mse[j]}, Extra: map[string][]float64{NLL: {nll[j]}},
				Outputs: [][]float64{append([]float64(nil), mean[j*per:(j+1)*per]...)},
				Std:     [][]float64{append([]float64(nil), std[j*per:(j+1)*per]...)}}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ensureWorkers creates every worker up front, so that goroutines never
// grow the shared slice.
func (l *CNP) ensureWorkers() {
	for len(l.workers) < l.opts.Workers {
		g, p := l.mirror()
		l.workers = append(l.workers, &cnpWorker{g: g, p: p, graphs: map[cnpKey]*cnpGraph{}})
	}
}

// ensureSlots allocates gradient slots for n chunks and the mean gradient.
func (l *CNP) ensureSlots(n int) {
	for len(l.slots) < n {
		s := make([][]float64, len(l.params.List))
		for j, p := range l.params.List {
			s[j] = make([]float64, p.Value.Shape().TotalSize())
		}
		l.slots = append(l.slots, s)
	}
	if l.mean == nil {
		for _, p := range l.params.List {
			l.mean = append(l.mean, tensor.New(tensor.Of(l.opts.Dtype), tensor.WithShape(p.Value.Shape()...)))
		}
	}
}
