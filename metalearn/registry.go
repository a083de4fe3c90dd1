package metalearn

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// Config is what a registered learner is built from: the model, the
// tasks' shape and the resolved Settings of the run.
type Config struct {
	Model models.Model
	// Spec is the shape of the meta-training tasks.
	Spec Spec
	Settings
	// Head names the model's classifier head (ANIL adapts only it; with
	// ZeroHead it starts every task at zero).
	Head []string
	// ZeroHead applies the zeroing trick of Kao et al. to Head.
	ZeroHead bool
	// FirstOrder drops second-order terms where a learner has them.
	FirstOrder bool
	// FreshAdam starts every task with a fresh inner Adam (Reptile)
	// instead of carrying it from task to task.
	FreshAdam bool
	// Workers is the number of goroutines; results do not depend on it.
	Workers int
	// Seed initialises the meta-parameters.
	Seed uint64
}

// Options returns the shared learner options of c.
func (c Config) Options() Options {
	o := Options{Spec: c.Spec, InnerSteps: c.InnerSteps, InnerLR: c.InnerLR, Workers: c.Workers, Seed: c.Seed, Dtype: c.DtypeOf()}
	if c.ZeroHead {
		o.ZeroHead = c.Head
	}
	return o
}

// adam returns Options with Adam at c.OuterLR as the outer optimizer.
func (c Config) adam() Options {
	o := c.Options()
	o.Outer = graph.NewAdam(c.OuterLR)
	return o
}

// DtypeOf returns the tensor dtype Settings.Dtype names (float64 unless
// it says float32).
func (c Config) DtypeOf() tensor.Dtype {
	if c.Dtype == "float32" {
		return tensor.Float32
	}
	return tensor.Float64
}

// LearnerEntry is a registered learner.
type LearnerEntry struct {
	// New builds the learner.
	New func(Config) (Learner, error)
	// Title is how papers write the name, e.g. "MAML"; Summary one line
	// for help texts, with the paper.
	Title, Summary string
	// Defaults are the learner's settings: Defaults[""] its own, and
	// Defaults[source] those of the paper's experiments on that task
	// source. See Resolve for the order.
	Defaults map[string]Settings
	// NoInnerLoop marks a learner that does not adapt by gradient steps
	// (metric learners such as ProtoNet): it is evaluated after 0 steps.
	NoInnerLoop bool
	// Embedding asks for the model without its classifier head: the
	// learner classifies by distances between embeddings.
	Embedding bool
	// Anneals marks a learner whose schedule spans Settings.Iterations
	// (Reptile's ε), so that resuming with another length changes it.
	Anneals bool
}

var (
	regMu    sync.RWMutex
	learners = map[string]LearnerEntry{}
)

// Register makes a learner available by name to cmd/meta, the facade and
// LookupLearner. It panics on a duplicate name, as a second registration
// is a programming error.
func Register(name string, e LearnerEntry) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := learners[name]; dup {
		panic("metalearn: learner " + name + " registered twice")
	}
	learners[name] = e
}

// LookupLearner returns the learner registered under name.
func LookupLearner(name string) (LearnerEntry, error) {
	regMu.RLock()
	defer regMu.RUnlock()
	e, ok := learners[name]
	if !ok {
		return e, fmt.Errorf("unknown learner %q (have %s)", name, strings.Join(learnerNames(), ", "))
	}
	return e, nil
}

// Learners lists the registered learners, sorted.
func Learners() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	return learnerNames()
}

func learnerNames() []string {
	var ns []string
	for n := range learners {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

// The learners of this package. Each default is the paper's setting for
// that task source.
func init() {
	Register("maml", LearnerEntry{
		Title:   "MAML",
		Summary: "MAML, second order (Finn et al. 2017)",
		New: func(c Config) (Learner, error) {
			return NewMAML(c.Model, MAMLOptions{Options: c.adam(), FirstOrder: c.FirstOrder})
		},
	})
	Register("fomaml", LearnerEntry{
		Title:   "first-order MAML",
		Summary: "first-order MAML (Finn et al. 2017)",
		New: func(c Config) (Learner, error) {
			return NewMAML(c.Model, MAMLOptions{Options: c.adam(), FirstOrder: true})
		},
	})
	Register("metasgd", LearnerEntry{
		Title:   "Meta-SGD",
		Summary: "Meta-SGD: learned per-weight inner rates (Li et al. 2017)",
		New: func(c Config) (Learner, error) {
			return NewMetaSGD(c.Model, MetaSGDOptions{Options: c.adam()})
		},
	})
	Register("anil", LearnerEntry{
		Title:   "ANIL",
		Summary: "ANIL: only the head adapts (Raghu et al. 2020)",
		New: func(c Config) (Learner, error) {
			return NewANIL(c.Model, c.Head, MAMLOptions{Options: c.adam(), FirstOrder: c.FirstOrder})
		},
	})
	Register("foanil", LearnerEntry{
		Title:   "first-order ANIL",
		Summary: "first-order ANIL",
		New: func(c Config) (Learner, error) {
			return NewANIL(c.Model, c.Head, MAMLOptions{Options: c.adam(), FirstOrder: true})
		},
	})
	Register("reptile", LearnerEntry{
		Title:   "Reptile",
		Summary: "Reptile (Nichol et al. 2018)",
		Anneals: true,
		Defaults: map[string]Settings{
			"": {InnerSteps: 5, OuterLR: 0.1, Init: "torch"},
			// Nichol et al.: 10-shot training episodes, 5 Adam steps
			// (lr 1e-3, β₁ = 0) on batches of 10, meta-batch 5, ε = 1,
			// 50 test-time steps.
			"omniglot": {TrainShots: 10, MetaBatch: 5, InnerLR: 0.001, InnerOptimizer: "adam", InnerBatch: 10, OuterLR: 1, EvalSteps: 50},
		},
		New: func(c Config) (Learner, error) {
			adam := c.InnerOptimizer == "adam"
			return NewReptile(c.Model, ReptileOptions{Options: c.Options(), OuterLR: c.OuterLR, Iterations: c.Iterations,
				InnerAdam: adam, CarryAdam: adam && !c.FreshAdam, InnerBatch: c.InnerBatch})
		},
	})
	Register("protonet", LearnerEntry{
		Title:       "ProtoNet",
		Summary:     "Prototypical Networks (Snell et al. 2017)",
		NoInnerLoop: true,
		Embedding:   true,
		// Snell et al.: one 60-way episode with 5 queries per class per step.
		Defaults: map[string]Settings{"": {MetaBatch: 1, TrainWays: 60, Queries: 5}},
		New: func(c Config) (Learner, error) {
			return NewProtoNet(c.Model, ProtoNetOptions{Options: c.adam(), LR: c.OuterLR})
		},
	})
}

// NewLearner builds the learner registered under name from c; the outer
// optimizer is Adam with c.OuterLR unless the learner sets its own.
func NewLearner(name string, c Config) (Learner, error) {
	e, err := LookupLearner(name)
	if err != nil {
		return nil, err
	}
	return e.New(c)
}
