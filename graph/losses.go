package graph

import (
	"math"

	G "gorgonia.org/gorgonia"
)

// MSE returns the mean squared error mean((pred − target)²) over all
// elements.
func MSE(pred, target *G.Node) *G.Node {
	return Mean(Square(Sub(pred, target)))
}

// QuadraticCost returns ½‖pred − target‖² summed over a row and averaged
// over the rows (the first axis): the cost of the classic sigmoid network
// (Nielsen, "Neural Networks and Deep Learning", ch. 1–2), whose SGD step
// w −= η/m Σₓ ∇Cₓ is a plain step of size η on this mean.
func QuadraticCost(pred, target *G.Node) *G.Node {
	rows := 1
	if s := pred.Shape(); len(s) > 0 {
		rows = s[0]
	}
	return Scale(Sum(Square(Sub(pred, target))), 0.5/float64(rows))
}

// CrossEntropy returns the mean softmax cross-entropy of logits (N, C)
// against integer class labels (N), stored as floats of the logits' type:
// −mean_i log softmax(logits)[i, labels[i]].
func CrossEntropy(logits, labels *G.Node) *G.Node {
	return Neg(Mean(Pick(LogSoftmax(logits), labels)))
}

// Accuracy returns the fraction of rows whose largest logit is at the label.
// It is for reporting, computed on values outside the graph.
func Accuracy(logits []float64, classes int, labels []float64) float64 {
	if len(labels) == 0 {
		return 0
	}
	correct := 0
	for i, l := range labels {
		row := logits[i*classes : (i+1)*classes]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == int(l) {
			correct++
		}
	}
	return float64(correct) / float64(len(labels))
}

// halfLog2Pi is ½·log(2π), the constant of the Gaussian log-density.
var halfLog2Pi = 0.5 * math.Log(2*math.Pi)

// GaussianNLLPoints returns, elementwise, the negative log-likelihood of
// target under independent Gaussians of the given mean and standard
// deviation (all of one shape; std > 0):
// ½·log(2π) + log σ + ½·((y − μ)/σ)².
func GaussianNLLPoints(mean, std, target *G.Node) *G.Node {
	z := Div(Sub(target, mean), std)
	return Add(Affine(Log(std), 1, halfLog2Pi), Scale(Square(z), 0.5))
}

// GaussianNLL returns the mean over all elements of GaussianNLLPoints: the
// negative log-likelihood per target value, in nats.
func GaussianNLL(mean, std, target *G.Node) *G.Node {
	return Mean(GaussianNLLPoints(mean, std, target))
}
