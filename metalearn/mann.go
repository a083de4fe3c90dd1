package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// MANN is a memory-augmented neural network meta-learned on episodes
// presented as sequences (Santoro, Bartunov, Botvinick, Wierstra &
// Lillicrap, "Meta-Learning with Memory-Augmented Neural Networks", ICML
// 2016). It does not adapt by gradient steps: it learns within an episode
// by writing to an external memory, and meta-learning shapes how.
//
// An episode is a task's support set (N classes, K images of each; the
// paper's Omniglot episodes are 5 classes of 10 instances) shown one image
// per step, in an order shuffled per episode (presentationOrder). At step
// t the network (MANNNetwork: an LSTM controller, a memory with
// least-recently-used access, a linear output) reads the image xₜ,
// flattened, and the label of the image before, y_{t−1}, one-hot (zeros
// at the first step):
//
//	(x₁, 0), (x₂, y₁), …, (x_T, y_{T−1})
//
// and outputs a softmax over the N labels for xₜ. Which class gets which
// label is drawn anew for every episode (data.Sampler), so a label can
// only be known from earlier steps of the same episode: the first
// presentation of a class is a guess, and from the second on the network
// can recall the label it saw with a similar image. The loss is the
// cross-entropy of the step's prediction, averaged over the steps and the
// episodes of a batch; one Adam step per batch (the paper: 16 episodes;
// its optimizer is not reproduced here, Adam's rate is 10⁻³ by default).
// Gradients flow back through all T steps of the unrolled graph. The
// network's sizes default to the paper's Omniglot ones (MANNNetwork).
//
// Adapt runs each task's sequence and reports its mean loss and accuracy
// over the steps (what an evaluation table calls the query loss and
// accuracy: the task's query set is not read), the logits of every step
// (Outputs[0], in presentation order: Order) and, as Adaptation.Extra
// measures that MANN describes (Measurer), the accuracy by instance: over
// the steps that show a class for the k-th time, the fraction labelled
// right.
// Santoro et al.'s Table 1 reports, for MANN (LRUA) on Omniglot with
// one-hot labels and five classes per episode, 36.4%, 82.8%, 91.0%,
// 92.6%, 94.9% and 98.1% at the 1st, 2nd, 3rd, 4th, 5th and 10th
// instance (the paper's numbers, with 20×20 images; the Omniglot source
// of this library gives 28×28 images).
type MANN struct {
	*base
	net     MANNNetwork // sizes filled in
	mopts   MANNOptions
	workers []*mannWorker
}

// MANNOptions configures MANN. Options.Spec gives the episodes' shape:
// Classes labels, Support images per episode (all classes together);
// InnerSteps and InnerLR are unused, and the query set is not read.
// Options.Outer is Adam with learning rate 1e-3 by default.
type MANNOptions struct {
	Options
	// Instances lists the presentations of a class at which Adapt
	// measures the accuracy (Adaptation.Extra). If nil, a default of 1,
	// 2, 3, 4, 5 and 10 is used: the columns of the paper's Table 1.
	Instances []int
	// Batch is the number of episodes Adapt runs in one graph. If zero,
	// a default of 16 is used. Results do not depend on it.
	Batch int
}

// mannWorker is one goroutine's graph: a mirror of the parameters and the
// compiled sequence graphs, by (episodes, steps, with gradients).
type mannWorker struct {
	g      *G.ExprGraph
	p      *graph.Params
	graphs map[[3]int]*mannGraph
}

// mannGraph is the compiled graph of B sequences of T steps.
type mannGraph struct {
	run          *graph.Runner
	x, labels    *G.Node // (T, B, Pixels + Classes) and (T·B)
	loss, logits *G.Node
	grads        []*G.Node
	xBuf, yBuf   []float64
}

// NewMANN returns MANN with network net (see NewMANNNetwork), whose
// classes must be the episodes' (o.Spec.Classes).
func NewMANN(net *MANNNetwork, o MANNOptions) (*MANN, error) {
	const name = "mann"
	switch {
	case net == nil:
		return nil, fmt.Errorf("%s: no network", name)
	case o.Spec.Classes < 2:
		return nil, fmt.Errorf("%s: labels the examples of classification episodes: want at least 2 classes, got %d", name, o.Spec.Classes)
	case net.Classes != o.Spec.Classes || net.Pixels != o.Spec.inputSize():
		return nil, fmt.Errorf("%s: network for %d-pixel images and %d classes, episodes of %d-pixel images and %d classes",
			name, net.Pixels, net.Classes, o.Spec.inputSize(), o.Spec.Classes)
	case o.Batch < 0:
		return nil, fmt.Errorf("%s: evaluation batch %d: want at least 1 (or 0 for 16)", name, o.Batch)
	}
	if o.Instances == nil {
		o.Instances = []int{1, 2, 3, 4, 5, 10}
	}
	for i, k := range o.Instances {
		if k < 1 || (i > 0 && k <= o.Instances[i-1]) {
			return nil, fmt.Errorf("%s: instances %v: want positive and increasing", name, o.Instances)
		}
	}
	if o.Batch == 0 {
		o.Batch = 16
	}
	b, err := newBase(name, net, o.Options)
	if err != nil {
		return nil, err
	}
	return &MANN{base: b, net: net.sizes(), mopts: o}, nil
}

// sequences are a batch of tasks laid out as the network reads them.
type sequences struct {
	steps  int
	order  [][]int     // per task: support example shown at each step
	labels [][]int     // per task: label of each step
	x      [][]float64 // per task: support images
}

// sequencesOf checks tasks and lays them out: every task needs the same
// number of support examples, each an image of the network's size with a
// label below its number of classes.
func (l *MANN) sequencesOf(tasks []Task) (sequences, error) {
	var s sequences
	if len(tasks) == 0 {
		return s, fmt.Errorf("%s: no episodes", l.name)
	}
	px, classes := l.net.Pixels, l.net.Classes
	for i, t := range tasks {
		n := len(t.SupportY)
		switch {
		case n == 0:
			return s, fmt.Errorf("%s: episode %d has no support examples to present", l.name, i)
		case len(t.SupportX) != n*px:
			return s, fmt.Errorf("%s: episode %d: %d values for %d support images of %d pixels", l.name, i, len(t.SupportX), n, px)
		case i > 0 && n != s.steps:
			return s, fmt.Errorf("%s: episodes of %d and %d support examples in one batch", l.name, s.steps, n)
		}
		s.steps = n
		order := presentationOrder(t)
		labels := make([]int, n)
		for k, j := range order {
			y := t.SupportY[j]
			if y < 0 || y >= float64(classes) || y != math.Trunc(y) {
				return s, fmt.Errorf("%s: episode %d: support label %v is not a class index in 0..%d", l.name, i, y, classes-1)
			}
			labels[k] = int(y)
		}
		s.order, s.labels, s.x = append(s.order, order), append(s.labels, labels), append(s.x, t.SupportX)
	}
	return s, nil
}

// Order returns the order in which MANN shows t's support examples: a
// permutation fixed by the task's contents (presentationOrder).
func (l *MANN) Order(t Task) []int { return presentationOrder(t) }

// graphFor returns worker k's graph for batch sequences of the given
// number of steps, building it on first use; with withGrads it also holds
// the gradients of the loss.
func (l *MANN) graphFor(k, batch, steps int, withGrads bool) (*mannGraph, error) {
	key := [3]int{batch, steps, 0}
	if withGrads {
		key[2] = 1
	}
	w := l.workers[k]
	if mg, ok := w.graphs[key]; ok {
		return mg, nil
	}
	dt, in := l.base.opts.Dtype, l.net.Pixels+l.net.Classes
	mg := &mannGraph{}
	name := fmt.Sprintf("%s.%dx%d.%v", l.name, steps, batch, withGrads)
	err := graph.Build(func() {
		mg.x = G.NewTensor(w.g, dt, 3, G.WithShape(steps, batch, in), G.WithName(name+".x"))
		mg.labels = G.NewTensor(w.g, dt, 1, G.WithShape(steps*batch), G.WithName(name+".y"))
		mg.logits = l.model.Forward(w.p.Weights(), mg.x)
		mg.loss = graph.CrossEntropy(mg.logits, mg.labels)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: build sequence graph: %w", l.name, err)
	}
	outs := []*G.Node{mg.loss, mg.logits}
	if withGrads {
		if mg.grads, err = graph.Grad(mg.loss, w.p.Nodes()...); err != nil {
			return nil, fmt.Errorf("%s: %w", l.name, err)
		}
		outs = append(outs, mg.grads...)
	}
	if mg.run, err = graph.NewRunner(outs...); err != nil {
		return nil, fmt.Errorf("%s: compile sequence graph: %w", l.name, err)
	}
	w.graphs[key] = mg
	return mg, nil
}

// feed writes the sequences into the graph's inputs: at step t of episode
// b, the image shown and the label of the step before, one-hot; the
// targets are the labels of the steps.
func (l *MANN) feed(mg *mannGraph, s sequences) error {
	px, classes := l.net.Pixels, l.net.Classes
	in, batch := px+classes, len(s.order)
	if mg.xBuf == nil {
		mg.xBuf, mg.yBuf = make([]float64, s.steps*batch*in), make([]float64, s.steps*batch)
	}
	clear(mg.xBuf)
	for b, order := range s.order {
		for t, j := range order {
			row := mg.xBuf[(t*batch+b)*in : (t*batch+b+1)*in]
			copy(row[:px], s.x[b][j*px:(j+1)*px])
			if t > 0 {
				row[px+s.labels[b][t-1]] = 1
			}
			mg.yBuf[t*batch+b] = float64(s.labels[b][t])
		}
	}
	if err := mg.run.Feed(mg.x, mg.xBuf); err != nil {
		return err
	}
	return mg.run.Feed(mg.labels, mg.yBuf)
}

// MetaStep takes one Adam step on the batch's mean loss over every step
// of every episode. A loss that is not finite is refused and leaves the
// parameters as they were. The accuracy is over every step.
func (l *MANN) MetaStep(tasks []Task) (Stats, error) {
	s, err := l.sequencesOf(tasks)
	if err != nil {
		return Stats{}, err
	}
	l.ensureWorkers()
	mg, err := l.graphFor(0, len(tasks), s.steps, true)
	if err != nil {
		return Stats{}, err
	}
	if err := l.feed(mg, s); err != nil {
		return Stats{}, err
	}
	if err := mg.run.Run(); err != nil {
		return Stats{}, err
	}
	loss := mg.run.Scalar(mg.loss)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return Stats{}, fmt.Errorf("%s: loss is %v: the parameters were not updated (try a lower learning rate)", l.name, loss)
	}
	grads := make([]*tensor.Dense, len(mg.grads))
	for i, g := range mg.grads {
		grads[i] = mg.run.Value(g)
	}
	if err := l.outerStep(grads); err != nil {
		return Stats{}, fmt.Errorf("%s: %w", l.name, err)
	}
	return Stats{Loss: loss, Accuracy: graph.Accuracy(mg.run.Float64s(mg.logits), l.net.Classes, mg.yBuf)}, nil
}

// Adapt runs each task's support set through the network as a sequence.
// There is no inner loop: each Adaptation has one entry, whatever steps
// is. Its Loss and Accuracy are over the steps, its Outputs the logits of
// the steps (steps × classes, in the order of Order), its Extra the
// accuracy at each k of MANNOptions.Instances (InstanceAccuracy(k); NaN
// where a class is never shown that often).
func (l *MANN) Adapt(tasks []Task, _ int) ([]Adaptation, error) {
	l.ensureWorkers()
	res := make([]Adaptation, len(tasks))
	bs := l.mopts.Batch
	chunks := (len(tasks) + bs - 1) / bs
	err := parallel(l.base.opts.Workers, chunks, func(k, c int) error {
		lo, hi := c*bs, min((c+1)*bs, len(tasks))
		s, err := l.sequencesOf(tasks[lo:hi])
		if err != nil {
			return err
		}
		mg, err := l.graphFor(k, hi-lo, s.steps, false)
		if err != nil {
			return err
		}
		if err := l.feed(mg, s); err != nil {
			return err
		}
		if err := mg.run.Run(); err != nil {
			return err
		}
		logits := mg.run.Float64s(mg.logits)
		for b := range s.order {
			res[lo+b] = l.adaptation(logits, b, hi-lo, s.labels[b])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// adaptation is episode b's result from the logits of a batch of batch
// episodes (step-major rows) and the labels of its steps.
func (l *MANN) adaptation(logits []float64, b, batch int, labels []int) Adaptation {
	c := l.net.Classes
	out := make([]float64, len(labels)*c)
	loss, right := 0.0, 0
	inst := instances(labels)
	shown, hits := map[int]int{}, map[int]int{}
	for t, y := range labels {
		row := out[t*c : (t+1)*c]
		copy(row, logits[(t*batch+b)*c:(t*batch+b+1)*c])
		loss += logSumExp(row) - row[y]
		ok := argmaxOf(row) == y
		shown[inst[t]]++
		if ok {
			right++
			hits[inst[t]]++
		}
	}
	n := float64(len(labels))
	extra := make(map[string][]float64, len(l.mopts.Instances))
	for _, k := range l.mopts.Instances {
		acc := math.NaN()
		if shown[k] > 0 {
			acc = float64(hits[k]) / float64(shown[k])
		}
		extra[InstanceAccuracy(k)] = []float64{acc}
	}
	return Adaptation{Loss: []float64{loss / n}, Accuracy: []float64{float64(right) / n},
		Outputs: [][]float64{out}, Extra: extra}
}

// InstanceAccuracy names MANN's Adaptation.Extra measure of the accuracy
// at the k-th presentation of a class, e.g. "accuracy_instance_2".
func InstanceAccuracy(k int) string { return fmt.Sprintf("accuracy_instance_%d", k) }

// Measures describes the accuracies at the k-th presentation of a class,
// for each k of MANNOptions.Instances: columns such as "2nd instance",
// keys such as accuracy_instance_2, as percentages.
func (l *MANN) Measures() []Measure {
	ms := make([]Measure, len(l.mopts.Instances))
	for i, k := range l.mopts.Instances {
		ms[i] = Measure{Name: InstanceAccuracy(k), Column: Ordinal(k) + " instance", Key: InstanceAccuracy(k), Percent: true}
	}
	return ms
}

// Describe says how MANN reads its episodes and what its network is.
func (l *MANN) Describe() string {
	n := l.net
	return fmt.Sprintf("no inner steps: support sets as sequences (shuffled, each image with the label before); "+
		"LSTM controller of %d units, LRUA memory of %d×%d with %d heads, γ = %g; %s",
		n.Controller, n.Slots, n.Width, n.Heads, n.Gamma, outer(l.base, "iteration"))
}

// ensureWorkers creates every worker and its graph cache up front.
func (l *MANN) ensureWorkers() {
	for len(l.workers) < l.base.opts.Workers {
		g, p := l.mirror()
		l.workers = append(l.workers, &mannWorker{g: g, p: p, graphs: map[[3]int]*mannGraph{}})
	}
}

// logSumExp is log Σ exp(v), computed stably.
func logSumExp(v []float64) float64 {
	m := v[argmaxOf(v)]
	s := 0.0
	for _, x := range v {
		s += math.Exp(x - m)
	}
	return m + math.Log(s)
}

// argmaxOf is the index of the largest entry of v (the first of ties).
func argmaxOf(v []float64) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// mannNetworkOf is the network a registered run built for the learner
// (the model "mann", LearnerEntry.Model).
func mannNetworkOf(m models.Model) (*MANNNetwork, error) {
	n, ok := m.(*MANNNetwork)
	if !ok {
		return nil, fmt.Errorf("mann: the model must be MANN's network, an LSTM controller with an external memory (-model mann), not %s", m.Name())
	}
	return n, nil
}
