package metalearn

import (
	"fmt"
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
	// Measures describes the measures of Extra, in the order of the
	// table's columns, with their defaults filled in (see Measure).
	Measures []Measure
	// Extra[name][i] summarises the measure name of Adaptation.Extra
	// after Steps[i] inner steps over the tasks it applies to (those
	// without NaN), for each measure every task reports (CNP: NLL; MANN:
	// its accuracy by instance); nil if there are none.
	Extra map[string][]stats.Summary
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
	return EvaluateStream(l, func(first, n int) []Task { return tasks[first : first+n] }, len(tasks), at)
}

// EvalChunk is the number of tasks EvaluateStream builds and adapts to at
// a time.
const EvalChunk = 32

// EvaluateStream is EvaluateAt over total tasks that tasks(first, n) builds
// EvalChunk at a time (tasks first … first+n−1), so that only one chunk of
// tasks is in memory: 600 mini-ImageNet episodes of 5-way 5-shot with 15
// queries per class take 10 GB as float64 tasks, a chunk 0.5 GB. The
// result is EvaluateAt's on all the tasks at once.
func EvaluateStream(l Learner, tasks func(first, n int) []Task, total int, at []int) (Evaluation, error) {
	if total <= 0 {
		return Evaluation{}, fmt.Errorf("evaluate: no tasks")
	}
	if err := checkSteps(at); err != nil {
		return Evaluation{}, fmt.Errorf("evaluate: %w", err)
	}
	res := make([]Adaptation, 0, total)
	for first := 0; first < total; first += EvalChunk {
		part, err := AdaptAtSteps(l, tasks(first, min(EvalChunk, total-first)), at)
		if err != nil {
			return Evaluation{}, err
		}
		res = append(res, part...)
	}
	return summarizeAdaptations(l, res, at), nil
}

// summarizeAdaptations is the Evaluation of the results res of adapting
// with AdaptAtSteps(l, tasks, at).
func summarizeAdaptations(l Learner, res []Adaptation, at []int) Evaluation {
	ev := Evaluation{Tasks: len(res), Steps: at, Measures: measuresOf(l, res)}
	for k, s := range at {
		loss, acc := make([]float64, len(res)), make([]float64, len(res))
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
			for _, m := range ev.Measures {
				more[m.Name] = append(more[m.Name], r.Extra[m.Name][min(j, len(r.Extra[m.Name])-1)])
			}
		}
		ev.Loss = append(ev.Loss, stats.Summarize(loss))
		ev.Accuracy = append(ev.Accuracy, stats.Summarize(acc))
		for _, m := range ev.Measures {
			if ev.Extra == nil {
				ev.Extra = map[string][]stats.Summary{}
			}
			ev.Extra[m.Name] = append(ev.Extra[m.Name], summarizeNumbers(more[m.Name]))
		}
	}
	return ev
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
// empty), with a column for each of the Measures after the loss, but for
// those no task had a number for (e.g. the 10th instance of episodes that
// show each class twice). When the only row is 0 steps (a learner without
// an inner loop, such as ProtoNet) the steps column is left out.
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
	measures := ev.reported()
	for _, m := range measures {
		cols = append(cols, m.Column)
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
		for _, m := range measures {
			if m.Percent {
				cells = append(cells, ev.Extra[m.Name][i].Percent())
			} else {
				cells = append(cells, ev.Extra[m.Name][i].String())
			}
		}
		if steps {
			cells = append([]string{fmt.Sprint(s)}, cells...)
		}
		row(&b, cells)
	}
	return b.String()
}

// reported lists the Measures some task had a number for (N > 0 after
// some number of steps): the table's columns.
func (ev Evaluation) reported() []Measure {
	var ms []Measure
	for _, m := range ev.Measures {
		if slices.ContainsFunc(ev.Extra[m.Name], func(s stats.Summary) bool { return s.N > 0 }) {
			ms = append(ms, m)
		}
	}
	return ms
}

// row writes one Markdown table row.
func row(b *strings.Builder, cells []string) {
	fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
}
