package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MetricHead is what makes one metric learner differ from another: how an
// episode's embeddings become query scores and a loss. Metric does the
// rest (embedding every image, the compiled graphs, feeding episodes,
// Adam steps, evaluation), so a new metric learner is a MetricHead and a
// constructor calling NewMetric; see ProtoNet (protonet.go) and
// MatchingNet (matchingnet.go).
type MetricHead interface {
	// Init adds the head's own meta-parameters, if any, to p, which
	// already holds the embedding model m's weights (a relation module,
	// the LSTMs of full context embeddings). Their names must differ from
	// the model's. A head without parameters adds nothing.
	Init(p *graph.Params, m models.Model, seed uint64) error
	// Episode builds one episode's loss, a scalar to minimise, and its
	// logits, one row of scores per query (query × ways, higher means
	// more likely), from the weights w (the model's and the head's, by
	// name) and the episode e. It may panic with a *graph.ShapeError;
	// Metric turns that into an error.
	Episode(w graph.Weights, e *Episode) (loss, logits *G.Node)
}

// Episode is one episode as a MetricHead sees it: the embeddings of its
// images and its labels, as nodes of the graph being built. Support and
// Query are always there; each label matrix is created (and later fed)
// only when the head asks for it.
type Episode struct {
	// Support (support × D) and Query (query × D) are the embeddings of
	// the support and query images, in the task's order. Every image of
	// the episode goes through the model in one batch, so batch norm uses
	// the statistics of the whole episode.
	Support, Query *G.Node
	// SupportSize, QuerySize and Ways are the episode's numbers of
	// support images (all classes together), query images and classes.
	SupportSize, QuerySize, Ways int

	g                             *G.ExprGraph
	dt                            tensor.Dtype
	name                          string
	avg, oneHot, labels, labelsOH *G.Node
}

// Average is the (ways × support) matrix whose row c holds 1/K_c at the
// support images of class c (K_c of them) and 0 elsewhere:
// MatMul(e.Average(), e.Support) are the class means of the embeddings.
func (e *Episode) Average() *G.Node {
	if e.avg == nil {
		e.avg = e.input("avg", e.Ways, e.SupportSize)
	}
	return e.avg
}

// OneHot is the (ways × support) matrix whose row c holds 1 at the support
// images of class c and 0 elsewhere: the support labels, one-hot and
// transposed. MatMul(scores, e.OneHot()) with transposition sums a query's
// scores over each class's support images.
func (e *Episode) OneHot() *G.Node {
	if e.oneHot == nil {
		e.oneHot = e.input("onehot", e.Ways, e.SupportSize)
	}
	return e.oneHot
}

// Labels are the query labels (query), class indices stored as floats, as
// graph.CrossEntropy takes them.
func (e *Episode) Labels() *G.Node {
	if e.labels == nil {
		e.labels = G.NewTensor(e.g, e.dt, 1, G.WithShape(e.QuerySize), G.WithName(e.name+".yq"))
	}
	return e.labels
}

// LabelsOneHot are the query labels one-hot (query × ways), e.g. the
// targets of a mean-squared-error loss.
func (e *Episode) LabelsOneHot() *G.Node {
	if e.labelsOH == nil {
		e.labelsOH = e.input("yq1h", e.QuerySize, e.Ways)
	}
	return e.labelsOH
}

// input creates an input matrix of the episode's graph.
func (e *Episode) input(what string, rows, cols int) *G.Node {
	return G.NewTensor(e.g, e.dt, 2, G.WithShape(rows, cols), G.WithName(e.name+"."+what))
}

// MetricOptions configures a metric learner. Options.Spec gives the
// training episodes' shape (Classes is the number of ways); InnerSteps and
// InnerLR are unused.
type MetricOptions struct {
	Options
	// LR is Adam's initial learning rate. If zero, a default of 1e-3 is
	// used (ignored when Options.Outer is set).
	LR float64
	// LRHalvingEvery halves the learning rate after this many episodes,
	// counted one by one whatever the meta-batch (a step on a meta-batch
	// of B episodes counts B): the schedule step:LRHalvingEvery:0.5
	// (graph.StepDecay) of the episode count, unless Options.Schedule gives
	// another. If zero, a default of 2000 is used;
	// negative disables it.
	LRHalvingEvery int
}

// Metric is a metric-based learner: an embedding network and a
// MetricHead that classifies queries by comparing their embeddings with
// the support set's. It has no inner loop. Meta-training takes one Adam
// step per meta-batch of episodes (usually one) on the mean of their
// losses' gradients, the learning rate halved every LRHalvingEvery
// episodes or following Options.Schedule, by episode (see MetaStep); a
// loss that is not finite is refused and
// leaves the parameters as they were. Adapt classifies each task's
// queries, one entry per task.
type Metric struct {
	*base
	head    MetricHead
	mopts   MetricOptions
	workers []*metricWorker
	gradSlots
}

// metricWorker is one goroutine's graph: a mirror of the parameters and
// the compiled episode graphs, by (support, query, ways).
type metricWorker struct {
	g      *G.ExprGraph
	p      *graph.Params
	graphs map[[3]int]*metricGraph
}

// metricGraph is the compiled episode graph for one shape.
type metricGraph struct {
	run          *graph.Runner
	x            *G.Node // all images, support then query
	ep           *Episode
	loss, logits *G.Node
	grads        []*G.Node
	xBuf         []float64
	// the label matrices' values, for those the head asked for
	avgBuf, oneHotBuf, labelsOHBuf []float64
}

// NewMetric returns the metric learner name over embedding model m (e.g.
// Conv-4 without a head) with head h, whose meta-parameters are the
// model's weights followed by the head's.
func NewMetric(name string, m models.Model, h MetricHead, o MetricOptions) (*Metric, error) {
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.LRHalvingEvery == 0 {
		o.LRHalvingEvery = 2000
	}
	if o.Outer == nil {
		o.Outer = graph.NewAdam(o.LR)
	}
	if _, ok := o.Outer.(graph.LRSetter); ok && o.Schedule == nil && o.LRHalvingEvery > 0 {
		o.Schedule = graph.StepDecay{Every: o.LRHalvingEvery, Gamma: 0.5}
	}
	if o.Spec.Classes < 2 {
		return nil, fmt.Errorf("%s: episodes need at least 2 ways, got %d", name, o.Spec.Classes)
	}
	if err := refuseStepNorm(name, m); err != nil {
		return nil, err
	}
	b, err := newBase(name, m, o.Options)
	if err != nil {
		return nil, err
	}
	if err := h.Init(b.params, m, b.opts.Seed); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &Metric{base: b, head: h, mopts: o}, nil
}

// Head returns the learner's head.
func (l *Metric) Head() MetricHead { return l.head }

// episodeGraph returns worker k's graph for episodes of the given shape,
// building it on first use. With withGrads it also holds the gradients.
func (l *Metric) episodeGraph(k, support, query, ways int, withGrads bool) (*metricGraph, error) {
	key := [3]int{support, query, ways}
	w := l.workers[k]
	if mg, ok := w.graphs[key]; ok && (mg.grads != nil || !withGrads) {
		return mg, nil
	}
	dt := l.base.opts.Dtype
	mg := &metricGraph{}
	name := fmt.Sprintf("%s.%d.%d.%d.%v", l.name, support, query, ways, withGrads)
	err := graph.Build(func() {
		shape := append([]int{support + query}, l.base.opts.Spec.Input...)
		mg.x = G.NewTensor(w.g, dt, len(shape), G.WithShape(shape...), G.WithName(name+".x"))
		emb := l.model.Forward(l.modelWeightsOf(w.p), mg.x)
		mg.ep = &Episode{Support: graph.Slice(emb, 0, 0, support), Query: graph.Slice(emb, 0, support, support+query),
			SupportSize: support, QuerySize: query, Ways: ways, g: w.g, dt: dt, name: name}
		mg.loss, mg.logits = l.head.Episode(w.p.Weights(), mg.ep)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: build episode graph: %w", l.name, err)
	}
	if mg.loss == nil || mg.logits == nil || len(mg.loss.Shape()) > 1 || graph.Size(mg.loss.Shape()) != 1 {
		return nil, fmt.Errorf("%s: the head's episode graph has no scalar loss or no logits", l.name)
	}
	if s := mg.logits.Shape(); len(s) != 2 || s[0] != query || s[1] != ways {
		return nil, fmt.Errorf("%s: the head's logits have shape %v, want (%d, %d)", l.name, s, query, ways)
	}
	outs := []*G.Node{mg.loss, mg.logits}
	if withGrads {
		if mg.grads, err = graph.Grad(mg.loss, w.p.Nodes()...); err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		outs = append(outs, mg.grads...)
	}
	if mg.run, err = graph.NewRunner(outs...); err != nil {
		return nil, fmt.Errorf("%s: compile episode graph: %w", l.name, err)
	}
	w.graphs[key] = mg
	return mg, nil
}

// episodeShape checks a task and returns its (support, query, ways) (see
// classEpisodeShape).
func (l *Metric) episodeShape(t Task) (int, int, int, error) {
	return classEpisodeShape(l.name, l.base.opts.Spec.inputSize(), t)
}

// classEpisodeShape checks a classification task of images of in values
// for learner name and returns its (support, query, ways): the labels
// must be class indices, and every query class must have support
// examples.
func classEpisodeShape(name string, in int, t Task) (int, int, int, error) {
	if len(t.SupportX)%in != 0 || len(t.QueryX)%in != 0 {
		return 0, 0, 0, fmt.Errorf("%s: task images are not multiples of %d values", name, in)
	}
	s, q := len(t.SupportX)/in, len(t.QueryX)/in
	if len(t.SupportY) != s || len(t.QueryY) != q {
		return 0, 0, 0, fmt.Errorf("%s: %d support and %d query labels for %d and %d images", name, len(t.SupportY), len(t.QueryY), s, q)
	}
	ways := 0
	for _, y := range t.SupportY {
		if y < 0 || y != math.Trunc(y) {
			return 0, 0, 0, fmt.Errorf("%s: support label %v is not a class index", name, y)
		}
		ways = max(ways, int(y)+1)
	}
	for _, y := range t.QueryY {
		if y < 0 || int(y) >= ways || y != math.Trunc(y) {
			return 0, 0, 0, fmt.Errorf("%s: query label %v has no support examples (ways %d)", name, y, ways)
		}
	}
	return s, q, ways, nil
}

// feedEpisode fills the graph's inputs from t: the images, and the label
// matrices the head asked for.
func (l *Metric) feedEpisode(mg *metricGraph, t Task) error {
	ep := mg.ep
	counts := make([]float64, ep.Ways)
	for _, y := range t.SupportY {
		counts[int(y)]++
	}
	for c, n := range counts {
		if n == 0 {
			return fmt.Errorf("%s: class %d has no support examples", l.name, c)
		}
	}
	mg.xBuf = append(append(mg.xBuf[:0], t.SupportX...), t.QueryX...)
	if err := mg.run.Feed(mg.x, mg.xBuf); err != nil {
		return err
	}
	s := len(t.SupportY)
	classMatrix := func(buf *[]float64, n *G.Node, val func(c int) float64) error {
		if n == nil {
			return nil
		}
		if *buf == nil {
			*buf = make([]float64, ep.Ways*s)
		}
		clear(*buf)
		for i, y := range t.SupportY {
			c := int(y)
			(*buf)[c*s+i] = val(c)
		}
		return mg.run.Feed(n, *buf)
	}
	if err := classMatrix(&mg.avgBuf, ep.avg, func(c int) float64 { return 1 / counts[c] }); err != nil {
		return err
	}
	if err := classMatrix(&mg.oneHotBuf, ep.oneHot, func(int) float64 { return 1 }); err != nil {
		return err
	}
	if ep.labels != nil {
		if err := mg.run.Feed(ep.labels, t.QueryY); err != nil {
			return err
		}
	}
	if ep.labelsOH != nil {
		if mg.labelsOHBuf == nil {
			mg.labelsOHBuf = make([]float64, ep.QuerySize*ep.Ways)
		}
		clear(mg.labelsOHBuf)
		for i, y := range t.QueryY {
			mg.labelsOHBuf[i*ep.Ways+int(y)] = 1
		}
		if err := mg.run.Feed(ep.labelsOH, mg.labelsOHBuf); err != nil {
			return err
		}
	}
	return nil
}

// MetaStep takes one optimizer step on the mean of the gradients of the
// episodes in tasks (usually one, the meta-batch), summed in episode
// order (gradSlots), and counts len(tasks) episodes towards the
// learning-rate halving: the rate halves at every multiple of
// LRHalvingEvery episodes the step reaches, so that the rate at a given
// number of episodes does not depend on the meta-batch. The episodes are
// computed on the learner's workers and, with Options.Comm, split across
// processes by episode index, with the result of one process, bit for bit
// (see Comm); an episode's images stay together, as its batch norm takes
// the statistics of all of them. A loss that is not finite is refused and
// leaves the parameters as they were.
func (l *Metric) MetaStep(tasks []Task) (Stats, error) {
	if len(tasks) == 0 {
		return Stats{}, fmt.Errorf("%s: no episode", l.name)
	}
	shapes := make([][3]int, len(tasks))
	for i, t := range tasks {
		s, q, ways, err := l.episodeShape(t)
		if err != nil {
			return Stats{}, err
		}
		shapes[i] = [3]int{s, q, ways}
	}
	sh, err := shareOf(l.base.opts.Comm, len(tasks))
	if err != nil {
		return Stats{}, fmt.Errorf("%s: %w", l.name, err)
	}
	l.ensureWorkers()
	l.ensureGradSlots(l.params, l.base.opts.Dtype, len(tasks))
	losses, accs := make([]float64, len(tasks)), make([]float64, len(tasks))
	err = parallel(l.base.opts.Workers, sh.hi-sh.lo, func(k, mine int) error {
		i := sh.lo + mine // this process's mine-th episode
		sz := shapes[i]
		mg, err := l.episodeGraph(k, sz[0], sz[1], sz[2], true)
		if err != nil {
			return err
		}
		if err := l.feedEpisode(mg, tasks[i]); err != nil {
			return err
		}
		if err := mg.run.Run(); err != nil {
			return err
		}
		losses[i] = mg.run.Scalar(mg.loss)
		accs[i] = graph.Accuracy(mg.run.Float64s(mg.logits), sz[2], tasks[i].QueryY)
		for j, g := range mg.grads {
			graph.ToFloat64s(l.slots[i][j], mg.run.Value(g))
		}
		return nil
	})
	if err = sh.results(err, losses, accs); err != nil {
		return Stats{}, err // the learner's errors name it
	}
	st := Stats{Loss: mean(losses), Accuracy: mean(accs)}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("%s: loss is %v: the parameters were not updated (try a lower learning rate)", l.name, st.Loss)
	}
	if err := l.averageSlots(sh); err != nil {
		return st, fmt.Errorf("%s: %w", l.name, err)
	}
	if err := l.outerSteps(l.mean, len(tasks)); err != nil {
		return st, fmt.Errorf("%s: %w", l.name, err)
	}
	return st, nil
}

// SplitsMetaBatch reports that the metric learners split their meta-batch
// of episodes across Options.Comm (see Comm).
func (l *Metric) SplitsMetaBatch() bool { return true }

// Adapt classifies each task's queries from its support set. There is no
// inner loop: each Adaptation has one entry, whatever steps is, and its
// Outputs are the logits (query × ways).
func (l *Metric) Adapt(tasks []Task, _ int) ([]Adaptation, error) {
	l.ensureWorkers()
	res := make([]Adaptation, len(tasks))
	err := parallel(l.base.opts.Workers, len(tasks), func(k, i int) error {
		s, q, ways, err := l.episodeShape(tasks[i])
		if err != nil {
			return err
		}
		mg, err := l.episodeGraph(k, s, q, ways, false)
		if err != nil {
			return err
		}
		if err := l.feedEpisode(mg, tasks[i]); err != nil {
			return err
		}
		if err := mg.run.Run(); err != nil {
			return err
		}
		logits := append([]float64(nil), mg.run.Float64s(mg.logits)...)
		res[i] = Adaptation{Loss: []float64{mg.run.Scalar(mg.loss)},
			Accuracy: []float64{graph.Accuracy(logits, ways, tasks[i].QueryY)}, Outputs: [][]float64{logits}}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// ensureWorkers creates every worker and its graph cache up front, so that
// goroutines never grow the shared slices.
func (l *Metric) ensureWorkers() {
	for len(l.workers) < l.base.opts.Workers {
		g, p := l.mirror()
		l.workers = append(l.workers, &metricWorker{g: g, p: p, graphs: map[[3]int]*metricGraph{}})
	}
}
