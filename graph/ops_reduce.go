package graph

import (
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Sum adds up x over the given axes, removing them; with no axes it sums
// everything into a 0-d scalar. It is SumTo (whose derivative broadcasts the
// gradient back) followed by a reshape.
func Sum(x *G.Node, axes ...int) *G.Node {
	keep, out := reducedShapes("sum", x.Shape(), axes)
	return Reshape(SumTo(x, keep), out...)
}

// SumKeep is Sum that keeps the reduced axes with length 1, so the result
// broadcasts against x.
func SumKeep(x *G.Node, axes ...int) *G.Node {
	keep, _ := reducedShapes("sum", x.Shape(), axes)
	return SumTo(x, keep)
}

// Mean averages x over the given axes (all axes if none).
func Mean(x *G.Node, axes ...int) *G.Node {
	return Scale(Sum(x, axes...), 1/float64(reducedCount(x.Shape(), axes)))
}

// MeanKeep is Mean that keeps the reduced axes with length 1.
func MeanKeep(x *G.Node, axes ...int) *G.Node {
	return Scale(SumKeep(x, axes...), 1/float64(reducedCount(x.Shape(), axes)))
}

// reducedShapes returns the shape of x reduced over axes with the axes kept
// as 1, and with them removed.
func reducedShapes(opName string, s tensor.Shape, axes []int) (keep, out tensor.Shape) {
	drop := make([]bool, len(s))
	if len(axes) == 0 {
		for i := range drop {
			drop[i] = true
		}
	}
	for _, a := range axes {
		if a < 0 {
			a += len(s)
		}
		if a < 0 || a >= len(s) {
			panic(shapeErrorf("%s: axis %v out of range for shape %v", opName, axes, s))
		}
		drop[a] = true
	}
	keep = make(tensor.Shape, len(s))
	out = tensor.Shape{}
	for i, d := range s {
		if drop[i] {
			keep[i] = 1
		} else {
			keep[i] = d
			out = append(out, d)
		}
	}
	return keep, out
}

func reducedCount(s tensor.Shape, axes []int) int {
	if len(axes) == 0 {
		return size(s)
	}
	n := 1
	for _, a := range axes {
		if a < 0 {
			a += len(s)
		}
		n *= s[a]
	}
	return n
}
