package metalearn

import (
	"fmt"
	"runtime"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// Learner is a meta-learner: it improves its meta-parameters from batches
// of tasks, and adapts to a new task from its support set.
type Learner interface {
	// Name identifies the algorithm, e.g. "maml" or "reptile".
	Name() string
	// Model is the network being meta-learned.
	Model() models.Model
	// Params are the meta-parameters (the model's initial weights, and for
	// Meta-SGD the learned inner learning rates).
	Params() *graph.Params
	// Optimizer is the outer (meta) optimizer.
	Optimizer() graph.Optimizer
	// MetaStep takes one meta-update on a batch of tasks.
	MetaStep(tasks []Task) (Stats, error)
	// Adapt adapts to each task with steps inner steps and reports the
	// query loss after each (see Adaptation). It runs the tasks on the
	// learner's worker goroutines.
	Adapt(tasks []Task, steps int) ([]Adaptation, error)
}

// Stats summarises one meta-step: the query loss and accuracy of the
// adapted models, averaged over the meta-batch.
type Stats struct {
	Loss, Accuracy float64
}

// Adaptation is what happened to one task during adaptation: index s of
// each slice is the state after s inner steps (0: before any), or, when
// Steps is not nil, after Steps[s] inner steps.
type Adaptation struct {
	Loss     []float64   // query loss
	Accuracy []float64   // query accuracy (classification only)
	Outputs  [][]float64 // query outputs
	// Steps lists the numbers of inner steps the entries were measured
	// after (StepAdapter.AdaptAt); nil means every step from 0.
	Steps []int
	// Extra holds further measures by name, each indexed like Loss, e.g.
	// CNP's NLL (the Gaussian negative log-likelihood of the query
	// targets) or MANN's accuracy by instance; NaN where a measure does
	// not apply to the task. Evaluate summarises them beside the loss; a
	// Measurer describes its own (columns, keys, format). nil for none.
	Extra map[string][]float64
	// Std holds the predictive standard deviations of the query outputs,
	// indexed like Outputs, from learners that predict a distribution
	// (CNP); nil otherwise.
	Std [][]float64
}

// NLL names the Adaptation.Extra measure of probabilistic regression
// learners: the negative log-likelihood of the query targets under the
// predictive distribution, per query point (nats).
const NLL = "NLL"

// StepAdapter is a Learner that can measure the query set after some
// numbers of inner steps only. The query forward pass is most of the cost
// of a long adaptation (50 Reptile steps on 5 support and 75 query images),
// so EvaluateAt uses AdaptAt where a learner has it.
type StepAdapter interface {
	Learner
	// AdaptAt adapts to each task with the last number of steps in at,
	// which must be non-negative and increasing, and reports the query
	// set after each number of steps in at (Adaptation.Steps = at).
	AdaptAt(tasks []Task, at []int) ([]Adaptation, error)
}

// everyStep returns 0, 1, ..., steps.
func everyStep(steps int) []int {
	at := make([]int, steps+1)
	for s := range at {
		at[s] = s
	}
	return at
}

// checkSteps checks a list of step counts for AdaptAt.
func checkSteps(at []int) error {
	if len(at) == 0 {
		return fmt.Errorf("no step counts to measure at")
	}
	for i, s := range at {
		if s < 0 || (i > 0 && s <= at[i-1]) {
			return fmt.Errorf("step counts %v: want non-negative and increasing", at)
		}
	}
	return nil
}

// Options configures the optimization-based learners.
type Options struct {
	// Spec fixes the tasks' shapes.
	Spec Spec
	// InnerSteps is the number of inner-loop steps during meta-training.
	// If zero, a default of 1 is used.
	InnerSteps int
	// InnerLR is the inner-loop learning rate α. If zero, a default of
	// 0.01 is used.
	InnerLR float64
	// Outer is the meta-optimizer. If nil, Adam with learning rate 1e-3
	// is used.
	Outer graph.Optimizer
	// Workers is the number of goroutines a meta-batch runs on, each with
	// its own compiled task graph. Results do not depend on it. If zero,
	// a default of runtime.GOMAXPROCS(0) is used.
	Workers int
	// Comm, when not nil, is a group of processes that share every
	// meta-batch (package dist: MPI): each computes its part of the tasks
	// and every process takes the same step, bit for bit the one a single
	// process would take (see Comm). Only the optimization-based learners
	// (Splitter) use it. nil means this process computes every task.
	Comm Comm
	// Dtype is the element type of the graphs. If zero, a default of
	// tensor.Float64 is used.
	Dtype tensor.Dtype
	// Seed initialises the meta-parameters.
	Seed uint64
	// Schedule sets the outer optimizer's learning rate before every outer
	// step from its initial rate (graph.Update): step t, counted from 0
	// over the run (across checkpoints), takes Schedule.Rate(initial, t).
	// The learners take one outer step per meta-iteration, the metric
	// learners one per episode. If nil, the learner's own: ProtoNet's and
	// the other metric learners' halving (MetricOptions.LRHalvingEvery),
	// Reptile's linear annealing of ε, MAML++'s cosine annealing (CA);
	// the other learners, and every learner whose optimizer's rate cannot
	// be set (not a graph.LRSetter), leave the rate as it is.
	Schedule graph.Schedule
	// ClipNorm, when above 0, scales every meta-gradient (Reptile: its
	// move θ − mean θ̃) to a global L2 norm of at most ClipNorm before the
	// outer step (graph.ClipGradNorm). 0 does not clip.
	ClipNorm float64
	// ZeroHead names weights (a classifier's head, e.g. "fc.w", "fc.b")
	// that start every task at zero: they are zeroed at initialisation and
	// after every meta-update, so the inner loop alone sets them (the
	// "zeroing trick" of Kao et al., "MAML is a Noisy Contrastive Learner
	// in Classification", ICLR 2022). With N-way tasks whose labels are
	// permuted at random, a learned head is noise the inner loop has to
	// undo. If nil, no weight is zeroed.
	ZeroHead []string
	// RunningStatsEval makes evaluation (Adapt) normalise a model that
	// keeps per-step running statistics (models.StepNorm.Running,
	// MAML++'s BNRS) with them, as the MAML++ paper describes. If false,
	// evaluation normalises every batch with its own statistics, as
	// meta-training does and as the paper's code evaluates: a network
	// meta-trained on batches of five images has learnt to expect their
	// statistics, and on Omniglot 5-way 1-shot the running ones leave it
	// near chance (docs/RESULTS.md, MAML++).
	RunningStatsEval bool
}

func (o Options) withDefaults() Options {
	if o.InnerSteps == 0 {
		o.InnerSteps = 1
	}
	if o.InnerLR == 0 {
		o.InnerLR = 0.01
	}
	if o.Outer == nil {
		o.Outer = graph.NewAdam(1e-3)
	}
	if o.Workers == 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Dtype == (tensor.Dtype{}) {
		o.Dtype = tensor.Float64
	}
	return o
}
