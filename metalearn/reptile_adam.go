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
	if len(finals) == 0 {
		return prev
	}
	a := newAdamMerge(prev, len(finals), finals[0], beta2)
	acc := make([]float64, a.size())
	a.start(acc)
	for _, f := range finals {
		a.add(acc, f)
	}
	return a.state(acc)
}

// adamMerge is mergeAdam as a left fold over the tasks in task order, so
// that processes can continue it from rank to rank (Comm): start writes
// the starting value into a flat accumulator, m then v, every parameter's
// values in turn; add folds in one task's final state; state reads the
// merged state.
type adamMerge struct {
	prev                graph.OptimizerState
	n                   int
	k                   int64
	kind                string
	lr                  float64
	decayTask, decayAll float64
	sizes               []int
}

// newAdamMerge prepares the merge of n tasks' final states into prev;
// first is one of them (every task takes the same number of steps).
func newAdamMerge(prev graph.OptimizerState, n int, first graph.OptimizerState, beta2 float64) adamMerge {
	k := first.Step - prev.Step
	a := adamMerge{prev: prev, n: n, k: k, kind: first.Kind, lr: first.LR,
		decayTask: math.Pow(beta2, float64(k)), decayAll: math.Pow(beta2, float64(int64(n)*k))}
	for _, s := range first.Slots[0] {
		a.sizes = append(a.sizes, len(s))
	}
	return a
}

// size is the accumulator's length.
func (a adamMerge) size() int {
	n := 0
	for _, s := range a.sizes {
		n += 2 * s
	}
	return n
}

// prevV is value j of parameter p's second moment before the meta-batch
// (0 before the first step, which has no slots).
func (a adamMerge) prevV(p, j int) float64 {
	if len(a.prev.Slots) == 2 {
		return a.prev.Slots[1][p][j]
	}
	return 0
}

func (a adamMerge) start(acc []float64) {
	half, off := len(acc)/2, 0
	for p, size := range a.sizes {
		for j := range size {
			acc[off+j] = 0
			acc[half+off+j] = a.decayAll * a.prevV(p, j)
		}
		off += size
	}
}

func (a adamMerge) add(acc []float64, f graph.OptimizerState) {
	half, off := len(acc)/2, 0
	for p, size := range a.sizes {
		for j := range size {
			acc[off+j] += f.Slots[0][p][j] / float64(a.n)
			acc[half+off+j] += f.Slots[1][p][j] - a.decayTask*a.prevV(p, j)
		}
		off += size
	}
}

func (a adamMerge) state(acc []float64) graph.OptimizerState {
	out := graph.OptimizerState{Kind: a.kind, LR: a.lr, Step: a.prev.Step + int64(a.n)*a.k}
	half, off := len(acc)/2, 0
	m, v := make([][]float64, len(a.sizes)), make([][]float64, len(a.sizes))
	for p, size := range a.sizes {
		m[p] = append([]float64(nil), acc[off:off+size]...)
		v[p] = append([]float64(nil), acc[half+off:half+off+size]...)
		off += size
	}
	out.Slots = [][][]float64{m, v}
	return out
}
