package extend

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/metalearn"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Pretrain is the transfer-learning baseline of the few-shot literature
// (e.g. Chen et al., "A Closer Look at Few-shot Classification", ICLR
// 2019), for regression: meta-training fits one network to the query sets
// of all tasks, with no inner loop; adapting to a new task takes SGD steps
// on its support set from there. It is built only from public APIs:
// models, graph and metalearn's interfaces.
type Pretrain struct {
	model   models.Model
	params  *graph.Params
	opt     graph.Optimizer
	lr      float64
	spec    metalearn.Spec
	runners map[int]*mseGraph // by batch size
}

func init() {
	metalearn.Register("pretrain", metalearn.LearnerEntry{
		Title:   "pretrain + fine-tune",
		Summary: "transfer-learning baseline: joint training, then SGD on the support set (an example learner)",
		// Fine-tuning starts from a network fitted to the mean task, whose
		// support gradients are large: a smaller step than MAML's.
		Defaults: map[string]metalearn.Settings{"": {InnerLR: 0.002}},
		New: func(c metalearn.Config) (metalearn.Learner, error) {
			p := graph.NewParams(G.NewGraph(), c.DtypeOf())
			if err := c.Model.Init(p, c.Seed); err != nil {
				return nil, err
			}
			return &Pretrain{model: c.Model, params: p, opt: graph.NewAdam(c.OuterLR), lr: c.InnerLR, spec: c.Spec, runners: map[int]*mseGraph{}}, nil
		},
	})
}

func (l *Pretrain) Name() string               { return "pretrain" }
func (l *Pretrain) Model() models.Model        { return l.model }
func (l *Pretrain) Params() *graph.Params      { return l.params }
func (l *Pretrain) Optimizer() graph.Optimizer { return l.opt }

// mseGraph is the MSE of the model on n examples and its gradients.
type mseGraph struct {
	run   *graph.Runner
	x, y  *G.Node
	loss  *G.Node
	grads []*G.Node
}

// graphFor compiles the loss on n examples, once per n.
func (l *Pretrain) graphFor(n int) (*mseGraph, error) {
	if mg, ok := l.runners[n]; ok {
		return mg, nil
	}
	g := l.params.Nodes()[0].Graph()
	mg := &mseGraph{}
	err := graph.Build(func() {
		name := fmt.Sprintf("n%d", n)
		mg.x = G.NewMatrix(g, l.params.Dtype, G.WithShape(n, 1), G.WithName(name+".x"))
		mg.y = G.NewMatrix(g, l.params.Dtype, G.WithShape(n, 1), G.WithName(name+".y"))
		mg.loss = graph.MSE(l.model.Forward(l.params.Weights(), mg.x), mg.y)
	})
	if err != nil {
		return nil, err
	}
	if mg.grads, err = graph.Grad(mg.loss, l.params.Nodes()...); err != nil {
		return nil, err
	}
	if mg.run, err = graph.NewRunner(append([]*G.Node{mg.loss}, mg.grads...)...); err != nil {
		return nil, err
	}
	l.runners[n] = mg
	return mg, nil
}

// step computes the loss and gradients on (x, y).
func (l *Pretrain) step(x, y []float64) (float64, []*tensor.Dense, error) {
	mg, err := l.graphFor(len(y))
	if err != nil {
		return 0, nil, err
	}
	if err := mg.run.Feed(mg.x, x); err != nil {
		return 0, nil, err
	}
	if err := mg.run.Feed(mg.y, y); err != nil {
		return 0, nil, err
	}
	if err := mg.run.Run(); err != nil {
		return 0, nil, err
	}
	grads := make([]*tensor.Dense, len(mg.grads))
	for i, g := range mg.grads {
		grads[i] = mg.run.Value(g)
	}
	return mg.run.Scalar(mg.loss), grads, nil
}

// MetaStep fits the network to the pooled query sets of the tasks.
func (l *Pretrain) MetaStep(tasks []metalearn.Task) (metalearn.Stats, error) {
	var x, y []float64
	for _, t := range tasks {
		x, y = append(x, t.QueryX...), append(y, t.QueryY...)
	}
	loss, grads, err := l.step(x, y)
	if err != nil {
		return metalearn.Stats{}, fmt.Errorf("pretrain: %w", err)
	}
	return metalearn.Stats{Loss: loss}, l.opt.Step(l.params.Values(), grads)
}

// Adapt fine-tunes a copy of the weights on each task's support set by
// SGD, measuring the query loss after every step. The learned weights are
// put back afterwards.
func (l *Pretrain) Adapt(tasks []metalearn.Task, steps int) ([]metalearn.Adaptation, error) {
	saved := make([]*tensor.Dense, len(l.params.List))
	for i, v := range l.params.Values() {
		saved[i] = v.Clone().(*tensor.Dense)
	}
	defer func() {
		for i, v := range l.params.Values() {
			graph.CopyValues(v, saved[i])
		}
	}()
	sgd := graph.NewSGD(l.lr)
	res := make([]metalearn.Adaptation, len(tasks))
	for i, t := range tasks {
		for j, v := range l.params.Values() {
			graph.CopyValues(v, saved[j])
		}
		for s := 0; ; s++ {
			q, _, err := l.step(t.QueryX, t.QueryY)
			if err != nil {
				return nil, err
			}
			res[i].Loss, res[i].Accuracy = append(res[i].Loss, q), append(res[i].Accuracy, 0)
			res[i].Outputs = append(res[i].Outputs, nil)
			if s == steps {
				break
			}
			_, grads, err := l.step(t.SupportX, t.SupportY)
			if err != nil {
				return nil, err
			}
			if err := sgd.Step(l.params.Values(), grads); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}
