package metalearn

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestLinearHeadGradient: the head's cross-entropy gradient with respect
// to W and b equals central finite differences of its loss.
func TestLinearHeadGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const ways, dim, rows = 3, 4, 7
	h := newLinearHead(ways, dim)
	for i := range h.w {
		h.w[i] = rng.NormFloat64()
	}
	for i := range h.b {
		h.b[i] = rng.NormFloat64()
	}
	e, labels := make([]float64, rows*dim), make([]float64, rows)
	for i := range e {
		e[i] = 2 * rng.NormFloat64()
	}
	for i := range labels {
		labels[i] = float64(rng.IntN(ways))
	}
	gw, gb := make([]float64, len(h.w)), make([]float64, len(h.b))
	h.loss(e, labels, gw, gb)
	const eps = 1e-6
	check := func(what string, vals, grad []float64) {
		for i := range vals {
			v := vals[i]
			vals[i] = v + eps
			up := h.loss(e, labels, nil, nil)
			vals[i] = v - eps
			down := h.loss(e, labels, nil, nil)
			vals[i] = v
			fd := (up - down) / (2 * eps)
			if math.Abs(fd-grad[i]) > 1e-7*max(1, math.Abs(fd)) {
				t.Errorf("∂loss/∂%s[%d] = %.10g, finite differences %.10g", what, i, grad[i], fd)
			}
		}
	}
	check("W", h.w, gw)
	check("b", h.b, gb)
}

// separableSet draws n examples per class of ways classes in dim ≥ ways
// dimensions: class c sits at 3 along axis c, on top of an offset of 1 in
// every dimension shared by all (as ReLU features have), with Gaussian
// noise of deviation 0.3; labels class by class.
func separableSet(rng *rand.Rand, ways, dim, n int) (e, labels []float64) {
	for c := range ways {
		for range n {
			for d := range dim {
				v := 1 + 0.3*rng.NormFloat64()
				if d == c {
					v += 3
				}
				e = append(e, v)
			}
			labels = append(labels, float64(c))
		}
	}
	return e, labels
}

// TestFitHeadSeparable: on separable embeddings the fitted head classifies
// its support set and the queries perfectly after 100 steps, its loss
// falling at each measured step; after 0 steps, the zero head, every
// class scores the same: the loss is log(ways) and the accuracy chance
// (ties go to the first class, as graph.Accuracy breaks them).
func TestFitHeadSeparable(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const ways, dim = 4, 6
	sup, supY := separableSet(rng, ways, dim, 2)
	qry, qryY := separableSet(rng, ways, dim, 10)
	at := []int{0, 1, 10, 100}
	for _, set := range []struct {
		name string
		x, y []float64
	}{{"support", sup, supY}, {"query", qry, qryY}} {
		r, err := fitHead(sup, supY, set.x, set.y, ways, dim, at, 0.01)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(r.Steps, at) || len(r.Loss) != len(at) || len(r.Accuracy) != len(at) || len(r.Outputs) != len(at) {
			t.Fatalf("%s: steps %v, %d losses, %d accuracies, %d outputs; want one each for %v", set.name, r.Steps, len(r.Loss), len(r.Accuracy), len(r.Outputs), at)
		}
		first := 0
		for _, y := range set.y {
			if y == 0 {
				first++
			}
		}
		if chance := float64(first) / float64(len(set.y)); r.Accuracy[0] != chance || math.Abs(r.Loss[0]-math.Log(ways)) > 1e-12 {
			t.Errorf("%s after 0 steps: accuracy %v, loss %v; want %v and log %d = %v", set.name, r.Accuracy[0], r.Loss[0], chance, ways, math.Log(ways))
		}
		for k := 1; k < len(at); k++ {
			if !(r.Loss[k] < r.Loss[k-1]) {
				t.Errorf("%s: loss %v after %d steps, %v after %d", set.name, r.Loss[k], at[k], r.Loss[k-1], at[k-1])
			}
		}
		if last := len(at) - 1; r.Accuracy[last] != 1 || len(r.Outputs[last]) != len(set.y)*ways {
			t.Errorf("%s after %d steps: accuracy %v, %d outputs; want 1 and %d", set.name, at[last], r.Accuracy[last], len(r.Outputs[last]), len(set.y)*ways)
		}
	}
}
