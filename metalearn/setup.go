package metalearn

import (
	"fmt"
	"strings"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
)

// Run names a meta-training run: the learner and task source by their
// registered names, their resolved Settings (see Resolve) and the rest of
// what building them needs. cmd/meta and the facade build every run with
// Setup, so a run is the same wherever it is started.
type Run struct {
	Learner, Source string
	Settings        Settings
	// Model is a registered model name ("" : the learner's, see
	// LearnerEntry.Model, else the source's own) and
	// ModelOptions its options (Filters, Hidden, Init, Pools; zero: the
	// learner's (LearnerEntry.ModelOptions), the source's or the model's).
	Model        string
	ModelOptions models.Spec
	// DataDir, Split, Rotations and Resize go to the task source.
	DataDir, Split, Resize string
	Rotations              bool
	// Log goes to the task source (SourceConfig.Log).
	Log logrus.FieldLogger
	// ZeroHead, FirstOrder, FreshAdam and Without go to the learner (see
	// Config).
	ZeroHead, FirstOrder, FreshAdam bool
	Without                         []string
	Workers                         int
	Seed                            uint64
	// RunningStatsEval evaluates with the per-step running statistics of
	// MAML++'s BNRS (Options.RunningStatsEval); Setup refuses it for a
	// learner whose model keeps none.
	RunningStatsEval bool
	// Comm is the group of processes that share every meta-batch (see
	// Options.Comm); nil: this one alone. Setup refuses a group of more
	// than one process for a learner that does not split its meta-batch
	// (Splitter), and a meta-batch smaller than the group.
	Comm Comm
	// LRSchedule is a learning-rate schedule spec for the outer optimizer
	// (graph.ParseSchedule, e.g. "cosine:warmup=500"), whose steps are
	// meta-iterations, or episodes for the learners that step once per
	// task (LearnerEntry.StepPerTask), and whose default length is the
	// run's (Settings.Iterations of them). Empty: the learner's own
	// (Options.Schedule).
	LRSchedule string
	// ClipNorm clips the meta-gradient's global norm (Options.ClipNorm).
	ClipNorm float64
}

// ScheduleSteps is the number of outer steps a run of iterations
// meta-iterations of meta-batches of batch tasks takes with learner le:
// one per iteration, or one per task (LearnerEntry.StepPerTask).
func (le LearnerEntry) ScheduleSteps(iterations, batch int) int {
	if le.StepPerTask {
		return iterations * batch
	}
	return iterations
}

// Setup builds r's task source, model and learner.
func Setup(r Run) (Learner, TaskSource, error) {
	le, err := LookupLearner(r.Learner)
	if err != nil {
		return nil, nil, err
	}
	se, err := LookupSource(r.Source)
	if err != nil {
		return nil, nil, err
	}
	if err := le.CheckWithout(r.Without); err != nil {
		return nil, nil, fmt.Errorf("learner %s: without %w", r.Learner, err)
	}
	if se.VariableSize && !le.AnySize {
		return nil, nil, fmt.Errorf("task source %s has tasks of varying size, which learner %s cannot take (it compiles one task shape); use a learner that can, such as cnp", r.Source, r.Learner)
	}
	if le.ClassBatches && !se.Classification {
		return nil, nil, fmt.Errorf("learner %s trains on the classes of an image data set, which task source %s does not have: use %s", r.Learner, r.Source, strings.Join(classSources(), ", "))
	}
	src, err := se.New(SourceConfig{Settings: r.Settings, Seed: r.Seed, DataDir: r.DataDir,
		Split: r.Split, Rotations: r.Rotations, Resize: r.Resize, Log: r.Log})
	if err != nil {
		return nil, nil, err
	}
	trainClasses := 0
	if le.ClassBatches {
		cb, ok := src.(ClassBatcher)
		if !ok {
			return nil, nil, fmt.Errorf("learner %s trains on batches of the training classes, which task source %s cannot draw", r.Learner, r.Source)
		}
		trainClasses = cb.TrainClasses()
	}
	model := r.Model
	if model == "" {
		model = le.Model
	}
	opts := le.ModelOptions.Override(r.ModelOptions)
	if ps := &opts.PerStep; (ps.Weights || ps.Running) && ps.Steps == 0 {
		ps.Steps = r.Settings.InnerSteps // one set per inner step of meta-training
	}
	m, err := SourceModel(src, le.Embedding, model, opts)
	if err != nil {
		return nil, nil, err
	}
	var sched graph.Schedule
	if r.LRSchedule != "" {
		if sched, err = graph.ParseSchedule(r.LRSchedule, le.ScheduleSteps(r.Settings.Iterations, r.Settings.MetaBatch)); err != nil {
			return nil, nil, fmt.Errorf("learning-rate schedule %q: %w", r.LRSchedule, err)
		}
	}
	l, err := le.New(Config{Model: m, Spec: src.Spec(), Settings: r.Settings, Head: models.HeadOf(m),
		ZeroHead: r.ZeroHead, FirstOrder: r.FirstOrder, FreshAdam: r.FreshAdam, Without: r.Without, Workers: r.Workers, Comm: r.Comm, Seed: r.Seed,
		Schedule: sched, ClipNorm: r.ClipNorm,
		RunningStatsEval: r.RunningStatsEval, TrainClasses: trainClasses})
	if err != nil {
		return nil, nil, err
	}
	if rs, ok := l.(interface{ RunningStats() *models.RunningStats }); r.RunningStatsEval && (!ok || rs.RunningStats() == nil) {
		return nil, nil, fmt.Errorf("learner %s with model %s keeps no per-step running statistics to evaluate with (mamlpp keeps them unless -without bnrs)", r.Learner, m.Name())
	}
	if r.Comm != nil && r.Comm.Size() > 1 {
		if s, ok := l.(Splitter); !ok || !s.SplitsMetaBatch() {
			return nil, nil, fmt.Errorf("learner %s does not split its meta-batch across processes (the optimization-based and metric learners do: maml, fomaml, metasgd, anil, foanil, mamlpp, reptile, protonet, matchingnet, matchingnet-fce, relationnet): run it as one process, not %d", r.Learner, r.Comm.Size())
		}
		if n := r.Settings.MetaBatch; n < r.Comm.Size() {
			return nil, nil, fmt.Errorf("a meta-batch of %d across %d processes: want at least one task per process (a meta-batch of %d or more)", n, r.Comm.Size(), r.Comm.Size())
		}
	}
	return l, src, nil
}

// classSources lists the registered classification sources, sorted.
func classSources() []string {
	var names []string
	for _, n := range Sources() {
		if e, _ := LookupSource(n); e.Classification {
			names = append(names, n)
		}
	}
	return names
}
