package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// unaryKind selects the function of a unaryOp.
type unaryKind int

const (
	uNeg unaryKind = iota
	uExp
	uLog
	uSqrt
	uSquare
	uSigmoid
	uTanh
	uReLU
	uStep     // Heaviside step: 1 where x > 0, else 0 (ReLU's derivative)
	uAffine   // c·x + d
	uSoftplus // log(1 + eˣ)
)

var unaryNames = [...]string{"neg", "exp", "log", "sqrt", "square", "sigmoid", "tanh", "relu", "step", "affine", "softplus"}

// unaryOp applies a scalar function elementwise. Each kind's derivative rule
// sits in backward, next to its forward formula in unaryKernel.
type unaryOp struct {
	base
	kind unaryKind
	c, d float64 // affine coefficients: c·x + d
}

func unary(kind unaryKind, x *G.Node, c, d float64) *G.Node {
	name := unaryNames[kind]
	dt := sameDtype(name, x)
	params := ""
	if kind == uAffine {
		params = fmt.Sprintf("%g,%g", c, d)
	}
	o := &unaryOp{base: newBase(name, params, dt, x.Shape(), []*G.Node{x}), kind: kind, c: c, d: d}
	return apply(o, x)
}

// Neg returns −x.
func Neg(x *G.Node) *G.Node { return unary(uNeg, x, 0, 0) }

// Exp returns eˣ elementwise.
func Exp(x *G.Node) *G.Node { return unary(uExp, x, 0, 0) }

// Log returns the natural logarithm of x elementwise.
func Log(x *G.Node) *G.Node { return unary(uLog, x, 0, 0) }

// Sqrt returns √x elementwise.
func Sqrt(x *G.Node) *G.Node { return unary(uSqrt, x, 0, 0) }

// Square returns x² elementwise.
func Square(x *G.Node) *G.Node { return unary(uSquare, x, 0, 0) }

// Sigmoid returns 1/(1+e⁻ˣ) elementwise.
func Sigmoid(x *G.Node) *G.Node { return unary(uSigmoid, x, 0, 0) }

// Tanh returns tanh(x) elementwise.
func Tanh(x *G.Node) *G.Node { return unary(uTanh, x, 0, 0) }

// Softplus returns log(1 + eˣ) elementwise, a smooth positive function
// (≈ x for large x, ≈ eˣ for very negative x), computed without overflow
// as max(x, 0) + log(1 + e^−|x|). Its derivative is the sigmoid.
func Softplus(x *G.Node) *G.Node { return unary(uSoftplus, x, 0, 0) }

// ReLU returns max(x, 0) elementwise.
func ReLU(x *G.Node) *G.Node { return unary(uReLU, x, 0, 0) }

// Step returns the Heaviside step of x (1 where x > 0, else 0). It is
// piecewise constant, so no gradient flows through it.
func Step(x *G.Node) *G.Node { return unary(uStep, x, 0, 0) }

// Scale returns c·x.
func Scale(x *G.Node, c float64) *G.Node {
	if c == 1 {
		return x
	}
	return unary(uAffine, x, c, 0)
}

// Affine returns c·x + d elementwise.
func Affine(x *G.Node, c, d float64) *G.Node { return unary(uAffine, x, c, d) }

func (o *unaryOp) Do(v ...G.Value) (G.Value, error) { return doWith(o, o.shape, o.dt, v) }

func (o *unaryOp) forward(out *tensor.Dense, in []*tensor.Dense) {
	if is64(out) {
		unaryKernel(o.kind, o.c, o.d, data[float64](out), data[float64](in[0]))
	} else {
		unaryKernel(o.kind, float32(o.c), float32(o.d), data[float32](out), data[float32](in[0]))
	}
}

// backward gives each kind's derivative, written with graph ops so that it
// can be differentiated again. y is the op's own output node.
func (o *unaryOp) backward(in []*G.Node, y, g *G.Node) []*G.Node {
	x := in[0]
	var gx *G.Node
	switch o.kind {
	case uNeg: // d(−x) = −1
		gx = Neg(g)
	case uExp: // d eˣ = eˣ = y
		gx = Mul(g, y)
	case uLog: // d log x = 1/x
		gx = Div(g, x)
	case uSqrt: // d √x = 1/(2√x) = 1/(2y)
		gx = Div(Scale(g, 0.5), y)
	case uSquare: // d x² = 2x
		gx = Scale(Mul(g, x), 2)
	case uSigmoid: // d σ = σ(1−σ) = y(1−y)
		gx = Mul(g, Mul(y, Affine(y, -1, 1)))
	case uTanh: // d tanh = 1 − tanh² = 1 − y²
		gx = Mul(g, Affine(Square(y), -1, 1))
	case uReLU: // d relu = step(x) = step(y): one fused pass
		gx = reluGrad(g, y)
	case uStep: // piecewise constant: no gradient
		return []*G.Node{nil}
	case uAffine: // d(cx + d) = c
		gx = Scale(g, o.c)
	case uSoftplus: // d log(1 + eˣ) = eˣ/(1 + eˣ) = σ(x)
		gx = Mul(g, Sigmoid(x))
	}
	return []*G.Node{gx}
}

// unaryKernel applies kind elementwise, in parallel chunks for big tensors.
func unaryKernel[T Float](kind unaryKind, c, d T, out, x []T) {
	if !bigEnough(len(out)) {
		unaryRange(kind, c, d, out, x)
		return
	}
	parallelFor(len(out), parallelGrain, func(lo, hi int) {
		unaryRange(kind, c, d, out[lo:hi], x[lo:hi])
	})
}

func unaryRange[T Float](kind unaryKind, c, d T, out, x []T) {
	x = x[:len(out)]
	switch kind {
	case uNeg:
		for i, v := range x {
			out[i] = -v
		}
	case uExp:
		for i, v := range x {
			out[i] = T(math.Exp(float64(v)))
		}
	case uLog:
		for i, v := range x {
			out[i] = T(math.Log(float64(v)))
		}
	case uSqrt:
		for i, v := range x {
			out[i] = T(math.Sqrt(float64(v)))
		}
	case uSquare:
		for i, v := range x {
			out[i] = v * v
		}
	case uSigmoid:
		for i, v := range x {
			out[i] = T(sigmoid(float64(v)))
		}
	case uTanh:
		for i, v := range x {
			out[i] = T(math.Tanh(float64(v)))
		}
	case uReLU:
		maskPositive(out, x, x)
	case uStep:
		for i, v := range x {
			if v > 0 {
				out[i] = 1
			} else {
				out[i] = 0
			}
		}
	case uAffine:
		for i, v := range x {
			out[i] = c*v + d
		}
	case uSoftplus:
		for i, v := range x {
			out[i] = T(softplus(float64(v)))
		}
	}
}

// sigmoid is 1/(1+e⁻ˣ), computed without overflow for large |x|.
func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// softplus is log(1 + eˣ) = max(x, 0) + log(1 + e^−|x|): e^−|x| ≤ 1, so
// nothing overflows, and log1p keeps the small term exact when it is
// tiny (large |x|).
func softplus(x float64) float64 {
	return max(x, 0) + math.Log1p(math.Exp(-math.Abs(x)))
}
