package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Per-step batch norm in the optimization-based learners (Antoniou,
// Edwards & Storkey, "How to train your MAML", ICLR 2019, §4: BNWB and
// BNRS). A model whose batch norm depends on the inner step
// (models.Stepped with StepNorm) is run by every Gradient learner as the
// paper's code runs it:
//
//   - inner step s's support pass and the query pass after it use step
//     s's set (the query before any step, set 0);
//   - the per-step scales and shifts are meta-parameters the inner loop
//     leaves alone;
//   - in meta-training every pass normalises with its batch's statistics,
//     which then move the step's running statistics, task after task in
//     meta-batch order (so the result does not depend on the workers);
//   - evaluation (Adapt) normalises with the running statistics when
//     Options.RunningStatsEval says so, else with each batch's own.
//
// Checkpoints keep the running statistics (SaveState).

// statsKey is where SaveState puts the running statistics in a checkpoint.
const statsKey = "batchnorm"

// refuseStepNorm is for learners that run a model as it is, without inner
// steps to give it.
func refuseStepNorm(name string, m models.Model) error {
	if s, ok := m.(models.Stepped); ok && s.StepNorm().Enabled() {
		return fmt.Errorf("%s: model %s has per-step batch norm, which needs a learner that unrolls an inner loop (maml, fomaml, metasgd, anil, mamlpp)", name, m.Name())
	}
	return nil
}

// initStepNorm finds a model with per-step batch norm and allocates its
// running statistics.
func (e *engine) initStepNorm() {
	if s, ok := e.model.(models.Stepped); ok && s.StepNorm().Enabled() {
		e.stepped = s
		e.stats = models.NewRunningStats(s, e.opts.Dtype)
	}
}

// fixStepWeights takes the per-step scales and shifts out of the inner
// loop: they are learnt by the outer loop only.
func (e *engine) fixStepWeights() {
	if e.stepped == nil {
		return
	}
	fixed := map[string]bool{}
	for s := 0; s < e.stepped.StepNorm().Steps; s++ {
		for _, n := range e.stepped.StepWeights(s) {
			fixed[n] = true
		}
	}
	if len(fixed) == 0 {
		return
	}
	if e.adapted == nil {
		e.adapted = map[string]bool{}
		for _, n := range e.modelNames {
			e.adapted[n] = true
		}
	}
	e.adapting = nil
	for _, n := range e.modelNames {
		if fixed[n] {
			delete(e.adapted, n)
		}
		if e.adapted[n] {
			e.adapting = append(e.adapting, n)
		}
	}
}

// forward builds the model's output at inner step s; in training mode
// (eval false) it appends every batch norm's statistics to rec, when rec
// is not nil.
func (e *engine) forward(w graph.Weights, x *G.Node, s int, eval bool, rec *[]models.BatchStat) *G.Node {
	if e.stepped == nil {
		return e.model.Forward(w, x)
	}
	n := models.Norm{Eval: eval}
	if rec != nil {
		n.Record = func(b models.BatchStat) { *rec = append(*rec, b) }
	}
	return e.stepped.ForwardStep(w, x, s, n)
}

// batchValues are one forward pass's batch statistics of one batch norm.
type batchValues struct {
	stat           models.BatchStat
	mean, variance []float64
}

// keepBatchStats copies the batch statistics of the worker's last run
// into task i's slot.
func (e *engine) keepBatchStats(w *worker, i int) {
	if e.stats == nil {
		return
	}
	slot := e.statSlots[i][:0]
	for _, b := range w.obj.batch {
		v := batchValues{stat: b, mean: make([]float64, b.BatchMean.Shape().TotalSize()), variance: make([]float64, b.BatchVar.Shape().TotalSize())}
		graph.ToFloat64s(v.mean, w.run.Value(b.BatchMean))
		graph.ToFloat64s(v.variance, w.run.Value(b.BatchVar))
		slot = append(slot, v)
	}
	e.statSlots[i] = slot
}

// updateRunningStats folds the batch statistics of the first n tasks'
// slots into the running statistics, task by task and, within a task, in
// the order the passes were built (each step's support pass before its
// query pass).
func (e *engine) updateRunningStats(n int) error {
	if e.stats == nil {
		return nil
	}
	for i := 0; i < n; i++ {
		for _, v := range e.statSlots[i] {
			if err := e.stats.Update(v.stat, v.mean, v.variance); err != nil {
				return err
			}
		}
	}
	return nil
}

// describeStepNorm says what per-step batch norm the learner runs, "" for
// none.
func (e *engine) describeStepNorm() string {
	if e.stepped == nil {
		return ""
	}
	sn := e.stepped.StepNorm()
	var what string
	switch {
	case sn.Weights && sn.Running:
		what = "weights and running statistics"
	case sn.Weights:
		what = "weights"
	default:
		what = "running statistics"
	}
	return fmt.Sprintf("batch norm %s per step (%d sets)", what, sn.Steps)
}

// SaveState saves the running statistics of a model with per-step batch
// norm (ck.States["batchnorm"], one slot per statistic in the model's
// order, as float64); nothing for other models.
func (e *engine) SaveState(ck *graph.Checkpoint) {
	if e.stats == nil {
		return
	}
	vals := make([][]float64, len(e.stats.Values))
	for i, v := range e.stats.Values {
		vals[i] = make([]float64, v.Shape().TotalSize())
		graph.ToFloat64s(vals[i], v)
	}
	if ck.States == nil {
		ck.States = map[string]graph.OptimizerState{}
	}
	ck.States[statsKey] = graph.OptimizerState{Kind: "running-stats", Slots: [][][]float64{vals}}
}

// LoadState restores what SaveState saved, and puts the learner after
// iterations outer steps (base.LoadState).
func (e *engine) LoadState(ck *graph.Checkpoint, iterations int) error {
	if err := e.base.LoadState(ck, iterations); err != nil {
		return err
	}
	if e.stats == nil {
		return nil
	}
	st, ok := ck.States[statsKey]
	if !ok {
		return fmt.Errorf("%s: the checkpoint has no running statistics for %s's per-step batch norm", e.name, e.model.Name())
	}
	if st.Kind != "running-stats" || len(st.Slots) != 1 || len(st.Slots[0]) != len(e.stats.Values) {
		return fmt.Errorf("%s: the checkpoint's batch-norm state (%s, %d slots) does not fit %d running statistics", e.name, st.Kind, len(st.Slots), len(e.stats.Values))
	}
	for i, v := range e.stats.Values {
		if len(st.Slots[0][i]) != v.Shape().TotalSize() {
			return fmt.Errorf("%s: running statistic %s: %d values in the checkpoint, want %d", e.name, e.stats.Names[i], len(st.Slots[0][i]), v.Shape().TotalSize())
		}
	}
	for i, v := range e.stats.Values {
		graph.SetFloat64s(v, st.Slots[0][i])
	}
	return nil
}

// RunningStats returns the running statistics of a model with per-step
// batch norm (models.StepNorm.Running), nil for other models.
func (e *engine) RunningStats() *models.RunningStats { return e.stats }

// adaptSets lets one compiled adaptation graph (adapt.go) run every inner
// step of a model with per-step batch norm: the graph is built at step 0,
// and before each run the inputs of step 0's set (its scales and shifts,
// and in evaluation its running statistics) are fed the values of the set
// of the step being run. A nil *adaptSets is a model without per-step
// batch norm: every weight an input, fed its own value.
type adaptSets struct {
	steps int
	// pos[i] is model weight i's place in its step's set, −1 for the
	// others; input[i] says whether weight i is an input of the graph
	// (all but the sets after the first); setIx[k][j] is the model index
	// of set k's j-th weight.
	pos   []int
	input []bool
	setIx [][]int
	// stats are the running statistics (nil without them, or when
	// evaluation normalises with each batch's statistics), statNodes the inputs of set 0's and statNames[k][j] the name
	// of set k's j-th.
	stats     *models.RunningStats
	statNodes []*G.Node
	statNames [][]string
}

// newAdaptSets returns the engine's adaptSets, nil without per-step batch
// norm.
func (e *engine) newAdaptSets() *adaptSets {
	if e.stepped == nil {
		return nil
	}
	sn := e.stepped.StepNorm()
	as := &adaptSets{steps: sn.Steps}
	if e.opts.RunningStatsEval {
		as.stats = e.stats
	}
	idx := map[string]int{}
	for i, n := range e.modelNames {
		idx[n] = i
		as.pos = append(as.pos, -1)
		as.input = append(as.input, true)
	}
	for k := 0; k < sn.Steps; k++ {
		names := e.stepped.StepWeights(k)
		ix := make([]int, len(names))
		for j, n := range names {
			ix[j] = idx[n]
			if k == 0 {
				as.pos[ix[j]] = j
			} else {
				as.input[ix[j]] = false
			}
		}
		as.setIx = append(as.setIx, ix)
		if as.stats != nil {
			var sn []string
			for _, st := range e.stepped.RunningStats(k) {
				sn = append(sn, st.Name)
			}
			as.statNames = append(as.statNames, sn)
		}
	}
	return as
}

// hasInput reports whether model weight i is an input of the graph.
func (as *adaptSets) hasInput(i int) bool { return as == nil || as.input[i] }

// set is the set inner step s uses.
func (as *adaptSets) set(s int) int {
	if as == nil {
		return 0
	}
	return max(min(s, as.steps-1), 0)
}

// source is the model weight whose value input i takes with set k.
func (as *adaptSets) source(i, k int) int {
	if as == nil || as.pos[i] < 0 {
		return i
	}
	return as.setIx[k][as.pos[i]]
}

// addStats adds inputs for set 0's running statistics to g and wt, in
// evaluation mode.
func (as *adaptSets) addStats(g *G.ExprGraph, dt tensor.Dtype, wt graph.Weights) graph.Weights {
	if as == nil || as.stats == nil {
		return wt
	}
	for _, name := range as.statNames[0] {
		shape := as.stats.Get(name).Shape()
		n := G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName("stat."+name))
		as.statNodes = append(as.statNodes, n)
		wt.Names, wt.Nodes = append(wt.Names, name), append(wt.Nodes, n)
	}
	return wt
}

// feedStats feeds set k's running statistics to r.
func (as *adaptSets) feedStats(r *graph.Runner, k int) error {
	if as == nil {
		return nil
	}
	for j, n := range as.statNodes {
		if err := r.Feed(n, as.stats.Get(as.statNames[k][j])); err != nil {
			return err
		}
	}
	return nil
}
