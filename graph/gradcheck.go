package graph

import (
	"fmt"
	"math"

	G "gorgonia.org/gorgonia"
)

// CheckOptions tunes CheckGradient.
type CheckOptions struct {
	// Eps is the finite-difference step. If zero, a default of 1e-5 is used.
	Eps float64
	// Floor is the smallest denominator of the relative error, so entries
	// near zero are judged by absolute error. If zero, a default of 1e-3 is
	// used.
	Floor float64
	// Feeds gives the values of the graph's inputs (nodes without a value).
	Feeds map[*G.Node][]float64
}

// CheckResult is the outcome of CheckGradient.
type CheckResult struct {
	// MaxRelErr is the largest |analytic − numeric| / max(|analytic|,
	// |numeric|, Floor) over every element of every wrt node.
	MaxRelErr float64
	// Worst names the element with the largest error.
	Worst string
	// Checked counts the elements compared.
	Checked int
}

// CheckGradient compares Grad(y, wrt...) with central finite differences
// (f(x+ε) − f(x−ε)) / 2ε, element by element. y must be a scalar; each wrt
// node must be a leaf: a parameter (its value is perturbed in place and
// restored) or an input given in opts.Feeds. Use float64 graphs: float32
// finite differences are too coarse for tight tolerances.
//
// To check a second derivative, pass as y any scalar built from a gradient,
// e.g. Sum(Mul(Grad(f, x)[0], v)).
func CheckGradient(y *G.Node, wrt []*G.Node, opts CheckOptions) (CheckResult, error) {
	if opts.Eps == 0 {
		opts.Eps = 1e-5
	}
	if opts.Floor == 0 {
		opts.Floor = 1e-3
	}
	grads, err := Grad(y, wrt...)
	if err != nil {
		return CheckResult{}, fmt.Errorf("check gradient: %w", err)
	}
	r, err := NewRunner(append([]*G.Node{y}, grads...)...)
	if err != nil {
		return CheckResult{}, fmt.Errorf("check gradient: %w", err)
	}
	for n, v := range opts.Feeds {
		if err := r.Feed(n, v); err != nil {
			return CheckResult{}, fmt.Errorf("check gradient: %w", err)
		}
	}
	if err := r.Run(); err != nil {
		return CheckResult{}, fmt.Errorf("check gradient: %w", err)
	}
	analytic := make([][]float64, len(grads))
	for i, g := range grads {
		analytic[i] = append([]float64(nil), r.Float64s(g)...)
	}
	var res CheckResult
	for i, x := range wrt {
		if x.Op() != nil {
			return res, fmt.Errorf("check gradient: %s is not a leaf (parameter or input)", x.Name())
		}
		val, ok := r.vals[x]
		if !ok {
			return res, fmt.Errorf("check gradient: y does not depend on %s", x.Name())
		}
		get, set := elementAccess(val)
		for j := range analytic[i] {
			orig := get(j)
			set(j, orig+opts.Eps)
			fp, err := runScalar(r, y)
			if err != nil {
				return res, err
			}
			set(j, orig-opts.Eps)
			fm, err := runScalar(r, y)
			if err != nil {
				return res, err
			}
			set(j, orig)
			num := (fp - fm) / (2 * opts.Eps)
			a := analytic[i][j]
			rel := math.Abs(a-num) / math.Max(math.Max(math.Abs(a), math.Abs(num)), opts.Floor)
			if math.IsNaN(rel) {
				rel = math.Inf(1)
			}
			res.Checked++
			if rel > res.MaxRelErr || res.Worst == "" {
				res.MaxRelErr = rel
				res.Worst = fmt.Sprintf("%s[%d]: analytic %.10g, numeric %.10g", x.Name(), j, a, num)
			}
		}
	}
	return res, nil
}

func runScalar(r *Runner, y *G.Node) (float64, error) {
	if err := r.Run(); err != nil {
		return 0, fmt.Errorf("check gradient: %w", err)
	}
	return r.Scalar(y), nil
}
