package metalearn

// Settings are the knobs of a meta-training run that learners and task
// sources give defaults for. A zero field means "not set": Resolve fills
// it from the registered defaults. Fields documented "same as X" take X's
// value when nothing sets them.
type Settings struct {
	// Ways is the number of classes per evaluation episode
	// (classification sources); Shots the support examples per class (or
	// per regression task).
	Ways, Shots int
	// TrainWays and TrainShots shape the meta-training episodes: same as
	// Ways and Shots.
	TrainWays, TrainShots int
	// Queries is the number of query examples per class (or task) in
	// meta-training: same as Shots. EvalQueries is the same at
	// evaluation: same as Queries.
	Queries, EvalQueries int
	// MetaBatch is the number of tasks per meta-update.
	MetaBatch int
	// InnerSteps is the number of inner-loop steps in meta-training;
	// EvalSteps the most at evaluation.
	InnerSteps, EvalSteps int
	// InnerLR is the inner learning rate α; OuterLR the meta learning
	// rate (Reptile's ε, Adam's rate for the others).
	InnerLR, OuterLR float64
	// InnerOptimizer is "sgd" or "adam" (Reptile); InnerBatch the support
	// examples per inner step (Reptile; 0: the whole support set).
	InnerOptimizer string
	InnerBatch     int
	// Scale multiplies the similarities inside a metric learner's
	// attention softmax (Matching Networks' cosines; see
	// MatchingNetOptions.Scale).
	Scale float64
	// Iterations is the number of meta-iterations; CheckpointEvery the
	// iterations between checkpoints.
	Iterations, CheckpointEvery int
	// Dtype is "float64" or "float32"; Init names a weight initialisation
	// the source's model understands ("finn", "torch").
	Dtype, Init string
}

// Fallback are the settings used when nothing else sets them.
var Fallback = Settings{
	Ways: 5, Shots: 1, MetaBatch: 25, InnerSteps: 1, EvalSteps: 10,
	InnerLR: 0.01, OuterLR: 1e-3, InnerOptimizer: "sgd",
	Iterations: 1000, CheckpointEvery: 500, Dtype: "float64",
}

// Or returns s with every zero field taken from d.
func (s Settings) Or(d Settings) Settings {
	or := func(a *int, b int) {
		if *a == 0 {
			*a = b
		}
	}
	orf := func(a *float64, b float64) {
		if *a == 0 {
			*a = b
		}
	}
	ors := func(a *string, b string) {
		if *a == "" {
			*a = b
		}
	}
	or(&s.Ways, d.Ways)
	or(&s.Shots, d.Shots)
	or(&s.TrainWays, d.TrainWays)
	or(&s.TrainShots, d.TrainShots)
	or(&s.Queries, d.Queries)
	or(&s.EvalQueries, d.EvalQueries)
	or(&s.MetaBatch, d.MetaBatch)
	or(&s.InnerSteps, d.InnerSteps)
	or(&s.EvalSteps, d.EvalSteps)
	orf(&s.InnerLR, d.InnerLR)
	orf(&s.OuterLR, d.OuterLR)
	ors(&s.InnerOptimizer, d.InnerOptimizer)
	or(&s.InnerBatch, d.InnerBatch)
	orf(&s.Scale, d.Scale)
	or(&s.Iterations, d.Iterations)
	or(&s.CheckpointEvery, d.CheckpointEvery)
	ors(&s.Dtype, d.Dtype)
	ors(&s.Init, d.Init)
	return s
}

// Resolve returns the settings of a run of learner on source: set (the
// user's explicit settings) first, then the learner's defaults for that
// source, the learner's own defaults, the source's defaults and Fallback,
// and finally the "same as" rules. A learner without an inner loop
// (ProtoNet) evaluates after 0 steps.
func Resolve(set Settings, learner LearnerEntry, source SourceEntry, sourceName string) Settings {
	s := set.Or(learner.Defaults[sourceName]).Or(learner.Defaults[""]).Or(source.Defaults).Or(Fallback)
	if s.TrainWays == 0 {
		s.TrainWays = s.Ways
	}
	if s.TrainShots == 0 {
		s.TrainShots = s.Shots
	}
	if s.Queries == 0 {
		s.Queries = s.Shots
	}
	if s.EvalQueries == 0 {
		s.EvalQueries = s.Queries
	}
	if learner.NoInnerLoop {
		s.EvalSteps = 0
	}
	return s
}
