package metalearn

import (
	"fmt"
	"math"

	"github.com/metagon/metagon/graph"
	"gorgonia.org/tensor"
)

// linearHead is a softmax classifier on fixed embeddings: the logits of
// the rows of E (rows × dim) are E·Wᵀ + b, for W (ways × dim) and b
// (ways). Transfer fits one to each task's support set.
type linearHead struct {
	ways, dim int
	w, b      []float64
}

// newLinearHead returns the zero head: every logit 0, so every class is
// equally likely.
func newLinearHead(ways, dim int) *linearHead {
	return &linearHead{ways: ways, dim: dim, w: make([]float64, ways*dim), b: make([]float64, ways)}
}

// logits returns E·Wᵀ + b (rows × ways) for the embeddings e (rows × dim).
func (h *linearHead) logits(e []float64) []float64 {
	rows := len(e) / h.dim
	z := make([]float64, rows*h.ways)
	for i := range rows {
		ei := e[i*h.dim : (i+1)*h.dim]
		for c := range h.ways {
			s := h.b[c]
			for d, w := range h.w[c*h.dim : (c+1)*h.dim] {
				s += w * ei[d]
			}
			z[i*h.ways+c] = s
		}
	}
	return z
}

// loss returns the mean cross-entropy of labels (class indices) under h
// on the embeddings e, and when gw and gb are not nil writes its gradient
// with respect to W and b into them: with p the softmax of the logits,
// ∂/∂z = (p − onehot(label)) / rows, ∂/∂W = (∂/∂z)ᵀ·E, ∂/∂b = Σ_rows ∂/∂z.
func (h *linearHead) loss(e, labels []float64, gw, gb []float64) float64 {
	z := h.logits(e)
	rows := len(labels)
	if gw != nil {
		clear(gw)
		clear(gb)
	}
	total := 0.0
	for i := range rows {
		zi, y := z[i*h.ways:(i+1)*h.ways], int(labels[i])
		lse := logSumExp(zi)
		total += lse - zi[y]
		if gw == nil {
			continue
		}
		ei := e[i*h.dim : (i+1)*h.dim]
		for c := range h.ways {
			g := math.Exp(zi[c] - lse)
			if c == y {
				g--
			}
			g /= float64(rows)
			gb[c] += g
			for d, x := range ei {
				gw[c*h.dim+d] += g * x
			}
		}
	}
	return total / float64(rows)
}

// fitHead fits a zero head of ways outputs to the support embeddings sup
// (rows of dim values) and labels supY by full-batch Adam at rate lr, for
// the last number of steps in at, and measures the query embeddings qry
// with labels qryY after each number of steps in at (0: the zero head,
// chance): query loss, accuracy and logits.
func fitHead(sup, supY, qry, qryY []float64, ways, dim int, at []int, lr float64) (Adaptation, error) {
	h := newLinearHead(ways, dim)
	gw, gb := make([]float64, len(h.w)), make([]float64, len(h.b))
	params := []*tensor.Dense{
		tensor.New(tensor.WithShape(ways, dim), tensor.WithBacking(h.w)),
		tensor.New(tensor.WithShape(ways), tensor.WithBacking(h.b)),
	}
	grads := []*tensor.Dense{
		tensor.New(tensor.WithShape(ways, dim), tensor.WithBacking(gw)),
		tensor.New(tensor.WithShape(ways), tensor.WithBacking(gb)),
	}
	opt := graph.NewAdam(lr)
	res := Adaptation{Steps: at}
	step := 0
	for _, s := range at {
		for ; step < s; step++ {
			h.loss(sup, supY, gw, gb)
			if err := opt.Step(params, grads); err != nil {
				return res, fmt.Errorf("fit head: %w", err)
			}
		}
		z := h.logits(qry)
		res.Loss = append(res.Loss, h.loss(qry, qryY, nil, nil))
		res.Accuracy = append(res.Accuracy, graph.Accuracy(z, ways, qryY))
		res.Outputs = append(res.Outputs, z)
	}
	return res, nil
}
