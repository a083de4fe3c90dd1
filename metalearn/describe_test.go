package metalearn

import (
	"strings"
	"testing"

	"github.com/metagon/metagon/internal/stats"
	"github.com/metagon/metagon/models"
)

// TestDescribe: each learner describes its own method; ProtoNet says it
// has no inner steps and does not talk about α.
func TestDescribe(t *testing.T) {
	o := Options{Spec: SinusoidSpec(5, 5), InnerSteps: 3, InnerLR: 0.02}
	maml, err := NewMAML(models.SinusoidMLP(), MAMLOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	anil, err := NewANIL(models.SinusoidMLP(), []string{"w3", "b3"}, MAMLOptions{Options: o})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := NewReptile(models.SinusoidMLP(), ReptileOptions{Options: o, OuterLR: 0.5, Iterations: 70, InnerAdam: true, CarryAdam: true})
	if err != nil {
		t.Fatal(err)
	}
	po := o
	po.Spec = Spec{Support: 10, Query: 10, Input: []int{1, 28, 28}, Classes: 5}
	proto, err := NewProtoNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28, Filters: 4}, ProtoNetOptions{Options: po, LR: 0.003})
	if err != nil {
		t.Fatal(err)
	}
	mn, err := NewMatchingNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28, Filters: 4}, MatchingNetOptions{
		MetricOptions: MetricOptions{Options: po}, FCE: true, ProcessingSteps: 3})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		l    Describer
		want []string
		not  []string
	}{
		{maml, []string{"3 inner steps, SGD, α = 0.02", "outer adam, lr 0.001"}, nil},
		{anil, []string{"on w3, b3 only"}, nil},
		{rep, []string{"3 inner steps of Adam (carried", "ε = 0.5, annealed to 0 over 70 iterations"}, []string{"outer adam"}},
		{proto, []string{"no inner steps", "lr 0.003"}, []string{"α"}},
		{mn, []string{"no inner steps", "cosine", "full context embeddings (K = 3)", "halved every 2000"}, []string{"α"}},
	}
	for _, c := range cases {
		d := c.l.Describe()
		for _, w := range c.want {
			if !strings.Contains(d, w) {
				t.Errorf("%q: want %q in it", d, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(d, w) {
				t.Errorf("%q: should not mention %q", d, w)
			}
		}
	}
}

// TestTableColumns: the table has a steps column unless the only row is 0
// steps (ProtoNet), and a line per row.
func TestTableColumns(t *testing.T) {
	ev := Evaluation{Steps: []int{0, 1}, Tasks: 3, Classification: true}
	for range ev.Steps {
		ev.Loss = append(ev.Loss, stats.Summarize([]float64{1, 2, 3}))
		ev.Accuracy = append(ev.Accuracy, stats.Summarize([]float64{0.5, 0.6, 0.7}))
	}
	if tab := ev.Table(0, 1); !strings.HasPrefix(tab, "| inner steps |") || strings.Count(tab, "\n") != 4 {
		t.Errorf("two rows:\n%s", tab)
	}
	if tab := ev.Table(0); strings.Contains(tab, "inner steps") || strings.Count(tab, "\n") != 3 || !strings.Contains(tab, "| 60.00 ± ") {
		t.Errorf("one row at 0 steps:\n%s", tab)
	}
}
