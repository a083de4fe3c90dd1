package metalearn

import (
	"github.com/metagon/metagon/models"
	"github.com/sirupsen/logrus"
)

// TaskSource is where a run's tasks come from: a family of regression
// tasks or episodes of a labelled data set. Training, validation and test
// tasks are disjoint seeded streams, indexed so that a resumed run sees
// the same tasks as an uninterrupted one.
type TaskSource interface {
	// Describe names the tasks, e.g. "Omniglot 5-way 1-shot (background
	// split)".
	Describe() string
	// Spec is the shape of the meta-training tasks.
	Spec() Spec
	// Model names the registered model the source's tasks are usually
	// learnt with and the Spec its tasks need: the input shape and the
	// outputs (with embedding, no classifier head). See SourceModel.
	Model(embedding bool) (name string, spec models.Spec)
	// Train returns the n tasks of meta-iteration it.
	Train(it, n int) []Task
	// Valid returns the fixed validation tasks.
	Valid() []Task
	// Test returns the first n held-out evaluation tasks.
	Test(n int) []Task
}

// FunctionSource is a regression TaskSource whose test tasks sample known
// functions, so that plots can draw the truth.
type FunctionSource interface {
	TaskSource
	// TestFunction returns the true function of test task i, its support
	// set and a caption naming it.
	TestFunction(i int) (f func(float64) float64, support Task, caption string)
}

// CurveSource is a regression TaskSource whose test tasks are known at a
// grid of inputs rather than as closed-form functions (a Gaussian-process
// sample is known only where it was drawn), so that plots can draw the
// truth there.
type CurveSource interface {
	TaskSource
	// TestCurve returns test task i's true values ys at the increasing
	// inputs xs, its support set and a caption naming it.
	TestCurve(i int) (xs, ys []float64, support Task, caption string)
}

// SourceModel builds the network for src's tasks: the registered model
// name (empty: the source's own), shaped for src's tasks and with the
// options opts sets (Filters, Hidden, Init, Pools; zero: the source's or
// the model's defaults; see models.Spec.Override).
func SourceModel(src TaskSource, embedding bool, name string, opts models.Spec) (models.Model, error) {
	def, spec := src.Model(embedding)
	if name == "" {
		name = def
	}
	return models.New(name, spec.Override(opts))
}

// SourceConfig is what a registered task source is built from.
type SourceConfig struct {
	// Settings are the run's resolved settings (ways, shots, queries...).
	Settings
	// Seed draws the task streams.
	Seed uint64
	// DataDir is where the data set's files are ("" : the source's own
	// search, e.g. $OMNIGLOT_DIR).
	DataDir string
	// Split, Rotations and Resize are data-set options (Omniglot: the
	// class split, 90° rotations as new classes, the resize filter).
	Split     string
	Rotations bool
	Resize    string
	// Log, if not nil, is told what a source does that takes long, such
	// as mini-ImageNet decoding its images the first time.
	Log logrus.FieldLogger
}

// Stream numbers the disjoint task streams of a seed: training,
// validation and test tasks.
func (c SourceConfig) Stream(s uint64) uint64 { return c.Seed*1000 + s }

// The streams of SourceConfig.Stream.
const (
	TrainStream = iota
	ValidStream
	TestStream
)

// SourceEntry is a registered task source.
type SourceEntry struct {
	New func(SourceConfig) (TaskSource, error)
	// Summary is one line for help texts.
	Summary string
	// Defaults are the source's settings (Resolve).
	Defaults Settings
	// Classification reports whether the tasks are N-way episodes.
	Classification bool
	// VariableSize reports that the tasks' numbers of support and query
	// examples vary from task to task (Spec gives the most in training):
	// only learners with LearnerEntry.AnySize run on them.
	VariableSize bool
}

var sources = named[SourceEntry]{kind: "task source"}

// RegisterSource makes a task source available by name. It panics on a
// duplicate name.
func RegisterSource(name string, e SourceEntry) { sources.add(name, e) }

// LookupSource returns the task source registered under name.
func LookupSource(name string) (SourceEntry, error) { return sources.get(name) }

// Sources lists the registered task sources, sorted.
func Sources() []string { return sources.names() }

// TestRanger is a TaskSource whose held-out tasks can be built a few at a
// time: TestRange(first, n) returns held-out tasks first … first+n−1, so
// that Test(n) is TestRange(0, n). EvaluateSource evaluates such a source
// EvalChunk tasks at a time instead of building them all (the image data
// sets, whose tasks are large, are TestRangers).
type TestRanger interface {
	TestRange(first, n int) []Task
}

// EvaluateSource is EvaluateAt on src's first n held-out tasks, built
// EvalChunk at a time when src is a TestRanger (see EvaluateStream), else
// all at once with Test.
func EvaluateSource(l Learner, src TaskSource, n int, at []int) (Evaluation, error) {
	if r, ok := src.(TestRanger); ok {
		return EvaluateStream(l, r.TestRange, n, at)
	}
	return EvaluateAt(l, src.Test(n), at)
}
