package metalearn

import "github.com/metagon/metagon/models"

// MetaSGDOptions configures Meta-SGD.
type MetaSGDOptions struct {
	Options
	// PerStep learns separate rates for each inner step.
	PerStep bool
}

// NewMetaSGD returns Meta-SGD (Li, Zhou, Chen & Li, "Meta-SGD: Learning to
// Learn Quickly for Few-Shot Learning", 2017) for model m: MAML whose
// inner learning rate is itself meta-learned, one rate per weight element,
// θ′ = θ − α ⊙ ∇L (the PerParameter rule). The rates are meta-parameters
// named "lr.<weight>" (or "lr.<weight>.<step>" with PerStep), initialised
// to Options.InnerLR and trained with θ by the same second-order
// meta-gradient.
func NewMetaSGD(m models.Model, o MetaSGDOptions) (*Gradient, error) {
	lr := o.InnerLR
	if lr == 0 {
		lr = o.withDefaults().InnerLR
	}
	return NewGradient("metasgd", m, GradientOptions{Options: o.Options, Rule: &PerParameter{Init0: lr, PerStep: o.PerStep}})
}
