package metalearn

import (
	"math"
	"slices"
	"strings"

	"github.com/metagon/metagon/internal/stats"
)

// Measure describes a measure a learner reports in Adaptation.Extra,
// beyond the query loss and accuracy every learner reports: CNP's NLL,
// MANN's accuracy at the k-th presentation of a class. Evaluate
// summarises each over the tasks (Evaluation.Extra), Evaluation.Table
// gives each a column and the meta command's records a key. A learner
// that describes its measures is a Measurer; any other measure is
// described by its name alone (the defaults below).
type Measure struct {
	// Name keys the measure in Adaptation.Extra and Evaluation.Extra,
	// and LearnerEntry.Objective names it: e.g. NLL or
	// "accuracy_instance_2".
	Name string
	// Column heads its column in tables, e.g. "2nd instance". If empty,
	// "query " and the name (CNP: "query NLL").
	Column string
	// Key names it in records such as metrics.json (KEY_by_steps). If
	// empty, "query_" and the name in lower case (CNP: "query_nll").
	Key string
	// Percent writes the measure as a percentage (a fraction, such as an
	// accuracy).
	Percent bool
}

// described returns m with its defaults filled in.
func (m Measure) described() Measure {
	if m.Column == "" {
		m.Column = "query " + m.Name
	}
	if m.Key == "" {
		m.Key = "query_" + strings.ToLower(m.Name)
	}
	return m
}

// Measurer is a Learner that describes the measures it reports in
// Adaptation.Extra: their columns, keys and format, and the order of the
// columns. A task a measure does not apply to (a class shown fewer times
// than the instance measured) reports NaN there, and Evaluate leaves that
// task out of the measure's summary.
type Measurer interface {
	Learner
	// Measures describes the measures, in the order of the columns.
	Measures() []Measure
}

// measuresOf describes the measures that Evaluate summarises of l's
// results res: those every result reports (Adaptation.Extra holds
// numbers for them), l's own first if l is a Measurer, in its order, and
// then the others by name.
func measuresOf(l Learner, res []Adaptation) []Measure {
	common := commonExtra(res)
	var ms []Measure
	if m, ok := l.(Measurer); ok {
		for _, d := range m.Measures() {
			if i := slices.Index(common, d.Name); i >= 0 {
				ms = append(ms, d.described())
				common = slices.Delete(common, i, i+1)
			}
		}
	}
	for _, name := range common {
		ms = append(ms, Measure{Name: name}.described())
	}
	return ms
}

// summarizeNumbers summarises the values of xs that are not NaN (the
// tasks a measure applies to).
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
