package graph

import "math"

// CosineLR is the learning rate at step t of cosine annealing from base
// down to min over total steps (Loshchilov & Hutter, "SGDR: Stochastic
// Gradient Descent with Warm Restarts", ICLR 2017, eq. 5, without
// restarts; PyTorch's CosineAnnealingLR):
//
//	lr(t) = min + (base − min) · (1 + cos(π·t/total)) / 2
//
// It starts at base (t = 0), ends at min (t = total) and stays there
// beyond. A schedule sets it on an optimizer through LRSetter before each
// step. total ≤ 0 means no annealing: base.
func CosineLR(base, min float64, t, total int) float64 {
	if total <= 0 {
		return base
	}
	if t >= total {
		return min
	}
	return min + (base-min)*(1+math.Cos(math.Pi*float64(max(t, 0))/float64(total)))/2
}
