package metalearn

import "github.com/metagon/metagon/models"

// NewANIL returns ANIL, "Almost No Inner Loop" (Raghu, Raghu, Bengio &
// Vinyals, "Rapid Learning or Feature Reuse? Towards Understanding the
// Effectiveness of MAML", ICLR 2020): MAML in which only the named weights
// (the head) adapt in the inner loop, while the body is meta-learned
// through the query loss alone. head names the adapted weights, e.g.
// ["w3", "b3"] for a three-layer MLP or ["fc.w", "fc.b"] for Conv-4.
func NewANIL(m models.Model, head []string, o MAMLOptions) (*Gradient, error) {
	name := "anil"
	if o.FirstOrder {
		name = "foanil"
	}
	if head == nil {
		head = []string{}
	}
	return NewGradient(name, m, GradientOptions{Options: o.Options, Adapt: head, FirstOrder: o.FirstOrder})
}
