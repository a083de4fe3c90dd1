package metalearn

// Derivative-order annealing, DA (Antoniou, Edwards & Storkey, "How to
// train your MAML", ICLR 2019, §4): second-order meta-gradients cost more
// and, early in training, can explode or vanish through the unrolled
// inner loop; first-order ones (first-order MAML: every inner gradient a
// constant) are cheaper and stable but less accurate. DA takes first-order
// meta-gradients for the first part of training and second-order ones for
// the rest. The paper counts epochs (first order for its first 50); here
// the switch is at MAMLPPOptions.FirstOrderIterations meta-iterations.
// The released configurations of the paper's code turn it off
// (first_order_to_second_order_epoch = −1), which NoDerivativeAnnealing
// reproduces.

// firstOrderAt reports whether DA takes meta-iteration it first order.
func (o MAMLPPOptions) firstOrderAt(it int) bool {
	return !o.NoDerivativeAnnealing && it < o.FirstOrderIterations
}
