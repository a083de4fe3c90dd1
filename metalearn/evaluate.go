package metalearn

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/metagon/metagon/internal/stats"
)

// Evaluation reports how well a learner adapts to held-out tasks, the way
// papers do: the mean query loss (and accuracy) over the tasks after each
// number of inner steps, with 95% confidence intervals 1.96·std/√n.
type Evaluation struct {
	// Loss[i] and Accuracy[i] summarise the tasks after Steps[i] inner
	// steps. (Evaluate measures every step, so there i = Steps[i].)
	Loss, Accuracy []stats.Summary
	// Steps lists the numbers of inner steps measured, increasing.
	Steps []int
	// Tasks is the number of tasks evaluated.
	Tasks int
	// Classification reports whether Accuracy is meaningful.
	Classification bool
	// Measures are the learner's own measures (a Measurer's), none for
	// other learners; Measured[i][k] summarises measure k after Steps[i]
	// over the tasks that report it.
	Measures []Measure
	Measured [][]stats.Summary
	// Extra[name][i] summarises the measure name of Adaptation.Extra
	// after Steps[i] inner steps, for each measure every task reports
	// (CNP: NLL); nil if there are none.
	Extra map[string][]stats.Summary
}

// ExtraNames lists the measures of Extra, sorted.
func (ev Evaluation) ExtraNames() []string {
	return slices.Sorted(maps.Keys(ev.Extra))
}

// Evaluate adapts l to every task with up to steps inner steps and
// measures the query set after each.
func Evaluate(l Learner, tasks []Task, steps int) (Evaluation, error) {
	return EvaluateAt(l, tasks, everyStep(steps))
}

// EvaluateAt adapts l to every task with last(at) inner steps and measures
// the query set after each number of steps in at (non-negative,
// increasing), skipping the query pass at the others when l is a
// StepAdapter.
func EvaluateAt(l Learner, tasks []Task, at []int) (Evaluation, error) {
	if len(tasks) == 0 {
		return Evaluation{}, fmt.Errorf("evaluate: no tasks")
	}
	if err := checkSteps(at); err != nil {
		return Evaluation{}, fmt.Errorf("evaluate: %w", err)
	}
	res, err := AdaptAtSteps(l, tasks, at)
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{Tasks: len(tasks), Steps: at, Measures: measuresOf(l)}
	extra := commonExtra(res)
	for k, s := range at {
		loss, acc := make([]float64, len(res)), make([]float64, len(res))
		measured := make([][]float64, len(ev.Measures))
		more := map[string][]float64{}
		for i, r := range res {
			j := s // Adapt: entry s is step s
			if r.Steps != nil {
				j = k
			}
			j = min(j, len(r.Loss)-1) // learners that do not adapt report one entry
			loss[i] = r.Loss[j]
			if j < len(r.Accuracy) { // regression learners may leave it out
				acc[i] = r.Accuracy[j]
			}
			if acc[i] != 0 {
				ev.Classification = true
			}
			for m := range measured {
				if j >= len(r.Measures) || len(r.Measures[j]) != len(ev.Measures) {
					return Evaluation{}, fmt.Errorf("evaluate: %s reported %d measures for task %d, want %d at entry %d",
						l.Name(), measuresAt(r, j), i, len(ev.Measures), j)
				}
				measured[m] = append(measured[m], r.Measures[j][m])
			}
			for _, name := range extra {
				more[name] = append(more[name], r.Extra[name][min(j, len(r.Extra[name])-1)])
			}
		}
		ev.Loss = append(ev.Loss, stats.Summarize(loss))
		ev.Accuracy = append(ev.Accuracy, stats.Summarize(acc))
		if len(ev.Measures) > 0 {
			row := make([]stats.Summary, len(ev.Measures))
			for m, xs := range measured {
				row[m] = summarizeNumbers(xs)
			}
			ev.Measured = append(ev.Measured, row)
		}
		for _, name := range extra {
			if ev.Extra == nil {
				ev.Extra = map[string][]stats.Summary{}
			}
			ev.Extra[name] = append(ev.Extra[name], stats.Summarize(more[name]))
		}
	}
	return ev, nil
}

// measuresAt is the number of measures r holds at entry j.
func measuresAt(r Adaptation, j int) int {
	if j < len(r.Measures) {
		return len(r.Measures[j])
	}
	return 0
}

// commonExtra lists, sorted, the Adaptation.Extra measures that every
// result reports with at least one value.
func commonExtra(res []Adaptation) []string {
	var names []string
	for name := range res[0].Extra {
		every := true
		for _, r := range res {
			if len(r.Extra[name]) == 0 {
				every = false
				break
			}
		}
		if every {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// AdaptAtSteps adapts l to every task with last(at) inner steps: with
// StepAdapter.AdaptAt when l has it, measuring the query set only after
// the numbers of steps in at, else with Adapt, measuring after every step
// (Adaptation.Steps nil).
func AdaptAtSteps(l Learner, tasks []Task, at []int) ([]Adaptation, error) {
	if sa, ok := l.(StepAdapter); ok {
		return sa.AdaptAt(tasks, at)
	}
	return l.Adapt(tasks, at[len(at)-1])
}

// Table formats the evaluation as a Markdown table, one row per number of
// inner steps listed in rows that was measured (all of them if rows is
// empty), with a column for each Extra measure after the loss and for
// each of the learner's Measures that some task reported. When the only
// row is 0 steps (a learner without an inner loop, such as ProtoNet) the
// steps column is left out.
func (ev Evaluation) Table(rows ...int) string {
	if len(rows) == 0 {
		rows = ev.Steps
	}
	steps := len(rows) != 1 || rows[0] != 0
	var b strings.Builder
	cols := []string{fmt.Sprintf("query MSE (%d tasks, 95%% CI)", ev.Tasks)}
	if ev.Classification {
		cols = []string{fmt.Sprintf("query accuracy (%d tasks, 95%% CI)", ev.Tasks), "query loss"}
	}
	for _, name := range ev.ExtraNames() {
		cols = append(cols, "query "+name)
	}
	measures := ev.reported()
	for _, m := range measures {
		cols = append(cols, ev.Measures[m].Name)
	}
	if steps {
		cols = append([]string{"inner steps"}, cols...)
	}
	row(&b, cols)
	b.WriteString("|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, s := range rows {
		i := slices.Index(ev.Steps, s)
		if i < 0 {
			continue
		}
		cells := []string{ev.Loss[i].String()}
		if ev.Classification {
			cells = []string{ev.Accuracy[i].Percent(), ev.Loss[i].String()}
		}
		for _, name := range ev.ExtraNames() {
			cells = append(cells, ev.Extra[name][i].String())
		}
		for _, m := range measures {
			if ev.Measures[m].Percent {
				cells = append(cells, ev.Measured[i][m].Percent())
			} else {
				cells = append(cells, ev.Measured[i][m].String())
			}
		}
		if steps {
			cells = append([]string{fmt.Sprint(s)}, cells...)
		}
		row(&b, cells)
	}
	return b.String()
}

// reported lists the measures some task reported (in Measured, N > 0 at
// some row), by index: the table leaves the others out, e.g. the 10th
// instance of episodes that show each class twice.
func (ev Evaluation) reported() []int {
	var ms []int
	for m := range ev.Measures {
		for _, row := range ev.Measured {
			if row[m].N > 0 {
				ms = append(ms, m)
				break
			}
		}
	}
	return ms
}

// row writes one Markdown table row.
func row(b *strings.Builder, cells []string) {
	fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
}
