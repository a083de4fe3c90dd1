package models

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Loss names a supervised loss.
type Loss string

// The supervised losses.
const (
	// CrossEntropyLoss is softmax cross-entropy of logits against labels.
	CrossEntropyLoss Loss = "xent"
	// QuadraticLoss is ½‖output − onehot(label)‖² averaged over the batch
	// (the seed network's cost).
	QuadraticLoss Loss = "quadratic"
	// MSELoss is the mean squared error against one-hot labels.
	MSELoss Loss = "mse"
)

// TrainerOptions configures a Trainer.
type TrainerOptions struct {
	// Loss is the training loss. If empty, a default of CrossEntropyLoss is
	// used.
	Loss Loss
	// Dtype is the element type of the graph. If zero, a default of
	// tensor.Float64 is used.
	Dtype tensor.Dtype
	// Seed initialises the parameters and seeds the dropout masks of a
	// Stochastic model (step t's masks come from a generator seeded with
	// Seed and t; see Masks.Draw).
	Seed uint64
	// Schedule, when not nil, sets the optimizer's learning rate before
	// every step from its rate at NewTrainer and the step's number
	// (graph.Update). nil leaves the rate as it is.
	Schedule graph.Schedule
	// ClipNorm, when above 0, clips the global norm of the gradients to
	// it before every step (graph.ClipGradNorm); 0 does not clip.
	ClipNorm float64
}

// Trainer trains a classifier by backpropagation: one graph holds the
// parameters, and for each batch size it meets it compiles a step graph
// (loss and gradients) and an evaluation graph (logits) once.
type Trainer struct {
	Model  Model
	Params *graph.Params
	Opt    graph.Optimizer
	Loss   Loss
	// Steps counts the optimizer steps taken: the next step's number in
	// Schedule.
	Steps int64
	// Schedule, BaseLR and ClipNorm go around every optimizer step (see
	// graph.Update): the rate of step Steps is Schedule.Rate(BaseLR,
	// Steps). NewTrainer sets them from TrainerOptions and the optimizer's
	// rate.
	Schedule graph.Schedule
	BaseLR   float64
	ClipNorm float64

	graph *G.ExprGraph
	// maskSeed seeds the dropout masks (Masks.Draw)
	maskSeed uint64
	// last is the training graph of the last Step (GradNorms)
	last  *trainGraph
	train map[int]*trainGraph
	eval  map[int]*evalGraph
	// values holds Params.Values() for the optimizer, refilled each step
	// (no allocation per step)
	values []*tensor.Dense
}

type trainGraph struct {
	x, y, loss *G.Node
	grads      []*G.Node
	run        *graph.Runner
	gradVals   []*tensor.Dense
	onehot     []float64 // the one-hot targets of the quadratic and MSE losses
	masks      *Masks    // the dropout masks of a Stochastic model, drawn each step
}

type evalGraph struct {
	x, out *G.Node
	run    *graph.Runner
}

// NewTrainer initialises m's parameters in a new graph and returns a trainer
// that updates them with opt.
func NewTrainer(m Model, opt graph.Optimizer, o TrainerOptions) (*Trainer, error) {
	if o.Loss == "" {
		o.Loss = CrossEntropyLoss
	}
	if o.Dtype == (tensor.Dtype{}) {
		o.Dtype = tensor.Float64
	}
	switch o.Loss {
	case CrossEntropyLoss, QuadraticLoss, MSELoss:
	default:
		return nil, fmt.Errorf("unknown loss %q (have xent, quadratic, mse)", o.Loss)
	}
	if _, ok := opt.(graph.LRSetter); o.Schedule != nil && !ok {
		return nil, fmt.Errorf("learning-rate schedule %s: optimizer %s has no rate to set", o.Schedule, opt.Name())
	}
	g := G.NewGraph()
	p := graph.NewParams(g, o.Dtype)
	if err := m.Init(p, o.Seed); err != nil {
		return nil, err
	}
	t := &Trainer{Model: m, Params: p, Opt: opt, Loss: o.Loss, Schedule: o.Schedule, ClipNorm: o.ClipNorm, graph: g, maskSeed: graph.InitSeed(o.Seed, "dropout"),
		train: map[int]*trainGraph{}, eval: map[int]*evalGraph{}}
	if s, ok := opt.(graph.LRSetter); ok {
		t.BaseLR = s.GetLR()
	}
	return t, nil
}

func (t *Trainer) inputShape(n int) []int { return append([]int{n}, graph.Size(t.Model.InputShape())) }

func (t *Trainer) trainGraph(n int) (*trainGraph, error) {
	if tg, ok := t.train[n]; ok {
		return tg, nil
	}
	tg := &trainGraph{}
	dt := t.Params.Dtype
	classes := t.Model.OutputSize()
	err := graph.Build(func() {
		tg.x = G.NewTensor(t.graph, dt, 2, G.WithShape(t.inputShape(n)...), G.WithName(fmt.Sprintf("train.x.%d", n)))
		var out *G.Node
		if sm, ok := t.Model.(Stochastic); ok {
			tg.masks = NewMasks(fmt.Sprintf("train.dropout.%d", n))
			out = sm.ForwardTrain(t.Params.Weights(), tg.x, tg.masks)
		} else {
			out = t.Model.Forward(t.Params.Weights(), tg.x)
		}
		switch t.Loss {
		case CrossEntropyLoss:
			tg.y = G.NewTensor(t.graph, dt, 1, G.WithShape(n), G.WithName(fmt.Sprintf("train.labels.%d", n)))
			tg.loss = graph.CrossEntropy(out, tg.y)
		case QuadraticLoss, MSELoss:
			tg.y = G.NewTensor(t.graph, dt, 2, G.WithShape(n, classes), G.WithName(fmt.Sprintf("train.onehot.%d", n)))
			if t.Loss == QuadraticLoss {
				tg.loss = graph.QuadraticCost(out, tg.y)
			} else {
				tg.loss = graph.MSE(out, tg.y)
			}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("build %s training graph: %w", t.Model.Name(), err)
	}
	if tg.grads, err = graph.Grad(tg.loss, t.Params.Nodes()...); err != nil {
		return nil, err
	}
	if tg.run, err = graph.NewRunner(append([]*G.Node{tg.loss}, tg.grads...)...); err != nil {
		return nil, err
	}
	for _, g := range tg.grads {
		tg.gradVals = append(tg.gradVals, tg.run.Value(g))
	}
	t.train[n] = tg
	return tg, nil
}

// Step takes one optimizer step on a batch. x holds the examples row by row
// (n × input size), labels the class indices. A Stochastic model trains
// with the dropout masks of step Steps (Masks.Draw). The loss is checked
// before the update: a NaN or infinite loss returns an error and leaves
// the parameters as they were.
func (t *Trainer) Step(x []float64, labels []float64) (float64, error) {
	n := len(labels)
	tg, err := t.trainGraph(n)
	if err != nil {
		return 0, err
	}
	if err := tg.run.FeedFloat64s(tg.x, x); err != nil {
		return 0, err
	}
	if t.Loss == CrossEntropyLoss {
		err = tg.run.FeedFloat64s(tg.y, labels)
	} else {
		tg.onehot = oneHotInto(tg.onehot, labels, t.Model.OutputSize())
		err = tg.run.FeedFloat64s(tg.y, tg.onehot)
	}
	if err != nil {
		return 0, err
	}
	if err := tg.masks.Draw(tg.run, t.maskSeed, t.Steps); err != nil {
		return 0, err
	}
	if err := tg.run.Run(); err != nil {
		return 0, err
	}
	t.last = tg
	loss := tg.run.Scalar(tg.loss)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, fmt.Errorf("loss is %v at step %d: the parameters were not updated (try a lower learning rate)", loss, t.Steps+1)
	}
	t.values = t.values[:0]
	for _, p := range t.Params.List {
		t.values = append(t.values, p.Value)
	}
	u := graph.Update{Opt: t.Opt, Schedule: t.Schedule, Base: t.BaseLR, ClipNorm: t.ClipNorm}
	if err := u.Step(int(t.Steps), t.values, tg.gradVals); err != nil {
		return loss, err
	}
	t.Steps++
	return loss, nil
}

// oneHotInto writes the one-hot rows of labels into buf (grown if short)
// and returns them; a label outside 0..classes−1 gives a row of zeros.
func oneHotInto(buf []float64, labels []float64, classes int) []float64 {
	n := len(labels) * classes
	if cap(buf) < n {
		buf = make([]float64, n)
	}
	out := buf[:n]
	clear(out)
	for i, l := range labels {
		if c := int(l); c >= 0 && c < classes {
			out[i*classes+c] = 1
		}
	}
	return out
}

// Predict returns the model's outputs (n × OutputSize) for a batch.
func (t *Trainer) Predict(x []float64, n int) ([]float64, error) {
	eg, ok := t.eval[n]
	if !ok {
		eg = &evalGraph{}
		err := graph.Build(func() {
			eg.x = G.NewTensor(t.graph, t.Params.Dtype, 2, G.WithShape(t.inputShape(n)...), G.WithName(fmt.Sprintf("eval.x.%d", n)))
			eg.out = t.Model.Forward(t.Params.Weights(), eg.x)
		})
		if err != nil {
			return nil, fmt.Errorf("build %s evaluation graph: %w", t.Model.Name(), err)
		}
		if eg.run, err = graph.NewRunner(eg.out); err != nil {
			return nil, err
		}
		t.eval[n] = eg
	}
	if err := eg.run.Feed(eg.x, x); err != nil {
		return nil, err
	}
	if err := eg.run.Run(); err != nil {
		return nil, err
	}
	return eg.run.Float64s(eg.out), nil
}

// LabeledSet is a data set Accuracy can read: Len examples, copied by
// FillBatch into x (one row of the model's input size per example) and
// labels (class indices). data.MNIST is one.
type LabeledSet interface {
	Len() int
	FillBatch(idx []int, x, labels []float64)
}

// Accuracy returns the fraction of ds the model classifies correctly,
// predicting batch examples at a time (if batch is zero, a default of 1,000
// is used).
func (t *Trainer) Accuracy(ds LabeledSet, batch int) (float64, error) {
	if batch <= 0 {
		batch = 1000
	}
	in, classes := graph.Size(t.Model.InputShape()), t.Model.OutputSize()
	x, labels := make([]float64, batch*in), make([]float64, batch)
	idx := make([]int, 0, batch)
	correct := 0.0
	for start := 0; start < ds.Len(); start += batch {
		n := min(batch, ds.Len()-start)
		idx = idx[:0]
		for i := range n {
			idx = append(idx, start+i)
		}
		ds.FillBatch(idx, x[:n*in], labels[:n])
		out, err := t.Predict(x[:n*in], n)
		if err != nil {
			return 0, err
		}
		correct += graph.Accuracy(out, classes, labels[:n]) * float64(n)
	}
	return correct / float64(ds.Len()), nil
}
