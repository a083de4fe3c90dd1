package metalearn

import (
	"fmt"
	"strings"

	"github.com/metagon/metagon/internal/stats"
)

// Evaluation reports how well a learner adapts to held-out tasks, the way
// papers do: the mean query loss (and accuracy) over the tasks after each
// number of inner steps, with 95% confidence intervals 1.96·std/√n.
type Evaluation struct {
	// Loss[s] and Accuracy[s] summarise the tasks after s inner steps.
	Loss, Accuracy []stats.Summary
	// Tasks is the number of tasks evaluated.
	Tasks int
	// Classification reports whether Accuracy is meaningful.
	Classification bool
}

// Evaluate adapts l to every task with up to steps inner steps.
func Evaluate(l Learner, tasks []Task, steps int) (Evaluation, error) {
	if len(tasks) == 0 {
		return Evaluation{}, fmt.Errorf("evaluate: no tasks")
	}
	res, err := l.Adapt(tasks, steps)
	if err != nil {
		return Evaluation{}, err
	}
	ev := Evaluation{Tasks: len(tasks)}
	for s := 0; s <= steps; s++ {
		loss, acc := make([]float64, len(res)), make([]float64, len(res))
		for i, r := range res {
			at := min(s, len(r.Loss)-1) // learners that do not adapt report one entry
			loss[i], acc[i] = r.Loss[at], r.Accuracy[at]
			if acc[i] != 0 {
				ev.Classification = true
			}
		}
		ev.Loss = append(ev.Loss, stats.Summarize(loss))
		ev.Accuracy = append(ev.Accuracy, stats.Summarize(acc))
	}
	return ev, nil
}

// Table formats the evaluation as a Markdown table, one row per number of
// inner steps listed in rows (all steps if rows is empty).
func (ev Evaluation) Table(rows ...int) string {
	if len(rows) == 0 {
		for s := range ev.Loss {
			rows = append(rows, s)
		}
	}
	var b strings.Builder
	if ev.Classification {
		fmt.Fprintf(&b, "| inner steps | query accuracy (%d tasks, 95%% CI) | query loss |\n|---|---|---|\n", ev.Tasks)
	} else {
		fmt.Fprintf(&b, "| inner steps | query MSE (%d tasks, 95%% CI) |\n|---|---|\n", ev.Tasks)
	}
	for _, s := range rows {
		if s >= len(ev.Loss) {
			continue
		}
		if ev.Classification {
			fmt.Fprintf(&b, "| %d | %s | %s |\n", s, ev.Accuracy[s].Percent(), ev.Loss[s])
		} else {
			fmt.Fprintf(&b, "| %d | %s |\n", s, ev.Loss[s])
		}
	}
	return b.String()
}
