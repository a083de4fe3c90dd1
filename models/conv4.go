package models

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
)

// Conv4 is the four-block convolutional network of the few-shot literature
// (Vinyals et al. 2016; Finn et al. 2017; Snell et al. 2017): each block is
// a 3×3 convolution (padding 1), batch norm with batch statistics, ReLU and
// 2×2 max-pool. With Classes > 0 a linear head maps the flattened features
// to logits; with Classes = 0 the flattened features are the output (the
// embedding of Prototypical Networks).
//
// With Pools = 2 only the first two blocks pool, so 28×28 Omniglot images
// become 64 feature maps of 7×7 rather than 1×1: the embedding of Relation
// Networks (Sung et al., "Learning to Compare: Relation Network for
// Few-Shot Learning", CVPR 2018), whose relation module convolves pairs of
// such maps. FeatureShape gives their shape.
//
// With PerStep, batch norm depends on the inner-loop step, as in MAML++
// (per-step scales and shifts, per-step running statistics; see StepNorm
// and ForwardStep).
//
// Parameters: conv1.w (F, C, 3, 3), bn1.scale (F), bn1.shift (F), ... for
// four blocks, then fc.w and fc.b when there is a head. With
// PerStep.Weights each block has bn1.scale.1, bn1.shift.1, …,
// bn1.scale.S, bn1.shift.S in place of bn1.scale and bn1.shift, one pair
// per step; with PerStep.Running its running statistics are bn1.mean.1,
// bn1.var.1, …, per step (RunningStats), which are not parameters.
type Conv4 struct {
	// InChannels, Height and Width give one example's shape.
	InChannels, Height, Width int
	// Filters is the number of filters per block. If zero, a default of 64
	// is used.
	Filters int
	// Classes is the width of the linear head; 0 for no head.
	Classes int
	// Pools is the number of leading blocks that end in a 2×2 max-pool;
	// the other blocks keep their input's height and width. If zero, a
	// default of 4 is used (every block pools); negative means none.
	Pools int
	// PerStep makes batch norm depend on the inner-loop step (MAML++'s
	// BNWB and BNRS); zero: the same batch norm at every step, with batch
	// statistics.
	PerStep StepNorm
	// Dropout is the rate of inverted dropout on the flattened features
	// before the head in training (ForwardTrain; see Stochastic); 0: none.
	// It needs a head (Classes > 0) and leaves the parameters and Name
	// alone.
	Dropout float64
	// ModelName overrides Name.
	ModelName string
}

func (m *Conv4) filters() int {
	if m.Filters == 0 {
		return 64
	}
	return m.Filters
}

// pools returns the number of pooling blocks (Pools with its default).
func (m *Conv4) pools() int {
	switch {
	case m.Pools == 0:
		return 4
	case m.Pools < 0:
		return 0
	}
	return m.Pools
}

// featureShape returns the spatial size after the four blocks.
func (m *Conv4) featureShape() (h, w int) {
	h, w = m.Height, m.Width
	for i := 0; i < m.pools(); i++ {
		h, w = h/2, w/2
	}
	return h, w
}

// FeatureShape returns the shape (F, h, w) of one example's feature maps
// after the four blocks, before they are flattened (and before the head).
func (m *Conv4) FeatureShape() []int {
	h, w := m.featureShape()
	return []int{m.filters(), h, w}
}

// Name returns ModelName or a name built from the configuration.
func (m *Conv4) Name() string {
	if m.ModelName != "" {
		return m.ModelName
	}
	head := "embedding"
	if m.Classes > 0 {
		head = fmt.Sprintf("%dclasses", m.Classes)
	}
	if p := m.pools(); p != 4 {
		head = fmt.Sprintf("%dpools-%s", p, head)
	}
	return fmt.Sprintf("conv4-%dx%dx%d-%dfilters-%s%s", m.InChannels, m.Height, m.Width, m.filters(), head, m.PerStep.suffix())
}

// Init adds the four blocks' parameters and the head to p. Weights are
// drawn from U(±1/√fan-in), PyTorch's default and that of the reference
// implementations: batch norm makes a block's output independent of its
// weights' scale, but not the gradient, which shrinks as the weights grow —
// with He-uniform weights (2.4× larger) MAML's inner step α = 0.4 is about
// six times weaker. The head's bias is drawn from the same U(±1/√fan-in)
// as PyTorch's nn.Linear; batch-norm scales start at 1 and shifts at 0.
func (m *Conv4) Init(p *graph.Params, seed uint64) error {
	if m.Pools > 4 {
		return fmt.Errorf("init %s: %d pooling blocks, but there are 4 blocks", m.Name(), m.Pools)
	}
	if err := m.PerStep.check(); err != nil {
		return fmt.Errorf("init %s: %w", m.Name(), err)
	}
	if err := m.checkDropout(); err != nil {
		return fmt.Errorf("init %s: %w", m.Name(), err)
	}
	h, w := m.featureShape()
	if h < 1 || w < 1 {
		return fmt.Errorf("init %s: input %dx%d is too small for %d 2×2 poolings", m.Name(), m.Height, m.Width, m.pools())
	}
	f, c := m.filters(), m.InChannels
	add := func(name string, shape []int, init graph.Initializer) error {
		if _, err := p.Add(name, shape, init); err != nil {
			return fmt.Errorf("init %s: %w", m.Name(), err)
		}
		return nil
	}
	for i := 1; i <= 4; i++ {
		wn := fmt.Sprintf("conv%d.w", i)
		if err := add(wn, []int{f, c, 3, 3}, TorchDefaultInit(graph.InitSeed(seed, wn), c*9)); err != nil {
			return err
		}
		for s := 0; s < max(m.PerStep.Steps, 1); s++ {
			if s > 0 && !m.PerStep.Weights {
				break
			}
			scale, shift := m.bnWeights(i, s)
			if err := add(scale, []int{f}, graph.Constant{Value: 1}); err != nil {
				return err
			}
			if err := add(shift, []int{f}, graph.Zeros{}); err != nil {
				return err
			}
		}
		c = f
	}
	if m.Classes > 0 {
		if err := add("fc.w", []int{f * h * w, m.Classes}, TorchDefaultInit(graph.InitSeed(seed, "fc.w"), f*h*w)); err != nil {
			return err
		}
		if err := add("fc.b", []int{m.Classes}, TorchDefaultInit(graph.InitSeed(seed, "fc.b"), f*h*w)); err != nil {
			return err
		}
	}
	return nil
}

// Forward returns logits (N, Classes), or embeddings (N, F·h·w) without a
// head, for x of shape (N, C, H, W) or (N, C·H·W). With PerStep it is
// ForwardStep at step 0 in training mode.
func (m *Conv4) Forward(wt graph.Weights, x *G.Node) *G.Node {
	return m.ForwardStep(wt, x, 0, Norm{})
}

// ForwardStep is Forward at inner step step in mode n: with PerStep, each
// batch norm uses that step's scale and shift (Weights) and, in
// evaluation mode, its running statistics (Running), which wt must then
// hold; in training mode it normalises with the batch's statistics and
// hands them to n.Record. Without PerStep, step and n change nothing.
func (m *Conv4) ForwardStep(wt graph.Weights, x *G.Node, step int, n Norm) *G.Node {
	return m.forward(wt, x, step, n, nil)
}

// ForwardTrain is Forward in training mode: dropout at rate Dropout before
// the head, with its mask in masks (nil: Forward).
func (m *Conv4) ForwardTrain(wt graph.Weights, x *G.Node, masks *Masks) *G.Node {
	return m.forward(wt, x, 0, Norm{}, masks)
}

// checkDropout refuses a rate outside [0, 1) and dropout without a head.
func (m *Conv4) checkDropout() error {
	if err := checkDropout(m.Dropout); err != nil {
		return err
	}
	if m.Dropout > 0 && m.Classes == 0 {
		return fmt.Errorf("dropout %g goes before the head, and this network has none", m.Dropout)
	}
	return nil
}

// forward is ForwardStep with the dropout masks of training mode.
func (m *Conv4) forward(wt graph.Weights, x *G.Node, step int, n Norm, masks *Masks) *G.Node {
	s := x.Shape()
	per := m.InChannels * m.Height * m.Width
	switch {
	case len(s) == 2 && s[1] == per:
		x = graph.Reshape(x, s[0], m.InChannels, m.Height, m.Width)
	case len(s) == 4 && s[1] == m.InChannels && s[2] == m.Height && s[3] == m.Width:
	default:
		panic(&graph.ShapeError{Msg: fmt.Sprintf("%s: input shape %v, want (N, %d, %d, %d) or (N, %d)",
			m.Name(), s, m.InChannels, m.Height, m.Width, per)})
	}
	h := x
	for i := 1; i <= 4; i++ {
		h = graph.Conv2d(h, wt.MustGet(fmt.Sprintf("conv%d.w", i)), 1)
		h = graph.ReLU(m.batchNorm(wt, h, i, step, n))
		if i <= m.pools() {
			h = graph.MaxPool2(h)
		}
	}
	batch := h.Shape()[0]
	h = graph.Reshape(h, batch, graph.Size(h.Shape())/batch)
	if m.Classes > 0 {
		h = Linear(masks.Dropout(h, m.Dropout), wt.MustGet("fc.w"), wt.MustGet("fc.b"))
	}
	return h
}

// InputShape returns [C H W].
func (m *Conv4) InputShape() []int { return []int{m.InChannels, m.Height, m.Width} }

// OutputSize returns Classes, or the embedding width without a head.
func (m *Conv4) OutputSize() int {
	if m.Classes > 0 {
		return m.Classes
	}
	h, w := m.featureShape()
	return m.filters() * h * w
}

// batchNorm is block i's batch norm at inner step s in mode n.
func (m *Conv4) batchNorm(wt graph.Weights, h *G.Node, i, s int, n Norm) *G.Node {
	sn := m.PerStep
	scaleName, shiftName := m.bnWeights(i, sn.set(s))
	scale, shift := wt.MustGet(scaleName), wt.MustGet(shiftName)
	if !sn.Running {
		return graph.BatchNorm(h, scale, shift, 0)
	}
	mean, variance := m.bnStats(i, sn.set(s))
	if n.Eval {
		return graph.BatchNormWith(h, wt.MustGet(mean), wt.MustGet(variance), scale, shift, 0)
	}
	y, bm, bv := graph.BatchNormStats(h, scale, shift, 0)
	if n.Record != nil {
		hs := h.Shape()
		n.Record(BatchStat{Mean: mean, Var: variance, BatchMean: bm, BatchVar: bv, Count: hs[0] * hs[2] * hs[3]})
	}
	return y
}

// bnWeights names block i's scale and shift in set k.
func (m *Conv4) bnWeights(i, k int) (scale, shift string) {
	if !m.PerStep.Weights {
		return fmt.Sprintf("bn%d.scale", i), fmt.Sprintf("bn%d.shift", i)
	}
	return fmt.Sprintf("bn%d.scale.%d", i, k+1), fmt.Sprintf("bn%d.shift.%d", i, k+1)
}

// bnStats names block i's running mean and variance in set k.
func (m *Conv4) bnStats(i, k int) (mean, variance string) {
	return fmt.Sprintf("bn%d.mean.%d", i, k+1), fmt.Sprintf("bn%d.var.%d", i, k+1)
}

// StepNorm returns the per-step batch norm configuration.
func (m *Conv4) StepNorm() StepNorm { return m.PerStep }

// WithStepNorm returns a copy of m with batch norm per step as sn says.
func (m *Conv4) WithStepNorm(sn StepNorm) (Model, error) {
	if err := sn.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", m.Name(), err)
	}
	c := *m
	c.PerStep = sn
	return &c, nil
}

// StepWeights names the scales and shifts of step s's set, block by block.
func (m *Conv4) StepWeights(s int) []string {
	if !m.PerStep.Weights {
		return nil
	}
	var ns []string
	for i := 1; i <= 4; i++ {
		scale, shift := m.bnWeights(i, m.PerStep.set(s))
		ns = append(ns, scale, shift)
	}
	return ns
}

// RunningStats lists the running means and variances of step s's set,
// block by block.
func (m *Conv4) RunningStats(s int) []Stat {
	if !m.PerStep.Running {
		return nil
	}
	var st []Stat
	for i := 1; i <= 4; i++ {
		mean, variance := m.bnStats(i, m.PerStep.set(s))
		st = append(st, Stat{Name: mean, Shape: []int{m.filters()}, Init: 0}, Stat{Name: variance, Shape: []int{m.filters()}, Init: 1})
	}
	return st
}
