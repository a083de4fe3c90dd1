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

// NewLearner builds the learner registered under name from c; the outer
// optimizer is Adam with c.OuterLR unless the learner sets its own.
func NewLearner(name string, c Config) (Learner, error) {
	e, err := LookupLearner(name)
	if err != nil {
		return nil, err
	}
	return e.New(c)
}
