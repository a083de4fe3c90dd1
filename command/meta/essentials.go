package meta

import (
	"flag"
	"fmt"
	"math"
	"strconv"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/earlystop"
	"github.com/metagon/metagon/metalearn"
)

// essentials are the training settings around the outer optimizer: its
// learning-rate schedule, clipping of the meta-gradient, and early
// stopping on the validations.
type essentials struct {
	lrSchedule string
	clipNorm   float64
	earlyStop  int
}

// register adds the essentials' flags to fs.
func (e *essentials) register(fs *flag.FlagSet) {
	fs.StringVar(&e.lrSchedule, "lr-schedule", "", "learning-rate schedule of the outer optimizer from -outer-lr, by meta-iteration (by episode for the metric learners): "+
		graph.ScheduleSyntax()+"; cosine and linear span the run (-iterations) unless steps= says (empty: the learner's own: halved every 2000 episodes for protonet and matchingnet, "+
		"100000 for relationnet; reptile's ε linear to 0; mamlpp's cosine to 1e-5; constant for the others)")
	fs.Float64Var(&e.clipNorm, "clip-norm", 0, "scale the meta-gradient (reptile: its move θ − mean θ̃; metric learners: each episode's gradient) to this global L2 norm when it is larger (0: no clipping)")
	fs.IntVar(&e.earlyStop, "early-stop", 0, "stop after this many validations (-eval-every) without a better validation accuracy (regression: loss; cnp: NLL) and evaluate the best learner, kept in CHECKPOINT.best (0: never stop early)")
}

// check refuses settings that mean nothing, naming the flag.
func (e essentials) check() error {
	switch {
	case e.clipNorm < 0 || math.IsNaN(e.clipNorm) || math.IsInf(e.clipNorm, 0):
		return fmt.Errorf("-clip-norm %g: want a finite norm ≥ 0 (0: no clipping)", e.clipNorm)
	case e.earlyStop < 0:
		return fmt.Errorf("-early-stop %d: want a number of validations ≥ 0 (0: never stop early)", e.earlyStop)
	}
	if e.lrSchedule != "" {
		if _, err := graph.ParseSchedule(e.lrSchedule, 1); err != nil {
			return fmt.Errorf("-lr-schedule %q: %v", e.lrSchedule, err)
		}
	}
	return nil
}

// Checkpoint keys of the essentials: the settings -resume takes when the
// command line does not give them (fromCheckpoint), and the record of the
// validations for -early-stop.
const (
	metaLRSchedule = "lr_schedule"
	metaClipNorm   = "clip_norm"
	metaOuterLR    = "outer_lr" // the schedule's initial rate
	metaEarlyStop  = "early_stop"
)

// save records the essentials in a checkpoint's metadata.
func (e essentials) save(meta map[string]string, outerLR float64) {
	meta[metaOuterLR] = strconv.FormatFloat(outerLR, 'g', -1, 64)
	if e.lrSchedule != "" {
		meta[metaLRSchedule] = e.lrSchedule
	}
	if e.clipNorm > 0 {
		meta[metaClipNorm] = strconv.FormatFloat(e.clipNorm, 'g', -1, 64)
	}
	if e.earlyStop > 0 {
		meta[metaEarlyStop] = strconv.Itoa(e.earlyStop)
	}
}

// takeEssentials sets the essentials and -outer-lr that the command line does
// not give (set) to those ck records, so that -resume goes on with the
// same rates. Values that do not parse are left for validate to report.
func (c *config) takeEssentials(ck *graph.Checkpoint, set map[string]bool) {
	if v, ok := ck.Meta[metaLRSchedule]; ok && !set["lr-schedule"] {
		c.lrSchedule = v
	}
	if f, err := strconv.ParseFloat(ck.Meta[metaClipNorm], 64); err == nil && !set["clip-norm"] {
		c.clipNorm = f
	}
	if f, err := strconv.ParseFloat(ck.Meta[metaOuterLR], 64); err == nil && !set["outer-lr"] {
		c.outerLR = f
	}
	if n, err := strconv.Atoi(ck.Meta[metaEarlyStop]); err == nil && !set["early-stop"] {
		c.earlyStop = n
	}
}

// anneals reports whether the run's outer rate follows a schedule that
// spans -iterations, so that resuming with another length changes it.
func (c config) anneals() bool {
	if c.lrSchedule == "" {
		return c.learner.Anneals
	}
	return graph.ScheduleSpansRun(c.lrSchedule)
}

// earlyStop is -early-stop's record of the validations (its At counts
// iterations), and the best learner for the final evaluation.
type earlyStop struct {
	earlystop.Record
	patience int
	// snapshot is the best learner (nil: none yet, or its file could not
	// be read on -resume).
	snapshot *graph.Checkpoint
}

// exhausted reports whether patience validations in a row brought no
// improvement.
func (e *earlyStop) exhausted() bool { return e.Exhausted(e.patience) }

// score is the validation measure -early-stop watches and whether higher
// is better: the accuracy after adaptation (classification), else the
// learner's objective (CNP's NLL), else the loss after adaptation.
func score(p curvePoint, classify bool, objective string) (float64, bool) {
	switch {
	case classify:
		return p.ValidAccPost, true
	case objective != "":
		return p.ValidObjective, false
	}
	return p.ValidPost, false
}

// record takes the validation p after iteration it into the record, and
// the learner as the best when it is (keep). Nothing without -early-stop
// (e nil).
func (e *earlyStop) record(l metalearn.Learner, c config, p curvePoint, classify bool, it int) error {
	if e == nil {
		return nil
	}
	if s, higher := score(p, classify, c.learner.Objective); !e.Observe(s, higher, it) {
		return nil
	}
	return e.keep(l, c, it)
}

// bestPath is where the best learner goes: CHECKPOINT.best.
func bestPath(checkpoint string) string { return checkpoint + ".best" }

// keep takes the learner after iteration it as the best: in memory, for
// the final evaluation, and in CHECKPOINT.best when there is a checkpoint.
func (e *earlyStop) keep(l metalearn.Learner, c config, it int) error {
	e.snapshot = snapshot(l, c, it)
	if c.checkpoint == "" {
		return nil
	}
	if err := graph.SaveCheckpoint(bestPath(c.checkpoint), e.snapshot); err != nil {
		return fmt.Errorf("save the best learner: %w", err)
	}
	return nil
}

// restoreBest puts the best learner's parameters and state back into l
// for the final evaluation, and reports whether there was one.
func (e *earlyStop) restoreBest(l metalearn.Learner) (bool, error) {
	if e == nil || e.snapshot == nil {
		return false, nil
	}
	if err := l.Params().Restore(e.snapshot, learnerKey(l)); err != nil {
		return false, fmt.Errorf("restore the best learner: %w", err)
	}
	if s, ok := l.(metalearn.Stateful); ok {
		if err := s.LoadState(e.snapshot, e.At); err != nil {
			return false, fmt.Errorf("restore the best learner: %w", err)
		}
	}
	return true, nil
}
