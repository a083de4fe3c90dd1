package metalearn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// Reptile is the first-order meta-learner of Nichol, Achiam & Schulman ("On
// First-Order Meta-Learning Algorithms", 2018). For each task it trains a
// copy of the weights for k steps on the support set (SGD, or Adam with
// InnerAdam) and then moves the meta-parameters toward the trained
// weights: θ ← θ + ε · mean_t(θ̃_t − θ). The outer step size ε is annealed
// linearly to zero over Iterations meta-steps (graph.LinearDecay), unless
// Options.Schedule gives another schedule.
//
// The move is handed to the outer optimizer as the "gradient" θ − mean θ̃,
// so the default plain SGD with learning rate ε gives exactly the update
// above, and Adam can be used instead.
//
// Nichol et al.'s Omniglot setting trains the inner loop with Adam and,
// in their code, never resets its moments between tasks; CarryAdam does
// the same. On Omniglot 5-way 1-shot it matters: validation accuracy after
// 750 meta-iterations was 86% with a carried Adam and 74% with a fresh one
// per task, whose first steps move every weight by ±lr whatever the size
// of its gradient.
type Reptile struct {
	*engine
	opts ReptileOptions
	// inner is the carried inner-Adam state (CarryAdam): every task
	// starts from a copy of it, and MetaStep merges the tasks' states.
	inner graph.OptimizerState
}

// ReptileOptions configures Reptile. Options.InnerSteps is k (if zero, a
// default of 5 is used) and Options.InnerLR the inner learning rate.
type ReptileOptions struct {
	Options
	// OuterLR is the outer step size ε, where its schedule starts. If
	// zero, a default of 0.1 is used.
	OuterLR float64
	// Iterations is the length of the linear annealing of ε to zero, the
	// schedule linear:steps=Iterations (graph.LinearDecay) unless
	// Options.Schedule gives another; if zero, ε stays constant.
	Iterations int
	// InnerAdam trains the inner loop with Adam (β₁ = 0, as Nichol et al.)
	// instead of SGD.
	InnerAdam bool
	// CarryAdam keeps the inner Adam's moments and step count from task to
	// task instead of starting every task with a fresh Adam, as Nichol et
	// al.'s code does (its Adam slots are not among the variables Reptile
	// resets). Every task then starts from the carried state, evaluation
	// included, and each meta-step folds the tasks' updates back into it
	// (see mergeAdam). Only used with InnerAdam.
	CarryAdam bool
	// InnerBatch is the number of support examples per inner step in
	// meta-training: the support set is shuffled and cut into batches of
	// this size, reshuffled when used up (Nichol et al.: 10 of the 50
	// examples of a 10-shot 5-way task, so five steps see each once). If
	// zero, or at least the support size, every step uses the whole
	// support set. Adapt (evaluation) always uses the whole support set.
	InnerBatch int
}

// NewReptile returns a Reptile learner for model m.
func NewReptile(m models.Model, o ReptileOptions) (*Reptile, error) {
	if o.InnerSteps == 0 {
		o.InnerSteps = 5
	}
	if o.OuterLR == 0 {
		o.OuterLR = 0.1
	}
	if o.Outer == nil {
		o.Outer = graph.NewSGD(o.OuterLR)
	}
	if _, ok := o.Outer.(graph.LRSetter); ok && o.Schedule == nil && o.Iterations > 0 {
		o.Schedule = graph.LinearDecay{Steps: o.Iterations}
	}
	if err := refuseStepNorm("reptile", m); err != nil {
		return nil, err
	}
	e, err := newEngine("reptile", m, o.Options, nil)
	if err != nil {
		return nil, err
	}
	e.update.Base = o.OuterLR // ε's schedule starts at OuterLR, whatever the optimizer's rate
	return &Reptile{engine: e, opts: o}, nil
}

// SetIteration tells the annealing schedule how many meta-steps were
// already taken (after resuming from a checkpoint).
func (l *Reptile) SetIteration(i int) { l.setSteps(i) }

// train runs Reptile's inner loop on t (see innerLoop): SGD, or Adam with
// InnerAdam, starting from the carried state with CarryAdam, in which case
// the final Adam state is stored in *final when final is not nil.
func (l *Reptile) train(w *worker, t Task, batches []Task, at []int, final *graph.OptimizerState) (Adaptation, *adaptGraph, error) {
	e := l.engine
	if !l.opts.InnerAdam {
		return e.innerLoop(w, t, batches, at, e.innerStep)
	}
	adam := l.innerAdam()
	if l.opts.CarryAdam && l.inner.Kind != "" {
		if err := adam.SetState(l.inner); err != nil {
			return Adaptation{}, nil, err
		}
	}
	res, a, err := e.innerLoop(w, t, batches, at, func(cur, grads []*tensor.Dense, _ int) { _ = adam.Step(cur, grads) })
	if final != nil {
		*final = adam.State()
	}
	return res, a, err
}

// MetaStep trains on each task and moves θ toward the mean trained weights.
// With Options.Comm the tasks are split across processes, and the mean
// (and the carried Adam's merge) continued from rank to rank in task
// order, as the gradient-based learners do (see Comm).
func (l *Reptile) MetaStep(tasks []Task) (Stats, error) {
	e := l.engine
	if len(tasks) == 0 {
		return Stats{}, fmt.Errorf("reptile: empty meta-batch")
	}
	for _, t := range tasks {
		if err := e.opts.Spec.check(t); err != nil {
			return Stats{}, fmt.Errorf("reptile: %w", err)
		}
	}
	sh, err := shareOf(e.opts.Comm, len(tasks))
	if err != nil {
		return Stats{}, fmt.Errorf("reptile: %w", err)
	}
	e.ensureSlots(len(tasks))
	losses, accs := make([]float64, len(tasks)), make([]float64, len(tasks))
	finals := make([]graph.OptimizerState, len(tasks))
	err = e.parallel(sh.hi-sh.lo, func(w *worker, k int) error {
		i := sh.lo + k
		res, a, err := l.train(w, tasks[i], l.miniBatches(tasks[i], i), []int{e.opts.InnerSteps}, &finals[i])
		if err != nil {
			return err
		}
		losses[i], accs[i] = res.Loss[0], res.Accuracy[0]
		for j, name := range e.modelNames { // slot = θ − θ̃
			theta := e.params.Get(name).Value
			graph.ToFloat64s(e.slots[i][j], theta)
			trained := make([]float64, len(e.slots[i][j]))
			graph.ToFloat64s(trained, a.cur[j])
			for k := range trained {
				e.slots[i][j][k] -= trained[k]
			}
		}
		return nil
	})
	if err = sh.results(err, losses, accs); err != nil {
		return Stats{}, fmt.Errorf("reptile: %w", err)
	}
	st := Stats{Loss: mean(losses), Accuracy: mean(accs)}
	if math.IsNaN(st.Loss) || math.IsInf(st.Loss, 0) {
		return st, fmt.Errorf("reptile: query loss is %v: the meta-parameters were not updated (try lower learning rates)", st.Loss)
	}
	if l.opts.InnerAdam && l.opts.CarryAdam {
		err = l.averageAndMerge(sh, finals)
	} else {
		err = e.averageSlots(sh)
	}
	if err != nil {
		return st, fmt.Errorf("reptile: %w", err)
	}
	if err := e.outerStep(e.mean); err != nil {
		return st, fmt.Errorf("reptile: %w", err)
	}
	e.zeroHead()
	return st, nil
}

// averageAndMerge averages the slots into e.mean (averageSlots) and
// merges the tasks' final inner-Adam states into the carried one
// (mergeAdam) in one fold, so that processes pass one vector from rank to
// rank: the slots' sum, then the Adam moments.
func (l *Reptile) averageAndMerge(sh taskShare, finals []graph.OptimizerState) error {
	e := l.engine
	total := e.slotSize()
	a := newAdamMerge(l.inner, sh.n, finals[sh.lo], l.innerAdam().Beta2)
	acc := make([]float64, total+a.size())
	a.start(acc[total:])
	err := sh.fold(acc, func(acc []float64, i int) {
		e.addSlot(acc[:total], i)
		a.add(acc[total:], finals[i])
	})
	if err != nil {
		return err
	}
	e.setMean(acc[:total], sh.n)
	l.inner = a.state(acc[total:])
	return nil
}

// Adapt runs the Reptile inner loop (the same optimizer as in training,
// on the whole support set) on each task and reports the query loss after
// every step.
func (l *Reptile) Adapt(tasks []Task, steps int) ([]Adaptation, error) {
	return everyStepOf(l.AdaptAt(tasks, everyStep(steps)))
}

// AdaptAt implements StepAdapter: Adapt, measuring the query set only
// after the numbers of steps in at.
func (l *Reptile) AdaptAt(tasks []Task, at []int) ([]Adaptation, error) {
	return l.adaptTasks("reptile", tasks, at, func(w *worker, t Task) (Adaptation, error) {
		res, _, err := l.train(w, t, nil, at, nil)
		return res, err
	})
}

// miniBatches returns the support batches of the inner steps of task i of
// the current meta-batch, or nil when every step uses the whole support
// set. The shuffles are drawn from a PCG seeded by the learner's seed, the
// iteration and i, so a run is reproducible for any number of workers.
func (l *Reptile) miniBatches(t Task, i int) []Task {
	spec := l.engine.opts.Spec
	in, tw := spec.inputSize(), spec.targetWidth()
	n, b := len(t.SupportY)/tw, l.opts.InnerBatch
	if b <= 0 || b >= n {
		return nil
	}
	rng := rand.New(rand.NewPCG(l.engine.opts.Seed^0x52657074696c65, uint64(l.steps)<<16|uint64(i)))
	var order []int
	batches := make([]Task, l.engine.opts.InnerSteps)
	for s := range batches {
		if len(order) < b {
			order = append(order, rng.Perm(n)...)
		}
		bt := Task{QueryX: t.QueryX, QueryY: t.QueryY,
			SupportX: make([]float64, 0, b*in), SupportY: make([]float64, 0, b*tw)}
		for _, j := range order[:b] {
			bt.SupportX = append(bt.SupportX, t.SupportX[j*in:(j+1)*in]...)
			bt.SupportY = append(bt.SupportY, t.SupportY[j*tw:(j+1)*tw]...)
		}
		order = order[b:]
		batches[s] = bt
	}
	return batches
}
