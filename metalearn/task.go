package metalearn

import (
	"fmt"

	"github.com/metagon/metagon/graph"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Task is one few-shot learning problem: a support set to adapt on and a
// query set to judge the adapted model by. Inputs are flattened row by row;
// targets are class indices (classification) or Outputs values per example
// (regression).
type Task struct {
	SupportX, SupportY []float64
	QueryX, QueryY     []float64
}

// Spec fixes the shapes of the tasks a learner sees, so that each worker
// compiles its graphs once.
type Spec struct {
	// Support and Query are the numbers of examples in each set.
	Support, Query int
	// Input is the shape of one example, e.g. [1] or [1 28 28].
	Input []int
	// Classes > 0 makes the tasks classification: targets are class
	// indices and the loss is softmax cross-entropy.
	Classes int
	// Outputs is the target width of a regression task (loss: MSE). If
	// zero (and Classes is zero), a default of 1 is used.
	Outputs int
}

func (s Spec) inputSize() int {
	n := 1
	for _, d := range s.Input {
		n *= d
	}
	return n
}

func (s Spec) targetWidth() int {
	if s.Classes > 0 {
		return 1
	}
	if s.Outputs == 0 {
		return 1
	}
	return s.Outputs
}

// check validates a task against the spec.
func (s Spec) check(t Task) error {
	in, tw := s.inputSize(), s.targetWidth()
	switch {
	case len(t.SupportX) != s.Support*in:
		return fmt.Errorf("task: support inputs have %d values, want %d×%d", len(t.SupportX), s.Support, in)
	case len(t.SupportY) != s.Support*tw:
		return fmt.Errorf("task: support targets have %d values, want %d×%d", len(t.SupportY), s.Support, tw)
	case len(t.QueryX) != s.Query*in:
		return fmt.Errorf("task: query inputs have %d values, want %d×%d", len(t.QueryX), s.Query, in)
	case len(t.QueryY) != s.Query*tw:
		return fmt.Errorf("task: query targets have %d values, want %d×%d", len(t.QueryY), s.Query, tw)
	}
	if s.Classes > 0 {
		for _, ys := range [][]float64{t.SupportY, t.QueryY} {
			for _, y := range ys {
				if y < 0 || y >= float64(s.Classes) || y != float64(int(y)) {
					return fmt.Errorf("task: label %v is not a class index in 0..%d", y, s.Classes-1)
				}
			}
		}
	}
	return nil
}

// setNodes are the input nodes of one support or query set.
type setNodes struct{ x, y *G.Node }

// newSet adds input nodes for n examples of the spec to g.
func (s Spec) newSet(g *G.ExprGraph, dt tensor.Dtype, name string, n int) setNodes {
	shape := append([]int{n}, s.Input...)
	x := G.NewTensor(g, dt, len(shape), G.WithShape(shape...), G.WithName(name+".x"))
	var y *G.Node
	if s.Classes > 0 {
		y = G.NewTensor(g, dt, 1, G.WithShape(n), G.WithName(name+".y"))
	} else {
		y = G.NewTensor(g, dt, 2, G.WithShape(n, s.targetWidth()), G.WithName(name+".y"))
	}
	return setNodes{x: x, y: y}
}

// loss is the task loss of model outputs against targets.
func (s Spec) loss(out, y *G.Node) *G.Node {
	if s.Classes > 0 {
		return graph.CrossEntropy(out, y)
	}
	return graph.MSE(out, y)
}

// accuracy returns the fraction of rows of out whose argmax is the label;
// 0 for regression.
func (s Spec) accuracy(out, labels []float64) float64 {
	if s.Classes == 0 {
		return 0
	}
	return graph.Accuracy(out, s.Classes, labels)
}
