package data

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestGPDefaults(t *testing.T) {
	got := GPOptions{}.WithDefaults()
	want := GPOptions{LengthScale: 0.4, SignalStd: 1, NoiseStd: 0.02, XMin: -2, XMax: 2}
	if got != want {
		t.Fatalf("WithDefaults() = %+v, want %+v", got, want)
	}
	got = GPOptions{NoiseStd: -1, XMin: 3, XMax: 1}.WithDefaults()
	if got.NoiseStd != 0 || got.XMin != 1 || got.XMax != 3 {
		t.Fatalf("no noise and a reversed range: %+v", got)
	}
}

// TestGPGrid: the notebook's test inputs, tf.range(-2., 2., 1./100).
func TestGPGrid(t *testing.T) {
	xs := GPOptions{}.Grid(DefaultGPGridPoints)
	if len(xs) != 400 {
		t.Fatalf("%d grid points, want 400", len(xs))
	}
	for k, x := range xs {
		if want := -2 + float64(k)/100; math.Abs(x-want) > 1e-15 {
			t.Fatalf("grid[%d] = %v, want %v", k, x, want)
		}
	}
}

// TestCholesky: L·Lᵀ rebuilds a random symmetric positive definite
// matrix B·Bᵀ + I, L is lower triangular, and bad input is refused.
func TestCholesky(t *testing.T) {
	const n = 7
	rng := rand.New(rand.NewPCG(3, 4))
	b := make([]float64, n*n)
	for i := range b {
		b[i] = rng.NormFloat64()
	}
	a := make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			for k := 0; k < n; k++ {
				a[i*n+j] += b[i*n+k] * b[j*n+k]
			}
		}
		a[i*n+i]++
	}
	l, err := Cholesky(a, n)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			if j > i && l[i*n+j] != 0 {
				t.Fatalf("L[%d,%d] = %v above the diagonal", i, j, l[i*n+j])
			}
			s := 0.0
			for k := 0; k < n; k++ {
				s += l[i*n+k] * l[j*n+k]
			}
			if math.Abs(s-a[i*n+j]) > 1e-12*math.Abs(a[i*n+i]) {
				t.Fatalf("(L·Lᵀ)[%d,%d] = %v, want %v", i, j, s, a[i*n+j])
			}
		}
	}
	if _, err := Cholesky([]float64{1, 2, 2, 1}, 2); err == nil || !strings.Contains(err.Error(), "not positive definite") {
		t.Errorf("indefinite matrix: err %v", err)
	}
	if _, err := Cholesky([]float64{1, 2, 3}, 2); err == nil {
		t.Error("3 values for a 2×2 matrix: no error")
	}
}

// TestGPNoiseMakesGridFactorable: the 400-point grid's covariance is
// singular in floating point without the notebook's noise, and factors
// with it.
func TestGPNoiseMakesGridFactorable(t *testing.T) {
	grid := GPOptions{}.Grid(DefaultGPGridPoints)
	if _, err := NewGPPrior(grid, GPOptions{}); err != nil {
		t.Fatalf("with the default noise: %v", err)
	}
	if _, err := NewGPPrior(grid, GPOptions{NoiseStd: -1}); err == nil {
		t.Fatal("without noise: the covariance factored; want an error")
	}
}

// TestGPSampleCovariance: the sample covariance of many draws at a few
// inputs matches the kernel (plus the noise on the diagonal) within 5
// standard errors, and the sample means are 0 within 5 standard errors.
// For jointly normal values with covariance C, the product yᵢyⱼ has
// variance CᵢᵢCⱼⱼ + Cᵢⱼ², so the mean of n products has standard error
// √((CᵢᵢCⱼⱼ + Cᵢⱼ²)/n); the mean of yᵢ has √(Cᵢᵢ/n).
func TestGPSampleCovariance(t *testing.T) {
	const draws = 20000
	xs := []float64{-1.9, -1.5, -1.3, 0, 0.2, 1.1}
	p, err := NewGPPrior(xs, GPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := p.Options().Covariance(xs)
	n := len(xs)
	rng := rand.New(rand.NewPCG(11, 12))
	sum := make([]float64, n)
	prod := make([]float64, n*n)
	for range draws {
		y := p.Sample(rng)
		for i := range y {
			sum[i] += y[i]
			for j := range y {
				prod[i*n+j] += y[i] * y[j]
			}
		}
	}
	for i := 0; i < n; i++ {
		if m, se := sum[i]/draws, math.Sqrt(c[i*n+i]/draws); math.Abs(m) > 5*se {
			t.Errorf("mean at x = %v: %.4f, want 0 ± %.4f", xs[i], m, 5*se)
		}
		for j := 0; j < n; j++ {
			got := prod[i*n+j] / draws
			se := math.Sqrt((c[i*n+i]*c[j*n+j] + c[i*n+j]*c[i*n+j]) / draws)
			if math.Abs(got-c[i*n+j]) > 5*se {
				t.Errorf("cov(x = %v, x = %v) = %.4f, kernel %.4f (5 SE = %.4f)", xs[i], xs[j], got, c[i*n+j], 5*se)
			}
		}
	}
	// the kernel itself: σ² at distance 0, σ²·e^(−½) at one length scale
	o := p.Options()
	if k := o.Kernel(0.3, 0.3+o.LengthScale); math.Abs(k-math.Exp(-0.5)) > 1e-15 {
		t.Errorf("k at one length scale = %v, want e^(−½)", k)
	}
}
