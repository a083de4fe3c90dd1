package models

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/graph"
)

// quadratic is a least-squares problem: a linear layer (x·w + b, one
// output) fitted by the mean squared error to targets 1 (label 0) and 0
// (label 1). Its loss is quadratic in θ = (w, b) with Hessian
// H = (2/N)·AᵀA, A = [x 1], so plain gradient descent converges for rates
// below 2/λmax(H) and diverges above.
type quadratic struct {
	n, in     int
	x, labels []float64
}

func newQuadratic() quadratic {
	q := quadratic{n: 64, in: 5}
	rng := rand.New(rand.NewPCG(8, 9))
	q.x, q.labels = make([]float64, q.n*q.in), make([]float64, q.n)
	for r := range q.n {
		for k := range q.in {
			q.x[r*q.in+k] = float64(k+1) * rng.NormFloat64() // features of different scales
		}
		q.labels[r] = float64(rng.IntN(2))
	}
	return q
}

// lambdaMax returns the largest eigenvalue of H by power iteration.
func (q quadratic) lambdaMax() float64 {
	d := q.in + 1
	row := func(r int) []float64 { return append(append([]float64(nil), q.x[r*q.in:(r+1)*q.in]...), 1) }
	v := make([]float64, d)
	for i := range v {
		v[i] = 1
	}
	lambda := 0.0
	for range 500 {
		hv := make([]float64, d)
		for r := range q.n {
			a := row(r)
			dot := 0.0
			for i := range d {
				dot += a[i] * v[i]
			}
			for i := range d {
				hv[i] += 2 * a[i] * dot / float64(q.n)
			}
		}
		norm := 0.0
		for _, e := range hv {
			norm += e * e
		}
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] = hv[i] / norm
		}
		lambda = norm
	}
	return lambda
}

func (q quadratic) trainer(t *testing.T) *Trainer {
	t.Helper()
	tr, err := NewTrainer(&MLP{Sizes: []int{q.in, 1}}, graph.NewSGD(1), TrainerOptions{Loss: MSELoss, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// finalLoss trains a fresh trainer with full-batch gradient descent at
// rate lr for steps steps and returns the loss after them (+Inf when it
// diverged).
func (q quadratic) finalLoss(t *testing.T, lr float64, steps int) float64 {
	tr := q.trainer(t)
	tr.Opt.(graph.LRSetter).SetLR(lr)
	for range steps + 1 {
		loss, err := tr.Step(q.x, q.labels)
		if err != nil || loss > 1e6 {
			return math.Inf(1)
		}
		if tr.Steps == int64(steps)+1 {
			return loss
		}
	}
	return math.Inf(1)
}

// TestFindLRQuadratic runs the range test on the least-squares problem,
// where the rates that train are known: the suggestion lies in the swept
// range and within 10× of the rate that trains best in 50 steps of
// gradient descent, found by training at rates 2^(k/4)/λmax; and the
// trainer is left as it was.
func TestFindLRQuadratic(t *testing.T) {
	q := newQuadratic()
	lmax := q.lambdaMax()
	tr := q.trainer(t)
	before := append([]float64(nil), tr.Params.Get("w1").Value.Float64s()...)
	res, err := tr.FindLR(LRRangeOptions{MinLR: 1e-6, MaxLR: 10}, func(int) ([]float64, []float64, error) { return q.x, q.labels, nil })
	if err != nil {
		t.Fatal(err)
	}
	const steps = 50
	best, bestLoss := 0.0, math.Inf(1)
	for k := -24; k <= 8; k++ {
		lr := math.Pow(2, float64(k)/4) / lmax
		if l := q.finalLoss(t, lr, steps); l < bestLoss {
			best, bestLoss = lr, l
		}
	}
	t.Logf("λmax %.4g (stable below %.4g); best rate for %d steps %.4g; lowest smoothed loss at %.4g (step %d of %d, diverged %v); suggestion %.4g",
		lmax, 2/lmax, steps, best, res.Lowest.LR, res.Lowest.Step, len(res.Points), res.Diverged, res.Suggested)
	if !(res.Suggested >= res.Options.MinLR && res.Suggested <= res.Options.MaxLR) {
		t.Errorf("suggestion %g outside the sweep [%g, %g]", res.Suggested, res.Options.MinLR, res.Options.MaxLR)
	}
	if res.Suggested < best/10 || res.Suggested > best*10 {
		t.Errorf("suggestion %g is not within 10× of the best rate %g", res.Suggested, best)
	}
	if !res.Diverged || res.Edge != "" {
		t.Errorf("the sweep to rate 10 should diverge (λmax %g) with its minimum inside: diverged %v, edge %q", lmax, res.Diverged, res.Edge)
	}
	if got := tr.Params.Get("w1").Value.Float64s(); tr.Steps != 0 || tr.Opt.(graph.LRSetter).GetLR() != 1 || !slices.Equal(got, before) {
		t.Errorf("FindLR left the trainer changed: steps %d, rate %g, weights %v (were %v)", tr.Steps, tr.Opt.(graph.LRSetter).GetLR(), got, before)
	}
	for i, p := range res.Points {
		if want := 1e-6 * math.Pow(1e7, float64(i)/float64(res.Options.Steps-1)); math.Abs(p.LR-want) > 1e-12*want {
			t.Errorf("step %d at rate %g, want %g", i, p.LR, want)
		}
	}
}

// TestFindLREdges: a sweep that ends before the loss turns up says to
// raise the highest rate, one that starts too high stops early with the
// lowest loss at its first rate and says to lower the lowest; options
// that mean nothing are refused.
func TestFindLREdges(t *testing.T) {
	q := newQuadratic()
	lmax := q.lambdaMax()
	batch := func(int) ([]float64, []float64, error) { return q.x, q.labels, nil }
	low, err := q.trainer(t).FindLR(LRRangeOptions{MinLR: 1e-3 / lmax, MaxLR: 0.5 / lmax, Steps: 50}, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res := low; res.Diverged || !strings.Contains(res.Edge, "raise the highest rate") || res.Suggested != res.Lowest.LR/10 {
		t.Errorf("sweep below the stable rates: diverged %v, edge %q, suggestion %g (lowest at %g)", res.Diverged, res.Edge, res.Suggested, res.Lowest.LR)
	}
	high, err := q.trainer(t).FindLR(LRRangeOptions{MinLR: 4 / lmax, MaxLR: 100 / lmax, Steps: 50}, batch)
	if err != nil {
		t.Fatal(err)
	}
	if res := high; !res.Diverged || !strings.Contains(res.Edge, "lower the lowest rate") || res.Suggested != res.Options.MinLR {
		t.Errorf("sweep above the stable rates: diverged %v after %d steps, edge %q, suggestion %g (lowest rate %g)", res.Diverged, len(res.Points), res.Edge, res.Suggested, res.Options.MinLR)
	}
	for _, o := range []LRRangeOptions{{MinLR: -1}, {MinLR: 1, MaxLR: 0.5}, {Steps: 1}, {Smoothing: 1}, {Diverge: 0.5}, {MaxLR: math.Inf(1)}} {
		if _, err := q.trainer(t).FindLR(o, batch); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
