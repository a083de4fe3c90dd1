package metalearn

import (
	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// lrua is MANN's external memory with least-recently-used access (Santoro
// et al., "Meta-Learning with Memory-Augmented Neural Networks", ICML 2016,
// §3.1–3.2), for a batch of B episodes at once: Slots rows of Width
// numbers, addressed by Heads heads. At each step every head h has a key
// kₜʰ (Width numbers, from the controller) and a write gate αₜʰ; the
// memory
//
//	w^lu_{t−1}ʰ = one-hot of the (h+1)-th least used slot by w^u_{t−1}        (least-used weights)
//	w^w_tʰ = σ(αₜʰ) w^r_{t−1}ʰ + (1 − σ(αₜʰ)) w^lu_{t−1}ʰ                   (write weights)
//	Mₜ(i) = M_{t−1}(i) · [i is not the least used slot] + Σₕ w^w_tʰ(i) kₜʰ     (write)
//	w^r_tʰ(i) = softmax over i of K(kₜʰ, Mₜ(i)),  K the cosine similarity    (read weights)
//	rₜʰ = Σᵢ w^r_tʰ(i) Mₜ(i)                                                 (read vectors)
//	w^u_t = γ w^u_{t−1} + Σₕ w^r_tʰ + Σₕ w^w_tʰ                              (usage)
//
// The paper's w^lu marks the n least used slots, n the number of reads;
// here head h writes to the (h+1)-th least used slot, so the heads
// together cover the paper's n and no two of them start writing to the
// same slot (as public reimplementations do, e.g. Deleu's ntm-one-shot).
// The least used slot is found from the usage
// of the step before and, as the paper says, set to zero before the
// write. Which slots are least used is a discrete choice: the one-hot
// weights come from graph.SmallestK, a constant in the derivative (like
// max-pool's choice of its maximum); gradients flow through the usage
// everywhere else. The write adds the heads' keys themselves, as in the
// paper (Mₜ(i) ← M_{t−1}(i) + w^w_t(i) kₜ), and the read uses the memory
// just written.
//
// The first step starts from an empty memory (M₀ = 0, whose cosine
// similarity with any key is 0: see cosine), no usage and no earlier
// reads (w^u₀ = w^r₀ = 0, r₀ = 0).
type lrua struct {
	Slots, Width, Heads int
	// Gamma is the usage decay γ.
	Gamma float64
}

// lruaState is the memory between two steps, for B episodes.
type lruaState struct {
	memory *G.Node // M (B, Slots, Width)
	usage  *G.Node // w^u (B, Slots)
	read   *G.Node // w^r (B, Heads, Slots)
	r      *G.Node // read vectors (B, Heads, Width)
}

// initial is the state before the first step: an empty memory, no usage,
// no reads. Its nodes are constants of g.
func (m lrua) initial(g *G.ExprGraph, dt tensor.Dtype, batch int, name string) lruaState {
	zeros := func(what string, shape ...int) *G.Node {
		v := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
		return G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name+"."+what+"0"), G.WithValue(v))
	}
	return lruaState{
		memory: zeros("memory", batch, m.Slots, m.Width),
		usage:  zeros("usage", batch, m.Slots),
		read:   zeros("read", batch, m.Heads, m.Slots),
		r:      zeros("r", batch, m.Heads, m.Width),
	}
}

// step writes the heads' keys (B, Heads, Width) into the memory, with the
// write gates alpha (B, Heads) before the sigmoid, and reads it with the
// same keys: the state after the step, whose r are the read vectors.
func (m lrua) step(s lruaState, keys, alpha *G.Node) lruaState {
	b := keys.Shape()[0]
	leastUsed := graph.SmallestK(s.usage, m.Heads) // (B, Heads, Slots), constant
	gate := graph.Sigmoid(graph.Reshape(alpha, b, m.Heads, 1))
	write := graph.Add(graph.Mul(gate, s.read), graph.Mul(graph.Affine(gate, -1, 1), leastUsed))
	// zero the least used slot: head 0's mark, as a column over the slots
	least := graph.Reshape(graph.Slice(leastUsed, 1, 0, 1), b, m.Slots, 1)
	memory := graph.Add(graph.Mul(s.memory, graph.Affine(least, -1, 1)),
		graph.MatMulT(write, keys, true, false)) // Σₕ w^w_tʰ(i) kₜʰ
	read := graph.Softmax(cosine(keys, memory)) // (B, Heads, Slots)
	usage := graph.Add(graph.Scale(s.usage, m.Gamma), graph.Add(graph.Sum(read, 1), graph.Sum(write, 1)))
	return lruaState{memory: memory, usage: usage, read: read, r: graph.BatchedMatMul(read, memory)}
}
