package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// ProtoNet is Prototypical Networks (Snell, Swersky & Zemel, "Prototypical
// Networks for Few-shot Learning", NeurIPS 2017). An embedding network f
// maps every image to a vector; each class's prototype is the mean
// embedding of its support images, and a query is classified by a softmax
// over its negative squared Euclidean distances to the prototypes:
//
//	p(y = c | x) ∝ exp(−‖f(x) − mean_{i: yᵢ = c} f(xᵢ)‖²)
//
// Meta-training minimises the query cross-entropy of one episode per step
// with Adam; the learning rate is halved every LRHalvingEvery episodes.
// Support and query images go through the network as one batch, so batch
// norm uses the statistics of the whole episode (at test time too: there
// are no running statistics). ProtoNet does not adapt by gradient steps:
// Adapt reports a single entry per task.
type ProtoNet struct {
	*base
	opts    ProtoNetOptions
	workers []*protoWorker
	steps   int
}

// protoWorker is one goroutine's graph: a mirror of the parameters and the
// compiled episode graphs, by (support, query, ways).
type protoWorker struct {
	g      *G.ExprGraph
	p      *graph.Params
	graphs map[[3]int]*protoGraph
}

// ProtoNetOptions configures ProtoNet. Options.Spec gives the training
// episodes' shape (Classes is the number of ways); InnerSteps and InnerLR
// are unused.
type ProtoNetOptions struct {
	Options
	// LR is Adam's initial learning rate. If zero, a default of 1e-3 is
	// used (ignored when Options.Outer is set).
	LR float64
	// LRHalvingEvery halves the learning rate after this many episodes.
	// If zero, a default of 2000 is used; negative disables it.
	LRHalvingEvery int
}

// protoGraph is the compiled episode graph for one shape.
type protoGraph struct {
	run          *graph.Runner
	x, avg, yq   *G.Node // all images, the (ways × support) averaging matrix, query labels
	loss, logits *G.Node
	grads        []*G.Node
	avgBuf       []float64
	xBuf         []float64
}

// NewProtoNet returns a Prototypical Network over embedding model m (e.g.
// Conv-4 without a head).
func NewProtoNet(m models.Model, o ProtoNetOptions) (*ProtoNet, error) {
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.LRHalvingEvery == 0 {
		o.LRHalvingEvery = 2000
	}
	if o.Outer == nil {
		o.Outer = graph.NewAdam(o.LR)
	}
	if o.Spec.Classes < 2 {
		return nil, fmt.Errorf("protonet: episodes need at least 2 ways, got %d", o.Spec.Classes)
	}
	b, err := newBase("protonet", m, o.Options)
	if err != nil {
		return nil, err
	}
	return &ProtoNet{base: b, opts: o}, nil
}

// episodeGraph returns worker k's graph for episodes of the given shape,
// building it on first use. With withGrads it also holds the gradients.
func (l *ProtoNet) episodeGraph(k, support, query, ways int, withGrads bool) (*protoGraph, error) {
	key := [3]int{support, query, ways}
	w := l.workers[k]
	if pg, ok := w.graphs[key]; ok && (pg.grads != nil || !withGrads) {
		return pg, nil
	}
	dt := l.base.opts.Dtype
	pg := &protoGraph{avgBuf: make([]float64, ways*support)}
	name := fmt.Sprintf("proto.%d.%d.%d.%v", support, query, ways, withGrads)
	err := graph.Build(func() {
		shape := append([]int{support + query}, l.base.opts.Spec.Input...)
		pg.x = G.NewTensor(w.g, dt, len(shape), G.WithShape(shape...), G.WithName(name+".x"))
		pg.avg = G.NewTensor(w.g, dt, 2, G.WithShape(ways, support), G.WithName(name+".avg"))
		pg.yq = G.NewTensor(w.g, dt, 1, G.WithShape(query), G.WithName(name+".yq"))
		emb := l.model.Forward(l.modelWeightsOf(w.p), pg.x)
		protos := graph.MatMul(pg.avg, graph.Slice(emb, 0, 0, support))
		pg.logits = graph.Neg(graph.SquaredDistances(graph.Slice(emb, 0, support, support+query), protos))
		pg.loss = graph.CrossEntropy(pg.logits, pg.yq)
	})
	if err != nil {
		return nil, fmt.Errorf("protonet: build episode graph: %w", err)
	}
	outs := []*G.Node{pg.loss, pg.logits}
	if withGrads {
		if pg.grads, err = graph.Grad(pg.loss, w.p.Nodes()...); err != nil {
			return nil, fmt.Errorf("protonet: %w", err)
		}
		outs = append(outs, pg.grads...)
	}
	if pg.run, err = graph.NewRunner(outs...); err != nil {
		return nil, fmt.Errorf("protonet: compile episode graph: %w", err)
	}
	w.graphs[key] = pg
	return pg, nil
}

// episodeShape checks a task and returns its (support, query, ways).
func (l *ProtoNet) episodeShape(t Task) (int, int, int, error) {
	in := l.base.opts.Spec.inputSize()
	if len(t.SupportX)%in != 0 || len(t.QueryX)%in != 0 {
		return 0, 0, 0, fmt.Errorf("protonet: task images are not multiples of %d values", in)
	}
	s, q := len(t.SupportX)/in, len(t.QueryX)/in
	if len(t.SupportY) != s || len(t.QueryY) != q {
		return 0, 0, 0, fmt.Errorf("protonet: %d support and %d query labels for %d and %d images", len(t.SupportY), len(t.QueryY), s, q)
	}
	ways := 0
	for _, y := range t.SupportY {
		if y < 0 || y != math.Trunc(y) {
			return 0, 0, 0, fmt.Errorf("protonet: support label %v is not a class index", y)
		}
		ways = max(ways, int(y)+1)
	}
	for _, y := range t.QueryY {
		if y < 0 || int(y) >= ways || y != math.Trunc(y) {
			return 0, 0, 0, fmt.Errorf("protonet: query label %v has no support examples (ways %d)", y, ways)
		}
	}
	return s, q, ways, nil
}

// feedEpisode fills the graph's inputs from t: images, the averaging
// matrix (1/K_c where support image i is of class c) and query labels.
func (pg *protoGraph) feedEpisode(t Task, ways int) error {
	pg.xBuf = append(append(pg.xBuf[:0], t.SupportX...), t.QueryX...)
	counts := make([]float64, ways)
	for _, y := range t.SupportY {
		counts[int(y)]++
	}
	clear(pg.avgBuf)
	s := len(t.SupportY)
	for i, y := range t.SupportY {
		c := int(y)
		pg.avgBuf[c*s+i] = 1 / counts[c]
	}
	for c, n := range counts {
		if n == 0 {
			return fmt.Errorf("protonet: class %d has no support examples", c)
		}
	}
	if err := pg.run.Feed(pg.x, pg.xBuf); err != nil {
		return err
	}
	if err := pg.run.Feed(pg.avg, pg.avgBuf); err != nil {
		return err
	}
	return pg.run.Feed(pg.yq, t.QueryY)
}

// MetaStep takes one Adam step per episode in tasks (usually one).
func (l *ProtoNet) MetaStep(tasks []Task) (Stats, error) {
	if len(tasks) == 0 {
		return Stats{}, fmt.Errorf("protonet: no episode")
	}
	if err := l.ensureWorkers(); err != nil {
		return Stats{}, err
	}
	var st Stats
	for _, t := range tasks {
		s, q, ways, err := l.episodeShape(t)
		if err != nil {
			return st, err
		}
		pg, err := l.episodeGraph(0, s, q, ways, true)
		if err != nil {
			return st, err
		}
		if err := pg.feedEpisode(t, ways); err != nil {
			return st, err
		}
		if err := pg.run.Run(); err != nil {
			return st, err
		}
		loss := pg.run.Scalar(pg.loss)
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return st, fmt.Errorf("protonet: loss is %v: the parameters were not updated (try a lower learning rate)", loss)
		}
		grads := make([]*tensor.Dense, len(pg.grads))
		for i, g := range pg.grads {
			grads[i] = pg.run.Value(g)
		}
		if err := l.base.opts.Outer.Step(l.params.Values(), grads); err != nil {
			return st, fmt.Errorf("protonet: %w", err)
		}
		l.steps++
		if h := l.opts.LRHalvingEvery; h > 0 && l.steps%h == 0 {
			if s, ok := l.base.opts.Outer.(graph.LRSetter); ok {
				s.SetLR(s.GetLR() / 2)
			}
		}
		st.Loss += loss / float64(len(tasks))
		st.Accuracy += graph.Accuracy(pg.run.Float64s(pg.logits), ways, t.QueryY) / float64(len(tasks))
	}
	return st, nil
}

// Adapt classifies each task's queries by its support prototypes. There is
// no inner loop: each Adaptation has one entry, whatever steps is.
func (l *ProtoNet) Adapt(tasks []Task, _ int) ([]Adaptation, error) {
	if err := l.ensureWorkers(); err != nil {
		return nil, err
	}
	res := make([]Adaptation, len(tasks))
	err := parallel(l.base.opts.Workers, len(tasks), func(k, i int) error {
		s, q, ways, err := l.episodeShape(tasks[i])
		if err != nil {
			return err
		}
		pg, err := l.episodeGraph(k, s, q, ways, false)
		if err != nil {
			return err
		}
		if err := pg.feedEpisode(tasks[i], ways); err != nil {
			return err
		}
		if err := pg.run.Run(); err != nil {
			return err
		}
		logits := append([]float64(nil), pg.run.Float64s(pg.logits)...)
		res[i] = Adaptation{Loss: []float64{pg.run.Scalar(pg.loss)},
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
func (l *ProtoNet) ensureWorkers() error {
	for len(l.workers) < l.base.opts.Workers {
		g, p := l.mirror()
		l.workers = append(l.workers, &protoWorker{g: g, p: p, graphs: map[[3]int]*protoGraph{}})
	}
	return nil
}
