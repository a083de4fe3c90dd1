package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/models"
)

// NewANIL returns ANIL, "Almost No Inner Loop" (Raghu, Raghu, Bengio &
// Vinyals, "Rapid Learning or Feature Reuse? Towards Understanding the
// Effectiveness of MAML", ICLR 2020): MAML in which only the named weights
// (the head) adapt in the inner loop, while the body is meta-learned
// through the query loss alone. head names the adapted weights, e.g.
// ["w3", "b3"] for a three-layer MLP or ["fc.w", "fc.b"] for Conv-4.
func NewANIL(m models.Model, head []string, o MAMLOptions) (*MAML, error) {
	l, err := NewMAML(m, o)
	if err != nil {
		return nil, err
	}
	l.name = "anil"
	if o.FirstOrder {
		l.name = "foanil"
	}
	l.adapted = map[string]bool{}
	for _, h := range head {
		if l.params.Get(h) == nil {
			return nil, fmt.Errorf("anil: head weight %q is not a weight of %s (have %v)", h, m.Name(), l.modelNames)
		}
		l.adapted[h] = true
	}
	if len(l.adapted) == 0 {
		return nil, fmt.Errorf("anil: no head weights named")
	}
	return l, nil
}

// HeadOf returns the weights of a model's last layer, the usual ANIL head:
// the last two weights in the model's order (a layer's weight and bias).
func HeadOf(l Learner) []string {
	names := []string{}
	for _, p := range l.Params().List {
		names = append(names, p.Name)
	}
	if len(names) < 2 {
		return names
	}
	return names[len(names)-2:]
}
