package metalearn

import (
	"github.com/metagon/metagon/graph"
	"gorgonia.org/tensor"
)

// gradSlots is the reduction every learner that splits its meta-batch
// across processes shares (Comm): one float64 slot per task and
// meta-parameter for the task's gradient (or Reptile's move), and their
// mean over the meta-batch in the meta-parameters' dtype, as the outer
// optimizer takes it. The mean sums the slots in task order, g₀ + g₁ + …,
// continued from rank to rank (taskShare.fold), so it does not depend on
// the number of workers or processes; for a meta-batch of one task it is
// that task's gradient, bit for bit.
type gradSlots struct {
	slots [][][]float64 // per task, per meta-parameter
	mean  []*tensor.Dense
}

// ensureGradSlots allocates slots for n tasks over the meta-parameters p,
// and the mean gradient in dtype dt.
func (g *gradSlots) ensureGradSlots(p *graph.Params, dt tensor.Dtype, n int) {
	for len(g.slots) < n {
		s := make([][]float64, len(p.List))
		for j, par := range p.List {
			s[j] = make([]float64, par.Value.Shape().TotalSize())
		}
		g.slots = append(g.slots, s)
	}
	if g.mean == nil {
		for _, par := range p.List {
			g.mean = append(g.mean, tensor.New(tensor.Of(dt), tensor.WithShape(par.Value.Shape()...)))
		}
	}
}

// slotSize is the number of values of one task's slot.
func (g *gradSlots) slotSize() int {
	total := 0
	for _, s := range g.slots[0] {
		total += len(s)
	}
	return total
}

// addSlot adds task i's slot to acc, the running sum of the tasks before
// it (flattened in meta-parameter order); task 0's is copied, so that the
// sum of one task is its slot exactly (0 + (−0) would be +0).
func (g *gradSlots) addSlot(acc []float64, i int) {
	off := 0
	for _, s := range g.slots[i] {
		if i == 0 {
			copy(acc[off:], s)
		} else {
			for k, v := range s {
				acc[off+k] += v
			}
		}
		off += len(s)
	}
}

// averageSlots writes the mean of the meta-batch's slots into g.mean,
// adding the tasks in order (continued across processes, see Comm).
func (g *gradSlots) averageSlots(sh taskShare) error {
	acc := make([]float64, g.slotSize())
	if err := sh.fold(acc, g.addSlot); err != nil {
		return err
	}
	g.setMean(acc, sh.n)
	return nil
}

// setMean divides sum, the slots' sum, by n into g.mean.
func (g *gradSlots) setMean(sum []float64, n int) {
	off := 0
	for j, s := range g.slots[0] {
		part := sum[off : off+len(s)]
		for k := range part {
			part[k] /= float64(n)
		}
		graph.SetFloat64s(g.mean[j], part)
		off += len(s)
	}
}
