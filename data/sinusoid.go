package data

import (
	"math"
	"math/rand/v2"
)

// Defaults of SinusoidOptions: the task distribution of Finn et al. 2017
// (MAML), §5.1, and of their code (data_generator.py).
const (
	DefaultSinusoidAmpMin   = 0.1
	DefaultSinusoidAmpMax   = 5.0
	DefaultSinusoidPhaseMin = 0.0
	DefaultSinusoidPhaseMax = math.Pi
	DefaultSinusoidXMin     = -5.0
	DefaultSinusoidXMax     = 5.0
)

// SinusoidOptions sets the ranges of the sinusoid task family. Each
// quantity is drawn uniformly from [Min, Max]; a range given the wrong way
// round (Min > Max) is used as [Max, Min]. The zero value is the task
// family of Finn et al. 2017.
type SinusoidOptions struct {
	// AmpMin is the smallest amplitude. If zero, a default of 0.1 is used.
	AmpMin float64
	// AmpMax is the largest amplitude. If zero, a default of 5 is used.
	AmpMax float64
	// PhaseMin is the smallest phase, in radians. If zero, a default of 0 is
	// used, i.e. zero means zero.
	PhaseMin float64
	// PhaseMax is the largest phase, in radians. If zero, a default of π is
	// used.
	PhaseMax float64
	// XMin is the smallest input. If zero, a default of −5 is used.
	XMin float64
	// XMax is the largest input. If zero, a default of 5 is used.
	XMax float64
}

// WithDefaults returns o with every zero field replaced by its default and
// every reversed range put the right way round: the ranges tasks are
// actually drawn from.
func (o SinusoidOptions) WithDefaults() SinusoidOptions {
	def := func(v, d float64) float64 {
		if v == 0 {
			return d
		}
		return v
	}
	o.AmpMin = def(o.AmpMin, DefaultSinusoidAmpMin)
	o.AmpMax = def(o.AmpMax, DefaultSinusoidAmpMax)
	o.PhaseMin = def(o.PhaseMin, DefaultSinusoidPhaseMin)
	o.PhaseMax = def(o.PhaseMax, DefaultSinusoidPhaseMax)
	o.XMin = def(o.XMin, DefaultSinusoidXMin)
	o.XMax = def(o.XMax, DefaultSinusoidXMax)
	if o.AmpMin > o.AmpMax {
		o.AmpMin, o.AmpMax = o.AmpMax, o.AmpMin
	}
	if o.PhaseMin > o.PhaseMax {
		o.PhaseMin, o.PhaseMax = o.PhaseMax, o.PhaseMin
	}
	if o.XMin > o.XMax {
		o.XMin, o.XMax = o.XMax, o.XMin
	}
	return o
}

// SinusoidTask is one regression task of the sinusoid family,
// y = Amplitude·sin(x − Phase), with K support (training) points and Q
// query (evaluation) points, all drawn independently from the input range.
type SinusoidTask struct {
	// Amplitude and Phase define the task's function; see F.
	Amplitude, Phase float64
	// SupportX and SupportY are the K points the learner adapts on.
	SupportX, SupportY []float64
	// QueryX and QueryY are the Q points the adapted learner is scored on.
	QueryX, QueryY []float64
}

// F returns the task's true function at x: Amplitude·sin(x − Phase), as in
// Finn et al.'s code.
func (t SinusoidTask) F(x float64) float64 { return t.Amplitude * math.Sin(x-t.Phase) }

// Sinusoids samples a reproducible stream of sinusoid tasks. Task i of the
// stream is SinusoidTaskAt(seed, i, k, q, o): it depends only on the seed,
// i, k, q and the options, not on what was drawn before, so the stream can
// be split among workers, skipped ahead or resumed. A Sinusoids is not safe
// for concurrent use; SinusoidTaskAt is.
type Sinusoids struct {
	seed uint64
	next uint64
	o    SinusoidOptions
}

// NewSinusoids returns a sampler whose stream is determined by seed and o,
// positioned at task 0.
func NewSinusoids(seed uint64, o SinusoidOptions) *Sinusoids {
	return &Sinusoids{seed: seed, o: o.WithDefaults()}
}

// Options returns the ranges the sampler draws from, defaults filled in.
func (s *Sinusoids) Options() SinusoidOptions { return s.o }

// Task returns the next task of the stream, with k support points and q
// query points (a negative count is taken as 0), and advances the stream.
func (s *Sinusoids) Task(k, q int) SinusoidTask {
	t := SinusoidTaskAt(s.seed, s.next, k, q, s.o)
	s.next++
	return t
}

// Tasks returns the next n tasks of the stream (none if n ≤ 0), each as
// Task(k, q) would.
func (s *Sinusoids) Tasks(n, k, q int) []SinusoidTask {
	n = max(n, 0)
	out := make([]SinusoidTask, n)
	for i := range out {
		out[i] = s.Task(k, q)
	}
	return out
}

// NextIndex returns the index in the stream of the task the next call of
// Task returns.
func (s *Sinusoids) NextIndex() uint64 { return s.next }

// SetNextIndex makes the next call of Task return task i of the stream,
// e.g. to resume a run.
func (s *Sinusoids) SetNextIndex(i uint64) { s.next = i }

// SinusoidTaskAt returns task index of the stream with the given seed,
// without drawing the tasks before it: a PCG generator seeded with
// (seed, index) draws the amplitude, then the phase, then the k support
// inputs, then the q query inputs, each uniformly from its range in o (zero
// fields of o take their defaults). A negative k or q is taken as 0. The
// same arguments always give the same task, so e.g. a fixed evaluation set
// is SinusoidTaskAt(evalSeed, i, k, q, o) for i = 0..599.
func SinusoidTaskAt(seed, index uint64, k, q int, o SinusoidOptions) SinusoidTask {
	o = o.WithDefaults()
	k, q = max(k, 0), max(q, 0)
	rng := rand.New(rand.NewPCG(seed, index))
	uniform := func(lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }
	t := SinusoidTask{
		Amplitude: uniform(o.AmpMin, o.AmpMax),
		Phase:     uniform(o.PhaseMin, o.PhaseMax),
	}
	xy := make([]float64, 2*(k+q))
	t.SupportX, t.QueryX = xy[:k:k], xy[k:k+q:k+q]
	t.SupportY, t.QueryY = xy[k+q:2*k+q:2*k+q], xy[2*k+q:]
	for i := range t.SupportX {
		t.SupportX[i] = uniform(o.XMin, o.XMax)
	}
	for i := range t.QueryX {
		t.QueryX[i] = uniform(o.XMin, o.XMax)
	}
	for i, x := range t.SupportX {
		t.SupportY[i] = t.F(x)
	}
	for i, x := range t.QueryX {
		t.QueryY[i] = t.F(x)
	}
	return t
}
