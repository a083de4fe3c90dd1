package metalearn

import (
	"math"

	"github.com/metagon/metagon/internal/stats"
)

// Measure is a number a learner reports about each task it adapts to,
// beyond the query loss and accuracy every learner reports: MANN's
// accuracy at the k-th presentation of a class, say. Evaluate summarises
// each measure over the tasks (Evaluation.Measured), Evaluation.Table
// gives each a column and the meta command's records a key.
type Measure struct {
	// Name heads the measure's column in tables, e.g. "2nd instance".
	Name string
	// Key names the measure in records such as metrics.json, e.g.
	// "accuracy_instance_2".
	Key string
	// Percent writes the measure as a percentage (a fraction, such as an
	// accuracy).
	Percent bool
}

// Measurer is a Learner that reports Measures: each Adaptation it returns
// holds Measures[s][k], measure k at entry s (the entry of Loss[s]). A
// task a measure does not apply to (a class shown fewer times than the
// instance measured) reports NaN there, and Evaluate leaves that task out
// of the measure's summary. Learners that are not Measurers report
// nothing more, and their evaluations are as before.
type Measurer interface {
	Learner
	// Measures lists the measures, in the order of Adaptation.Measures.
	Measures() []Measure
}

// measuresOf returns l's measures, none if l is not a Measurer.
func measuresOf(l Learner) []Measure {
	if m, ok := l.(Measurer); ok {
		return m.Measures()
	}
	return nil
}

// summarizeNumbers summarises the values of xs that are not NaN.
func summarizeNumbers(xs []float64) stats.Summary {
	kept := make([]float64, 0, len(xs))
	for _, x := range xs {
		if !math.IsNaN(x) {
			kept = append(kept, x)
		}
	}
	if len(kept) == 0 {
		return stats.Summary{Mean: math.NaN(), CI95: math.NaN()}
	}
	return stats.Summarize(kept)
}
