package graph

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Update is one optimizer step with what goes around it in training: the
// learning rate of a Schedule and clipping of the gradients' global norm.
// models.Trainer and the meta-learners of package metalearn all step their
// optimizers through it, so every one of them has the same schedules and
// the same clipping.
type Update struct {
	// Opt is the optimizer.
	Opt Optimizer
	// Schedule, when not nil, sets Opt's learning rate before every step
	// to Schedule.Rate(Base, t) (Opt must be an LRSetter). nil leaves the
	// rate as it is.
	Schedule Schedule
	// Base is the schedule's initial learning rate.
	Base float64
	// ClipNorm, when above 0, scales the gradients so that their global
	// L2 norm (over all of them together) is at most ClipNorm before the
	// step (ClipGradNorm). 0 leaves them as they are.
	ClipNorm float64
}

// Step takes step t of the run (counting from 0): it sets the optimizer's
// rate to the schedule's for t, clips grads in place, steps, and then
// sets the rate of step t+1, so that the optimizer's state (a checkpoint,
// a banner) shows the rate of the next step.
func (u Update) Step(t int, params, grads []*tensor.Dense) error {
	var lr LRSetter
	if u.Schedule != nil {
		var ok bool
		if lr, ok = u.Opt.(LRSetter); !ok {
			return fmt.Errorf("%s: a learning-rate schedule needs an optimizer whose rate can be set", u.Opt.Name())
		}
		lr.SetLR(u.Schedule.Rate(u.Base, t))
	}
	if u.ClipNorm > 0 {
		ClipGradNorm(grads, u.ClipNorm)
	}
	if err := u.Opt.Step(params, grads); err != nil {
		return err
	}
	if lr != nil {
		lr.SetLR(u.Schedule.Rate(u.Base, t+1))
	}
	return nil
}

// SetStep sets the optimizer's rate to the schedule's for step t, e.g.
// after restoring a checkpoint, so that its state shows the rate of the
// next step. It does nothing without a schedule.
func (u Update) SetStep(t int) {
	if s, ok := u.Opt.(LRSetter); ok && u.Schedule != nil {
		s.SetLR(u.Schedule.Rate(u.Base, t))
	}
}
