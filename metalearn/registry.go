package metalearn

import (
	"fmt"
	"maps"
	"slices"
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
	// Without names switches of the learner to turn off
	// (LearnerEntry.Switches), e.g. MAML++'s "msl".
	Without []string
	// Workers is the number of goroutines; results do not depend on it.
	Workers int
	// Comm is the group of processes that share every meta-batch (see
	// Options.Comm); nil: this one alone.
	Comm Comm
	// Seed initialises the meta-parameters.
	Seed uint64
	// Schedule and ClipNorm go to the outer optimizer (Options.Schedule,
	// Options.ClipNorm); a nil Schedule keeps the learner's own.
	Schedule graph.Schedule
	ClipNorm float64
	// RunningStatsEval evaluates with per-step running statistics (see
	// Options.RunningStatsEval).
	RunningStatsEval bool
	// TrainClasses is the number of the task source's training classes,
	// for a learner that trains on them (LearnerEntry.ClassBatches); 0
	// otherwise.
	TrainClasses int
}

// Options returns the shared learner options of c.
func (c Config) Options() Options {
	o := Options{Spec: c.Spec, InnerSteps: c.InnerSteps, InnerLR: c.InnerLR, Workers: c.Workers, Comm: c.Comm, Seed: c.Seed, Dtype: c.DtypeOf(),
		Schedule: c.Schedule, ClipNorm: c.ClipNorm, RunningStatsEval: c.RunningStatsEval}
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
	// ModelOptions are the options the learner needs of its model, over
	// the task source's (Filters, Hidden, Init, Pools; see
	// models.Spec.Override), e.g. Relation Networks' Pools: 2, an
	// embedding of 7×7 feature maps. A run's own Run.ModelOptions
	// override them.
	ModelOptions models.Spec
	// Anneals marks a learner whose schedule spans Settings.Iterations
	// (Reptile's ε), so that resuming with another length changes it.
	Anneals bool
	// StepPerTask marks a learner that takes one outer step per task of a
	// meta-batch (the metric learners: one per episode), so that the
	// steps of its learning-rate schedule are tasks, not meta-iterations
	// (ScheduleSteps).
	StepPerTask bool
	// Model names the registered model the learner is built on in place
	// of the task source's (CNP: "cnp", an encoder and a decoder; MANN:
	// "mann", an LSTM controller with an external memory), shaped by the
	// source (models.Spec's Input and Outputs) and given the run's
	// options (ModelOptions, Run.ModelOptions: e.g. -hidden), which the
	// model refuses where it has no use for them; a run's own Run.Model
	// overrides it, and the learner refuses a network it cannot run.
	// Empty: the source's model.
	Model string
	// Objective names the Adaptation.Extra measure that MetaStep minimises
	// and reports as Stats.Loss, when that is not the task's loss (MSE or
	// cross-entropy): CNP's NLL. Curves then plot it for training and
	// validation. Empty: the task's loss.
	Objective string
	// AnySize marks a learner that takes tasks of any numbers of support
	// and query examples, so that it runs on task sources whose tasks
	// vary in size (SourceEntry.VariableSize).
	AnySize bool
	// Switches are parts of the learner that a run can turn off
	// (Config.Without, the command's -without), for ablations: MAML++'s
	// five changes to MAML. None for most learners.
	Switches []Switch
	// ClassBatches marks a learner that trains on batches of images
	// labelled with the task source's training classes rather than on
	// episodes (a ClassTrainer: transfer learning's pre-training). Setup
	// refuses a source that is not a ClassBatcher and gives the learner
	// the number of training classes (Config.TrainClasses).
	ClassBatches bool
}

// Switch is a part of a learner that can be turned off.
type Switch struct {
	// Name is what Config.Without takes, e.g. "msl"; Summary says what
	// it is, for help texts.
	Name, Summary string
}

// CheckWithout reports a name in without that is not one of e's
// switches.
func (e LearnerEntry) CheckWithout(without []string) error {
	for _, w := range without {
		if !slices.ContainsFunc(e.Switches, func(s Switch) bool { return s.Name == w }) {
			if len(e.Switches) == 0 {
				return fmt.Errorf("%q: this learner has no switches to turn off", w)
			}
			var names []string
			for _, s := range e.Switches {
				names = append(names, s.Name)
			}
			return fmt.Errorf("%q is not a switch of this learner (have %s)", w, strings.Join(names, ", "))
		}
	}
	return nil
}

// named is a registry: entries of one kind by name, safe for concurrent
// use. Learners and task sources each have one.
type named[E any] struct {
	kind string // "learner", "task source": for messages
	mu   sync.RWMutex
	m    map[string]E
}

// add registers e under name; a second registration of a name is a
// programming error and panics.
func (r *named[E]) add(name string, e E) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[name]; dup {
		panic("metalearn: " + r.kind + " " + name + " registered twice")
	}
	if r.m == nil {
		r.m = map[string]E{}
	}
	r.m[name] = e
}

// get returns the entry of name, or an error listing the known names.
func (r *named[E]) get(name string) (E, error) {
	r.mu.RLock()
	e, ok := r.m[name]
	r.mu.RUnlock()
	if !ok {
		return e, fmt.Errorf("unknown %s %q (have %s)", r.kind, name, strings.Join(r.names(), ", "))
	}
	return e, nil
}

// names lists the registered names, sorted.
func (r *named[E]) names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Sorted(maps.Keys(r.m))
}

var learners = named[LearnerEntry]{kind: "learner"}

// Register makes a learner available by name to cmd/meta, the facade and
// LookupLearner. It panics on a duplicate name, as a second registration
// is a programming error.
func Register(name string, e LearnerEntry) { learners.add(name, e) }

// LookupLearner returns the learner registered under name.
func LookupLearner(name string) (LearnerEntry, error) { return learners.get(name) }

// Learners lists the registered learners, sorted.
func Learners() []string { return learners.names() }
