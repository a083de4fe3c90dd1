package graph

import (
	"fmt"

	G "gorgonia.org/gorgonia"
)

// Grad returns the gradient of the scalar y with respect to each node in
// wrt, as new nodes of y's graph. Because every derivative rule is written
// with differentiable ops, the returned gradients can be differentiated
// again (Grad of an expression of Grad), to any order.
//
// Grad owns the reverse traversal; it never calls gorgonia.Grad, whose
// caching of earlier gradients silently returns wrong second derivatives.
// A wrt node that y does not depend on gets a zero gradient.
func Grad(y *G.Node, wrt ...*G.Node) ([]*G.Node, error) {
	if size(y.Shape()) != 1 {
		return nil, fmt.Errorf("grad: %v has shape %v; the output must be a scalar (use VJP for tensors)", y.Name(), y.Shape())
	}
	var seed *G.Node
	if err := Build(func() { seed = OnesLike(y) }); err != nil {
		return nil, fmt.Errorf("grad: %w", err)
	}
	return VJP(y, seed, wrt...)
}

// VJP returns the vector–Jacobian products seedᵀ·∂y/∂x for each x in wrt,
// where seed has y's shape: the gradient of Σ seed ⊙ y.
func VJP(y, seed *G.Node, wrt ...*G.Node) (grads []*G.Node, err error) {
	defer Recover(&err)
	if !y.Shape().Eq(seed.Shape()) {
		return nil, fmt.Errorf("vjp: seed shape %v differs from output shape %v", seed.Shape(), y.Shape())
	}
	target := make(map[*G.Node]bool, len(wrt))
	for _, x := range wrt {
		target[x] = true
	}
	total, err := reverse(y, seed, target, nil)
	if err != nil {
		return nil, err
	}
	grads = make([]*G.Node, len(wrt))
	for i, x := range wrt {
		if g, ok := total[x]; ok {
			grads[i] = g
		} else {
			grads[i] = ZerosLike(x)
		}
	}
	return grads, nil
}

// reverse is reverse-mode accumulation: it returns ∂(Σ seed ⊙ y)/∂n for
// every node n in target that y depends on, as graph nodes. The walk goes
// back from y through each op's derivative rule and sums the contributions
// reaching a node; nodes in stop are treated as leaves (their inputs are not
// visited), which is how a fused op differentiates the composition that
// defines it with respect to its own inputs only.
func reverse(y, seed *G.Node, target, stop map[*G.Node]bool) (map[*G.Node]*G.Node, error) {
	order := topoOrder([]*G.Node{y}, stop)
	// live[n]: n lies on a path from some target to y.
	live := make(map[*G.Node]bool, len(order))
	for _, n := range order {
		if target[n] {
			live[n] = true
			continue
		}
		if stop[n] {
			continue
		}
		for _, c := range inputsOf(n) {
			if live[c] {
				live[n] = true
				break
			}
		}
	}
	contrib := map[*G.Node][]*G.Node{y: {seed}}
	total := make(map[*G.Node]*G.Node, len(target))
	for i := len(order) - 1; i >= 0; i-- {
		n := order[i]
		cs := contrib[n]
		if !live[n] || len(cs) == 0 {
			continue
		}
		g := sumAll(cs)
		delete(contrib, n)
		if target[n] {
			total[n] = g
		}
		if n.Op() == nil || stop[n] {
			continue
		}
		ins := inputsOf(n)
		gs, err := derivative(n, ins, g)
		if err != nil {
			return nil, err
		}
		for j, c := range ins {
			if j < len(gs) && gs[j] != nil && live[c] {
				contrib[c] = append(contrib[c], gs[j])
			}
		}
	}
	return total, nil
}

// derivative asks n's op for the gradients of its inputs given g = dL/dn.
// metagon ops answer with their own rule; other Gorgonia ops that implement
// SymDiff are used as they are (Gorgonia's elementwise, matmul and shape
// rules are correct once its gradient cache is out of the way).
func derivative(n *G.Node, ins []*G.Node, g *G.Node) ([]*G.Node, error) {
	switch o := n.Op().(type) {
	case op:
		return o.backward(ins, n, g), nil
	case G.SDOp:
		gs, err := o.SymDiff(ins, n, g)
		if err != nil {
			return nil, fmt.Errorf("grad: gorgonia op %v: %w", n.Op(), err)
		}
		diff := o.DiffWRT(len(ins))
		for i := range gs {
			if i < len(diff) && !diff[i] {
				gs[i] = nil
			}
		}
		return gs, nil
	default:
		return nil, fmt.Errorf("grad: op %v of node %s has no derivative rule", n.Op(), n.Name())
	}
}

// sumAll adds a list of gradient contributions.
func sumAll(cs []*G.Node) *G.Node {
	s := cs[0]
	for _, c := range cs[1:] {
		s = Add(s, c)
	}
	return s
}

// inputsOf returns n's inputs in order.
func inputsOf(n *G.Node) []*G.Node {
	it := n.Graph().From(n.ID())
	out := make([]*G.Node, 0, it.Len())
	for it.Next() {
		out = append(out, it.Node().(*G.Node))
	}
	return out
}

// topoOrder returns roots and everything they depend on, each node after
// all of its inputs; the inputs of nodes in stop are not visited.
func topoOrder(roots []*G.Node, stop map[*G.Node]bool) []*G.Node {
	var order []*G.Node
	state := map[*G.Node]uint8{} // 1: on the stack, 2: done
	type frame struct {
		n   *G.Node
		ins []*G.Node
		i   int
	}
	for _, r := range roots {
		if state[r] != 0 {
			continue
		}
		stack := []frame{{n: r, ins: inputsOfUnless(r, stop)}}
		state[r] = 1
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			if f.i < len(f.ins) {
				c := f.ins[f.i]
				f.i++
				if state[c] == 0 {
					state[c] = 1
					stack = append(stack, frame{n: c, ins: inputsOfUnless(c, stop)})
				}
				continue
			}
			state[f.n] = 2
			order = append(order, f.n)
			stack = stack[:len(stack)-1]
		}
	}
	return order
}

// inputsOfUnless returns n's inputs, or none if n is in stop.
func inputsOfUnless(n *G.Node, stop map[*G.Node]bool) []*G.Node {
	if stop[n] {
		return nil
	}
	return inputsOf(n)
}
