package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Transfer is the transfer-learning baseline that meta-learning is
// measured against: the "Baseline" of Chen et al., "A Closer Look at
// Few-shot Classification" (ICLR 2019), and Tian et al., "Rethinking
// Few-Shot Image Classification: a Good Embedding Is All You Need?"
// (ECCV 2020). It does not meta-learn.
//
// Pre-training (MetaStep) trains the embedding network (Conv-4 without
// its head) and a linear head over all the training classes (weights
// pretrain.w, pretrain.b) by plain supervised cross-entropy on
// mini-batches of images labelled with their class among all the training
// classes (ClassBatcher.ClassBatch; TrainTasks hands them), one step of
// the outer optimizer (Adam) per batch. Batch norm uses each batch's
// statistics.
//
// Adaptation (Adapt, AdaptAt) drops the pre-training head, freezes the
// network and fits a new linear head of one output per way, starting at
// zero, to the support set's embeddings: full-batch Adam at InnerLR on
// their cross-entropy. Step s of the adaptation is step s of that fit;
// after 0 steps the zero head gives every class the same score (chance).
// Chen et al. fit with 100 epochs of SGD (momentum 0.9, weight decay 10⁻³)
// on batches of 4 support images; the support sets of few-shot tasks
// being 5 to 25 images, the full batch needs no shuffling, and Adam no
// tuning to the scale of the embedding. Support and query images go
// through the network as one batch, as in the metric learners.
type Transfer struct {
	*base
	classes int
	workers []*transferWorker
}

// TransferOptions configures Transfer.
type TransferOptions struct {
	// Options: Outer is the pre-training optimizer (nil: Adam at 1e-3);
	// InnerLR the rate of the head's Adam at adaptation (0: 0.01);
	// Workers the goroutines Adapt runs tasks on; Spec the tasks' shape
	// (Input is the images'). InnerSteps and ZeroHead are unused.
	Options
	// Classes is the number of training classes: the width of the
	// pre-training head, which training labels index. At least 2.
	Classes int
}

// The weights of the pre-training head.
const (
	transferHeadW = "pretrain.w"
	transferHeadB = "pretrain.b"
)

// transferWorker is one goroutine's graph: a mirror of the parameters,
// the compiled pre-training graphs by batch size (worker 0's only) and
// the compiled embedding graphs by number of images.
type transferWorker struct {
	g     *G.ExprGraph
	p     *graph.Params
	train map[int]*transferTrain
	embed map[int]*transferEmbed
}

// transferTrain is the compiled pre-training graph of one batch size.
type transferTrain struct {
	run          *graph.Runner
	x, y         *G.Node
	loss, logits *G.Node
	grads        []*G.Node
}

// transferEmbed is the compiled embedding graph of one number of images.
type transferEmbed struct {
	run    *graph.Runner
	x, emb *G.Node
}

// NewTransfer returns the transfer-learning baseline over embedding model
// m (e.g. Conv-4 without a head) with a pre-training head of o.Classes
// outputs, initialised like PyTorch's nn.Linear from o.Seed.
func NewTransfer(m models.Model, o TransferOptions) (*Transfer, error) {
	if o.Classes < 2 {
		return nil, fmt.Errorf("transfer: pre-training needs at least 2 training classes, got %d", o.Classes)
	}
	if err := refuseStepNorm("transfer", m); err != nil {
		return nil, err
	}
	o.ZeroHead = nil
	b, err := newBase("transfer", m, o.Options)
	if err != nil {
		return nil, err
	}
	d := m.OutputSize()
	for _, w := range []struct {
		name  string
		shape []int
	}{{transferHeadW, []int{d, o.Classes}}, {transferHeadB, []int{o.Classes}}} {
		if _, err := b.params.Add(w.name, w.shape, models.TorchDefaultInit(graph.InitSeed(b.opts.Seed, w.name), d)); err != nil {
			return nil, fmt.Errorf("transfer: %w", err)
		}
	}
	return &Transfer{base: b, classes: o.Classes}, nil
}

// TrainClasses is the number of training classes (ClassTrainer).
func (l *Transfer) TrainClasses() int { return l.classes }

// Describe says how Transfer pre-trains and adapts.
func (l *Transfer) Describe() string {
	return fmt.Sprintf("pre-training: %s with a linear head over %d classes, supervised batches; %s; adaptation: a new linear head from zero on the frozen embedding, full-batch Adam, lr %g",
		l.model.Name(), l.classes, outer(l.base, "batch"), l.opts.InnerLR)
}

// ensureWorkers creates every worker and its graph caches up front, so
// that goroutines never grow the shared slices.
func (l *Transfer) ensureWorkers() {
	for len(l.workers) < max(l.opts.Workers, 1) {
		g, p := l.mirror()
		l.workers = append(l.workers, &transferWorker{g: g, p: p, train: map[int]*transferTrain{}, embed: map[int]*transferEmbed{}})
	}
}

// images returns the shape of a batch of n images.
func (l *Transfer) images(n int) []int { return append([]int{n}, l.opts.Spec.Input...) }

// trainGraph returns the pre-training graph for batches of n images,
// building it on first use.
func (l *Transfer) trainGraph(n int) (*transferTrain, error) {
	w := l.workers[0]
	if tg, ok := w.train[n]; ok {
		return tg, nil
	}
	tg := &transferTrain{}
	name := fmt.Sprintf("transfer.train.%d", n)
	err := graph.Build(func() {
		shape := l.images(n)
		tg.x = G.NewTensor(w.g, l.opts.Dtype, len(shape), G.WithShape(shape...), G.WithName(name+".x"))
		tg.y = G.NewTensor(w.g, l.opts.Dtype, 1, G.WithShape(n), G.WithName(name+".y"))
		emb := l.model.Forward(l.modelWeightsOf(w.p), tg.x)
		wts := w.p.Weights()
		tg.logits = models.Linear(emb, wts.MustGet(transferHeadW), wts.MustGet(transferHeadB))
		tg.loss = graph.CrossEntropy(tg.logits, tg.y)
	})
	if err != nil {
		return nil, fmt.Errorf("transfer: build pre-training graph: %w", err)
	}
	if tg.grads, err = graph.Grad(tg.loss, w.p.Nodes()...); err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	if tg.run, err = graph.NewRunner(append([]*G.Node{tg.loss, tg.logits}, tg.grads...)...); err != nil {
		return nil, fmt.Errorf("transfer: compile pre-training graph: %w", err)
	}
	w.train[n] = tg
	return tg, nil
}

// embedGraph returns worker k's embedding graph for n images, building
// it on first use.
func (l *Transfer) embedGraph(k, n int) (*transferEmbed, error) {
	w := l.workers[k]
	if eg, ok := w.embed[n]; ok {
		return eg, nil
	}
	eg := &transferEmbed{}
	err := graph.Build(func() {
		shape := l.images(n)
		eg.x = G.NewTensor(w.g, l.opts.Dtype, len(shape), G.WithShape(shape...), G.WithName(fmt.Sprintf("transfer.embed.%d.x", n)))
		eg.emb = l.model.Forward(l.modelWeightsOf(w.p), eg.x)
	})
	if err != nil {
		return nil, fmt.Errorf("transfer: build embedding graph: %w", err)
	}
	if eg.run, err = graph.NewRunner(eg.emb); err != nil {
		return nil, fmt.Errorf("transfer: compile embedding graph: %w", err)
	}
	w.embed[n] = eg
	return eg, nil
}

// MetaStep takes one step of the outer optimizer on the cross-entropy of
// the pre-training head over the images of tasks, support and query sets
// together, whose labels must be training classes (0 … Classes−1): a
// ClassBatcher's batch (see TrainTasks). It reports that batch's loss and
// accuracy before the step. A loss that is not finite is refused and
// leaves the parameters as they were.
func (l *Transfer) MetaStep(tasks []Task) (Stats, error) {
	in := l.opts.Spec.inputSize()
	var x, y []float64
	for _, t := range tasks {
		x = append(append(x, t.SupportX...), t.QueryX...)
		y = append(append(y, t.SupportY...), t.QueryY...)
	}
	if len(y) == 0 {
		return Stats{}, fmt.Errorf("transfer: no images to train on")
	}
	if len(x) != len(y)*in {
		return Stats{}, fmt.Errorf("transfer: %d image values for %d labels, want %d per image", len(x), len(y), in)
	}
	for _, c := range y {
		if c < 0 || c >= float64(l.classes) || c != math.Trunc(c) {
			return Stats{}, fmt.Errorf("transfer: label %v is not one of the %d training classes (pre-training takes a task source's class batches, not episodes)", c, l.classes)
		}
	}
	l.ensureWorkers()
	tg, err := l.trainGraph(len(y))
	if err != nil {
		return Stats{}, err
	}
	if err := tg.run.Feed(tg.x, x); err != nil {
		return Stats{}, err
	}
	if err := tg.run.Feed(tg.y, y); err != nil {
		return Stats{}, err
	}
	if err := tg.run.Run(); err != nil {
		return Stats{}, err
	}
	loss := tg.run.Scalar(tg.loss)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return Stats{}, fmt.Errorf("transfer: loss is %v: the parameters were not updated (try a lower learning rate)", loss)
	}
	grads := make([]*tensor.Dense, len(tg.grads))
	for i, g := range tg.grads {
		grads[i] = tg.run.Value(g)
	}
	if err := l.outerStep(grads); err != nil {
		return Stats{}, fmt.Errorf("transfer: %w", err)
	}
	return Stats{Loss: loss, Accuracy: graph.Accuracy(tg.run.Float64s(tg.logits), l.classes, y)}, nil
}

// Adapt fits a new head to each task's support set with steps steps and
// reports the query set after each number of steps from 0.
func (l *Transfer) Adapt(tasks []Task, steps int) ([]Adaptation, error) {
	return l.AdaptAt(tasks, everyStep(steps))
}

// AdaptAt fits a new head to each task's support set with the last number
// of steps in at and reports the query set after each number of steps in
// at (StepAdapter): Outputs are the query logits (query × ways).
func (l *Transfer) AdaptAt(tasks []Task, at []int) ([]Adaptation, error) {
	if err := checkSteps(at); err != nil {
		return nil, fmt.Errorf("transfer: %w", err)
	}
	l.ensureWorkers()
	res := make([]Adaptation, len(tasks))
	err := parallel(l.opts.Workers, len(tasks), func(k, i int) error {
		t := tasks[i]
		s, q, ways, err := classEpisodeShape("transfer", l.opts.Spec.inputSize(), t)
		if err != nil {
			return err
		}
		eg, err := l.embedGraph(k, s+q)
		if err != nil {
			return err
		}
		if err := eg.run.Feed(eg.x, append(append(make([]float64, 0, len(t.SupportX)+len(t.QueryX)), t.SupportX...), t.QueryX...)); err != nil {
			return err
		}
		if err := eg.run.Run(); err != nil {
			return err
		}
		emb := eg.run.Float64s(eg.emb)
		d := len(emb) / (s + q)
		res[i], err = fitHead(emb[:s*d], t.SupportY, emb[s*d:], t.QueryY, ways, d, at, l.opts.InnerLR)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}
