package metalearn

import "github.com/metagon/metagon/models"

// MAMLOptions configures MAML.
type MAMLOptions struct {
	Options
	// FirstOrder selects first-order MAML.
	FirstOrder bool
}

// NewMAML returns Model-Agnostic Meta-Learning (Finn, Abbeel & Levine,
// "Model-Agnostic Meta-Learning for Fast Adaptation of Deep Networks",
// ICML 2017) for model m, named "maml":
//
//	for each task:  θ′ = θ − α∇L_support(θ)   (Options.InnerSteps times)
//	θ ← θ − β ∇_θ Σ_tasks L_query(θ′)         (the outer optimizer)
//
// The meta-gradient goes through the whole unrolled inner loop (second
// order). With FirstOrder the inner gradients are treated as constants
// ("fomaml"), and the meta-gradient is the query gradient at θ′.
func NewMAML(m models.Model, o MAMLOptions) (*Gradient, error) {
	name := "maml"
	if o.FirstOrder {
		name = "fomaml"
	}
	return NewGradient(name, m, GradientOptions{Options: o.Options, FirstOrder: o.FirstOrder})
}
