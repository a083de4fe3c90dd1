package stats

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// twoPass returns the mean, the population standard deviation and
// 1.96·σ/√n of xs the textbook way.
func twoPass(xs []float64) (mean, std, ci float64) {
	for _, x := range xs {
		mean += x
	}
	n := float64(len(xs))
	mean /= n
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	std = math.Sqrt(ss / n)
	return mean, std, 1.96 * std / math.Sqrt(n)
}

func approx(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }

func TestMeanCI95(t *testing.T) {
	// 1, 2, 3, 4: mean 2.5, population variance ((1.5²+0.5²)·2)/4 = 1.25.
	m, ci := MeanCI95([]float64{1, 2, 3, 4})
	if wantCI := 1.96 * math.Sqrt(1.25) / 2; !approx(m, 2.5) || !approx(ci, wantCI) {
		t.Errorf("MeanCI95(1..4) = %v, %v, want 2.5, %v", m, ci, wantCI)
	}

	rng := rand.New(rand.NewPCG(1, 2))
	xs := make([]float64, 600)
	for i := range xs {
		xs[i] = 1e3 + rng.NormFloat64() // offset tests Welford's stability
	}
	wantM, _, wantCI := twoPass(xs)
	m, ci = MeanCI95(xs)
	if !approx(m, wantM) || math.Abs(ci-wantCI) > 1e-9 {
		t.Errorf("MeanCI95 = %v, %v, want %v, %v", m, ci, wantM, wantCI)
	}

	if m, ci := MeanCI95([]float64{7}); m != 7 || ci != 0 {
		t.Errorf("MeanCI95(7) = %v, %v, want 7, 0", m, ci)
	}
	if m, ci := MeanCI95(nil); !math.IsNaN(m) || !math.IsNaN(ci) {
		t.Errorf("MeanCI95(nil) = %v, %v, want NaN, NaN", m, ci)
	}
}

func TestSummary(t *testing.T) {
	xs := []float64{0.3, 0.35, 0.4, 0.5, 0.26}
	s := Summarize(xs)
	m, _, ci := twoPass(xs)
	if s.N != 5 || !approx(s.Mean, m) || !approx(s.CI95, ci) {
		t.Fatalf("Summarize = %+v, want mean %v ci %v n 5", s, m, ci)
	}
	if got, want := (Summary{Mean: 0.3621, CI95: 0.0414}).String(), "0.362 ± 0.041"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got, want := (Summary{Mean: 0.987, CI95: 0.004}).Percent(), "98.70 ± 0.40%"; got != want {
		t.Errorf("Percent() = %q, want %q", got, want)
	}
}

func TestRunning(t *testing.T) {
	var r Running
	if !math.IsNaN(r.Mean()) || !math.IsNaN(r.Std()) || !math.IsNaN(r.CI95()) || r.N() != 0 {
		t.Fatal("empty Running should report NaN and N 0")
	}
	xs := []float64{2, 4, 4, 4, 5, 5, 7, 9} // mean 5, population std 2
	for _, x := range xs {
		r.Add(x)
	}
	if r.N() != 8 || !approx(r.Mean(), 5) || !approx(r.Std(), 2) || !approx(r.CI95(), 1.96*2/math.Sqrt(8)) {
		t.Fatalf("Running: n %d mean %v std %v ci %v", r.N(), r.Mean(), r.Std(), r.CI95())
	}
	if s, want := r.Summary(), Summarize(xs); s.N != want.N || !approx(s.Mean, want.Mean) || !approx(s.CI95, want.CI95) {
		t.Fatalf("Summary() = %+v, Summarize = %+v", s, want)
	}
	r.Reset()
	if r.N() != 0 || !math.IsNaN(r.Mean()) {
		t.Fatal("Reset did not empty")
	}
}

func TestEMA(t *testing.T) {
	var e EMA
	if !math.IsNaN(e.Value()) {
		t.Fatal("empty EMA should be NaN")
	}
	e.Add(10) // first value initializes
	e.Add(0)  // default alpha 0.1: 10 + 0.1·(0−10) = 9
	if !approx(e.Value(), 9) || e.N() != 2 {
		t.Fatalf("EMA = %v (n %d), want 9", e.Value(), e.N())
	}
	f := EMA{Alpha: 0.5}
	for _, x := range []float64{4, 8, 0} { // 4 → 6 → 3
		f.Add(x)
	}
	if !approx(f.Value(), 3) {
		t.Fatalf("EMA(0.5) = %v, want 3", f.Value())
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	} {
		in := slices.Clone(c.xs)
		if got := Median(c.xs); got != c.want || !slices.Equal(in, c.xs) {
			t.Errorf("Median(%v) = %v, want %v, input left as it was", in, got, c.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Errorf("Median(nil) = %v, want NaN", Median(nil))
	}
}
