package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
)

// MatchingNet is Matching Networks (Vinyals, Blundell, Lillicrap,
// Kavukcuoglu & Wierstra, "Matching Networks for One Shot Learning",
// NeurIPS 2016). A query x̂ is labelled by attending over the support set
// S = {(xᵢ, yᵢ)}:
//
//	ŷ = Σᵢ a(x̂, xᵢ) yᵢ,   a(x̂, xᵢ) = exp c(f(x̂), g(xᵢ)) / Σⱼ exp c(f(x̂), g(xⱼ))
//
// with c the cosine similarity and yᵢ one-hot; training minimises the
// cross-entropy −log ŷ_y of the query labels (Metric: one Adam step per
// meta-batch of episodes, by default one). By default f = g = f′, the embedding network. With full
// context embeddings (MatchingNetOptions.FCE, the paper's §2.1.2 and
// appendix) each support embedding is read in the context of the whole
// support set by a bidirectional LSTM, and each query embedding by an
// LSTM that attends K times over those:
//
//	g(xᵢ, S) = h→ᵢ + h←ᵢ + g′(xᵢ)                 (LSTMs over g′(x₁) … g′(x_|S|), both ways)
//	ĥₖ, cₖ = LSTM([f′(x̂), rₖ₋₁], hₖ₋₁, cₖ₋₁)      (k = 1 … K)
//	hₖ = ĥₖ + f′(x̂)
//	rₖ = Σᵢ a(hₖ, g(xᵢ)) g(xᵢ),   a(hₖ, g(xᵢ)) = softmax over i of hₖᵀ g(xᵢ)
//	f(x̂, S) = h_K
//
// starting from h₀ = f′(x̂), c₀ = 0, with f′ = g′ and K = |S| by default,
// as in the widely used implementation of Chen et al. ("A Closer Look at
// Few-shot Classification", ICLR 2019; the paper gives no K). The LSTM
// reads [f′(x̂), rₖ₋₁] as its input and hₖ₋₁ as its state, which is
// the paper's LSTM(f′(x̂), [hₖ₋₁, rₖ₋₁], cₖ₋₁) with the blocks of its
// weight matrices in other places. Support and query images go through
// the embedding network as one batch (batch norm with the statistics of
// the episode), as in ProtoNet.
type MatchingNet struct {
	*Metric
}

// MatchingNetOptions configures MatchingNet. The defaults of
// MetricOptions are the paper's (Adam, lr 1e-3).
type MatchingNetOptions struct {
	MetricOptions
	// FCE turns on full context embeddings: a bidirectional LSTM over the
	// support embeddings (g) and an attention LSTM over each query's (f),
	// whose weights (fce.g.fw.*, fce.g.bw.*, fce.f.*; hidden width the
	// embedding's) are meta-parameters after the model's.
	FCE bool
	// ProcessingSteps is K, the attention LSTM's steps with FCE. If zero,
	// it is the number of support examples of the episode, as in Chen et
	// al.'s implementation.
	ProcessingSteps int
	// Scale multiplies the cosine similarities inside the attention's
	// softmax, a(x̂, xᵢ) ∝ exp(Scale · c(f(x̂), g(xᵢ))). If zero, a default
	// of 1 is used: the paper's attention. Cosines lie in [−1, 1], so the
	// paper's softmax is flat (a support example is at most e² times as
	// likely as another), which makes it slow to train; later work
	// sharpens it (Chen et al., "A Closer Look at Few-shot
	// Classification", ICLR 2019, multiply by 100).
	Scale float64
}

// NewMatchingNet returns Matching Networks over embedding model m (e.g.
// Conv-4 without a head). The learner is named "matchingnet", or
// "matchingnet-fce" with full context embeddings.
func NewMatchingNet(m models.Model, o MatchingNetOptions) (*MatchingNet, error) {
	name := "matchingnet"
	if o.FCE {
		name = "matchingnet-fce"
	}
	if o.ProcessingSteps < 0 {
		return nil, fmt.Errorf("%s: %d processing steps: want at least 1 (or 0 for the number of support examples)", name, o.ProcessingSteps)
	}
	if o.Scale < 0 {
		return nil, fmt.Errorf("%s: scale %g: want a positive number (or 0 for the paper's 1)", name, o.Scale)
	}
	if o.Scale == 0 {
		o.Scale = 1
	}
	l, err := NewMetric(name, m, &matchingHead{fce: o.FCE, steps: o.ProcessingSteps, scale: o.Scale}, o.MetricOptions)
	if err != nil {
		return nil, err
	}
	return &MatchingNet{Metric: l}, nil
}

// matchingHead is the attention classifier and, with fce, the two context
// embeddings' LSTMs.
type matchingHead struct {
	fce   bool
	steps int
	scale float64
	// the LSTMs of full context embeddings: g's forward and backward
	// cells, f's attention cell
	gFw, gBw, f models.LSTMCell
}

// Init adds the LSTMs of full context embeddings, hidden width the
// embedding's; without FCE there is nothing to add.
func (h *matchingHead) Init(p *graph.Params, m models.Model, seed uint64) error {
	if !h.fce {
		return nil
	}
	d := m.OutputSize()
	h.gFw = models.LSTMCell{In: d, Hidden: d, Prefix: "fce.g.fw"}
	h.gBw = models.LSTMCell{In: d, Hidden: d, Prefix: "fce.g.bw"}
	h.f = models.LSTMCell{In: 2 * d, Hidden: d, Prefix: "fce.f"}
	for _, c := range []models.LSTMCell{h.gFw, h.gBw, h.f} {
		if err := c.Init(p, seed); err != nil {
			return fmt.Errorf("full context embeddings: %w", err)
		}
	}
	return nil
}

// Episode: the attention of each query over the support set, and the
// cross-entropy of ŷ. The logits are log Σ_{i: yᵢ = c} exp(s·c(f(x̂), g(xᵢ)) − s)
// (s the scale), so that their softmax is ŷ and graph.CrossEntropy of them
// is −log ŷ_y, computed stably: the cosines lie in [−1, 1], so the
// exponentials lie in [e^−2s, 1] and never overflow.
func (h *matchingHead) Episode(w graph.Weights, e *Episode) (loss, logits *G.Node) {
	g, f := e.Support, e.Query
	if h.fce {
		g = h.contextSupport(w, e.Support)
		f = h.contextQueries(w, e.Query, g, e.SupportSize)
	}
	similarity := cosine(f, g) // c(f(x̂), g(xᵢ)), query × support
	attention := graph.Exp(graph.Affine(similarity, h.scale, -h.scale))
	logits = graph.Log(graph.MatMulT(attention, e.OneHot(), false, true)) // query × ways
	return graph.CrossEntropy(logits, e.Labels()), logits
}

// contextSupport is g(xᵢ, S) = h→ᵢ + h←ᵢ + g′(xᵢ): a bidirectional LSTM
// over the support embeddings in the episode's order, from zero states.
func (h *matchingHead) contextSupport(w graph.Weights, support *G.Node) *G.Node {
	n := support.Shape()[0]
	fw, bw := make([]*G.Node, n), make([]*G.Node, n)
	var hf, cf, hb, cb *G.Node
	for i := 0; i < n; i++ {
		hf, cf = h.gFw.Step(w, graph.Slice(support, 0, i, i+1), hf, cf)
		fw[i] = hf
		j := n - 1 - i
		hb, cb = h.gBw.Step(w, graph.Slice(support, 0, j, j+1), hb, cb)
		bw[j] = hb
	}
	return graph.Add(support, graph.Add(graph.Concat(0, fw...), graph.Concat(0, bw...)))
}

// contextQueries is f(x̂, S) = h_K: the attention LSTM over the query
// embeddings (all queries at once, each on its own), reading the context
// embeddings g of the support set. K is ProcessingSteps, or the number
// of support examples.
func (h *matchingHead) contextQueries(w graph.Weights, query, g *G.Node, support int) *G.Node {
	steps := h.steps
	if steps == 0 {
		steps = support
	}
	hk := query // h₀ = f′(x̂)
	var ck *G.Node
	for k := 1; k <= steps; k++ {
		r := readout(hk, g)
		var hHat *G.Node
		hHat, ck = h.f.Step(w, graph.Concat(1, query, r), hk, ck)
		hk = graph.Add(hHat, query)
	}
	return hk
}

// readout is r = Σᵢ a(h, g(xᵢ)) g(xᵢ) for each row of h, with
// a(h, g(xᵢ)) = softmax over i of hᵀ g(xᵢ).
func readout(h, g *G.Node) *G.Node {
	return graph.MatMul(graph.Softmax(graph.MatMulT(h, g, false, true)), g)
}

// Describe names the classifier, for Metric.Describe.
func (h *matchingHead) Describe() string {
	s := "attention over the support set (cosine similarity)"
	if h.scale != 1 {
		s = fmt.Sprintf("attention over the support set (cosine similarity × %g)", h.scale)
	}
	if !h.fce {
		return s
	}
	k := "as many as support examples"
	if h.steps > 0 {
		k = fmt.Sprint(h.steps)
	}
	return fmt.Sprintf("%s, full context embeddings (K = %s)", s, k)
}
