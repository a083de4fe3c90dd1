package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Defaults of GPOptions: the curves of DeepMind's Conditional Neural
// Processes notebook (github.com/deepmind/neural-processes,
// conditional_neural_process.ipynb, GPCurvesReader), the 1-D regression
// experiment of Garnelo et al. 2018, §4.1.
const (
	DefaultGPLengthScale = 0.4  // l1_scale
	DefaultGPSignalStd   = 1.0  // sigma_scale
	DefaultGPNoiseStd    = 0.02 // sigma_noise, "to make the cholesky work"
	DefaultGPXMin        = -2.0
	DefaultGPXMax        = 2.0
	// DefaultGPGridPoints is the number of evenly spaced test inputs,
	// XMin, XMin + 0.01, …, XMax − 0.01 (tf.range(-2., 2., 1./100)).
	DefaultGPGridPoints = 400
)

// GPOptions describes a zero-mean Gaussian process over scalar inputs with
// a squared-exponential kernel, k(a, b) = σ² exp(−(a − b)²/(2ℓ²)), observed
// with independent Gaussian noise: y = f(x) + ε. The zero value is the
// process of DeepMind's CNP notebook (the Default* constants).
type GPOptions struct {
	// LengthScale is ℓ. If zero, a default of 0.4 is used.
	LengthScale float64
	// SignalStd is σ, the standard deviation of f(x). If zero, a default
	// of 1 is used.
	SignalStd float64
	// NoiseStd is the standard deviation of ε. The notebook adds it to
	// the diagonal of the covariance so that its Cholesky factor exists
	// for points closer than ℓ; without it the 400-point test grid's
	// covariance is singular in floating point. If zero, a default of
	// 0.02 is used; a negative value means no noise.
	NoiseStd float64
	// XMin and XMax bound the inputs. If both are zero, the defaults −2
	// and 2 are used; a range given the wrong way round is swapped.
	XMin, XMax float64
}

// WithDefaults returns o with its zero fields set to their defaults and
// its input range the right way round.
func (o GPOptions) WithDefaults() GPOptions {
	if o.LengthScale == 0 {
		o.LengthScale = DefaultGPLengthScale
	}
	if o.SignalStd == 0 {
		o.SignalStd = DefaultGPSignalStd
	}
	switch {
	case o.NoiseStd == 0:
		o.NoiseStd = DefaultGPNoiseStd
	case o.NoiseStd < 0:
		o.NoiseStd = 0
	}
	if o.XMin == 0 && o.XMax == 0 {
		o.XMin, o.XMax = DefaultGPXMin, DefaultGPXMax
	}
	if o.XMin > o.XMax {
		o.XMin, o.XMax = o.XMax, o.XMin
	}
	return o
}

// Kernel returns the covariance of f(a) and f(b), σ² exp(−(a − b)²/(2ℓ²)),
// for options with defaults filled in (see WithDefaults).
func (o GPOptions) Kernel(a, b float64) float64 {
	d := (a - b) / o.LengthScale
	return o.SignalStd * o.SignalStd * math.Exp(-0.5*d*d)
}

// Covariance returns the n×n covariance of the observations y at xs,
// K(xs, xs) + NoiseStd²·I, row-major, for options with defaults filled in.
func (o GPOptions) Covariance(xs []float64) []float64 {
	n := len(xs)
	c := make([]float64, n*n)
	for i, a := range xs {
		for j, b := range xs[:i+1] {
			c[i*n+j] = o.Kernel(a, b)
			c[j*n+i] = c[i*n+j]
		}
		c[i*n+i] += o.NoiseStd * o.NoiseStd
	}
	return c
}

// Grid returns n evenly spaced inputs XMin, XMin + h, …, XMin + (n−1)·h
// with h = (XMax − XMin)/n: the notebook's test inputs for n = 400.
func (o GPOptions) Grid(n int) []float64 {
	o = o.WithDefaults()
	xs := make([]float64, max(n, 0))
	for k := range xs {
		xs[k] = o.XMin + float64(k)*(o.XMax-o.XMin)/float64(n)
	}
	return xs
}

// Cholesky returns the lower-triangular L with L·Lᵀ = a, for a symmetric
// positive definite n×n matrix a, row-major (a is not changed). It fails
// if a has the wrong size or is not positive definite to working
// precision.
func Cholesky(a []float64, n int) ([]float64, error) {
	if n < 0 || len(a) != n*n {
		return nil, fmt.Errorf("cholesky: %d values for a %d×%d matrix", len(a), n, n)
	}
	l := make([]float64, n*n)
	for j := 0; j < n; j++ {
		lj := l[j*n : j*n+j]
		d := a[j*n+j]
		for _, v := range lj {
			d -= v * v
		}
		if !(d > 0) {
			return nil, fmt.Errorf("cholesky: the matrix is not positive definite (pivot %d is %g)", j, d)
		}
		d = math.Sqrt(d)
		l[j*n+j] = d
		for i := j + 1; i < n; i++ {
			li := l[i*n : i*n+j]
			s := a[i*n+j]
			for k, v := range lj {
				s -= li[k] * v
			}
			l[i*n+j] = s / d
		}
	}
	return l, nil
}

// GPPrior is the distribution of the observations y at fixed inputs X,
// N(0, K(X, X) + NoiseStd²·I), factored once so that each sample costs
// one triangular product. It is safe for concurrent use.
type GPPrior struct {
	X []float64
	o GPOptions
	l []float64 // Cholesky factor of the covariance
}

// NewGPPrior factors the covariance of the observations at xs under o
// (zero fields: the defaults). It fails if the covariance is not positive
// definite in floating point (inputs closer than the noise allows).
func NewGPPrior(xs []float64, o GPOptions) (*GPPrior, error) {
	o = o.WithDefaults()
	l, err := Cholesky(o.Covariance(xs), len(xs))
	if err != nil {
		return nil, fmt.Errorf("gaussian process at %d inputs (length scale %g, noise %g): %w", len(xs), o.LengthScale, o.NoiseStd, err)
	}
	return &GPPrior{X: append([]float64(nil), xs...), o: o, l: l}, nil
}

// Options returns the process's options, defaults filled in.
func (p *GPPrior) Options() GPOptions { return p.o }

// Sample returns one draw of the observations at X: L·z with z a vector
// of len(X) standard normal values drawn from rng, in order.
func (p *GPPrior) Sample(rng *rand.Rand) []float64 {
	n := len(p.X)
	z := make([]float64, n)
	for i := range z {
		z[i] = rng.NormFloat64()
	}
	y := make([]float64, n)
	for i := range y {
		s := 0.0
		for k, v := range p.l[i*n : i*n+i+1] {
			s += v * z[k]
		}
		y[i] = s
	}
	return y
}

// SampleGP draws the observations at xs of one function of the process
// o (zero fields: the defaults), with the normal values taken from rng.
func SampleGP(rng *rand.Rand, xs []float64, o GPOptions) ([]float64, error) {
	p, err := NewGPPrior(xs, o)
	if err != nil {
		return nil, err
	}
	return p.Sample(rng), nil
}
