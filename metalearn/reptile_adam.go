package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
)

// Reptile's carried inner Adam (ReptileOptions.CarryAdam): Nichol et al.'s
// code resets only the model's weights between tasks, so the inner Adam's
// moments and step count run on from task to task, through meta-training
// and into evaluation. Here the tasks of a meta-batch run in parallel from
// the same carried state, and mergeAdam folds their final states back.

// innerAdam returns a fresh inner-loop Adam: β₁ ≈ 0 (a zero field would
// select the default 0.9), β₂ = 0.999.
func (l *Reptile) innerAdam() *graph.Adam {
	return &graph.Adam{LR: l.engine.opts.InnerLR, Beta1: 1e-12, Beta2: 0.999}
}

// InnerState returns a copy of the carried inner-Adam state (CarryAdam),
// for checkpoints; its Kind is empty before the first meta-step.
func (l *Reptile) InnerState() graph.OptimizerState { return l.inner.Clone() }

// SetInnerState replaces the carried inner-Adam state (after resuming
// from a checkpoint) with a copy of s, which must be an Adam's.
func (l *Reptile) SetInnerState(s graph.OptimizerState) error {
	if err := l.innerAdam().SetState(s); err != nil {
		return fmt.Errorf("reptile: inner state: %w", err)
	}
	l.inner = s.Clone()
	return nil
}

// mergeAdam folds the final inner-Adam states of one meta-batch into the
// carried state prev, as if the tasks had run one after another from it
// (Nichol et al. train them sequentially; here they run in parallel from
// the same state). Task i took k = finals[i].Step − prev.Step steps, so its
// second moment is β₂ᵏ·v + δᵢ, where δᵢ is what its gradients added; the
// merge is β₂ⁿᵏ·v + Σᵢ δᵢ over n tasks, exact up to the decay of the
// earlier tasks' δᵢ (β₂^(n·k) ≈ 0.98 for 5 tasks of 5 steps). The first
// moment, the last gradient when β₁ ≈ 0, is averaged; the step count
// advances by n·k.
func mergeAdam(prev graph.OptimizerState, finals []graph.OptimizerState, beta2 float64) graph.OptimizerState {
	n := len(finals)
	if n == 0 {
		return prev
	}
	k := finals[0].Step - prev.Step
	out := graph.OptimizerState{Kind: finals[0].Kind, LR: finals[0].LR, Step: prev.Step + int64(n)*k}
	decayTask := math.Pow(beta2, float64(k))
	decayAll := math.Pow(beta2, float64(int64(n)*k))
	m, v := make([][]float64, len(finals[0].Slots[0])), make([][]float64, len(finals[0].Slots[1]))
	for p := range m {
		size := len(finals[0].Slots[0][p])
		m[p], v[p] = make([]float64, size), make([]float64, size)
		for j := range size {
			var pv float64 // no slots before the first step: v = 0
			if len(prev.Slots) == 2 {
				pv = prev.Slots[1][p][j]
			}
			v[p][j] = decayAll * pv
			for _, f := range finals {
				m[p][j] += f.Slots[0][p][j] / float64(n)
				v[p][j] += f.Slots[1][p][j] - decayTask*pv
			}
		}
	}
	out.Slots = [][][]float64{m, v}
	return out
}
