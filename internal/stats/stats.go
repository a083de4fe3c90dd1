package stats

import (
	"fmt"
	"math"
	"slices"
)

// z95 is the two-sided 95% quantile of the standard normal distribution as
// MAML's code rounds it.
const z95 = 1.96

// MeanCI95 returns the mean of xs and the half-width of its 95% confidence
// interval, 1.96·σ/√n, where σ is the population standard deviation
// (divisor n, as np.std). One value gives a ci of 0; no values give NaN for
// both. A NaN or infinity in xs makes the results NaN or infinite.
func MeanCI95(xs []float64) (mean, ci float64) {
	n := len(xs)
	if n == 0 {
		return math.NaN(), math.NaN()
	}
	var r Running
	for _, x := range xs {
		r.Add(x)
	}
	return r.Mean(), r.CI95()
}

// Median returns the middle value of xs (the mean of the two middle ones
// for an even count), NaN for none; xs is left as it was.
func Median(xs []float64) float64 {
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Summary is a mean with the half-width of its 95% confidence interval, as
// reported in tables: Mean ± CI95 over N values.
type Summary struct {
	Mean, CI95 float64
	N          int
}

// Summarize returns the Summary of xs; see MeanCI95.
func Summarize(xs []float64) Summary {
	m, ci := MeanCI95(xs)
	return Summary{Mean: m, CI95: ci, N: len(xs)}
}

// String formats s with three decimals, e.g. "0.362 ± 0.041"; values of
// 10⁴ or more, or non-finite, in four significant digits, e.g.
// "3.384e+40 ± +Inf" (a diverged run must not print hundreds of digits).
func (s Summary) String() string { return Decimal(s.Mean) + " ± " + Decimal(s.CI95) }

// Decimal formats x with three decimals, or in four significant digits
// when |x| ≥ 10⁴ or x is not finite.
func Decimal(x float64) string {
	if math.Abs(x) < 1e4 {
		return fmt.Sprintf("%.3f", x)
	}
	return fmt.Sprintf("%.4g", x)
}

// Percent formats s, a summary of fractions such as accuracies, as
// percentages with two decimals, e.g. "98.70 ± 0.40%".
func (s Summary) Percent() string {
	return fmt.Sprintf("%.2f ± %.2f%%", 100*s.Mean, 100*s.CI95)
}

// Running accumulates a mean and population variance one value at a time
// (Welford's algorithm), in constant memory. The zero value is empty and
// ready to use.
type Running struct {
	n    int
	mean float64
	m2   float64 // sum of squared deviations from the mean
}

// Add adds x to the running statistics.
func (r *Running) Add(x float64) {
	r.n++
	d := x - r.mean
	r.mean += d / float64(r.n)
	r.m2 += d * (x - r.mean)
}

// N returns the number of values added since the last Reset.
func (r *Running) N() int { return r.n }

// Mean returns the mean of the values added, or NaN if there are none.
func (r *Running) Mean() float64 {
	if r.n == 0 {
		return math.NaN()
	}
	return r.mean
}

// Std returns the population standard deviation (divisor n) of the values
// added, or NaN if there are none.
func (r *Running) Std() float64 {
	if r.n == 0 {
		return math.NaN()
	}
	return math.Sqrt(max(r.m2, 0) / float64(r.n))
}

// CI95 returns 1.96·Std()/√N(), the half-width of the 95% confidence
// interval of the mean, or NaN if no values were added.
func (r *Running) CI95() float64 {
	if r.n == 0 {
		return math.NaN()
	}
	return z95 * r.Std() / math.Sqrt(float64(r.n))
}

// Summary returns the running statistics as a Summary.
func (r *Running) Summary() Summary {
	return Summary{Mean: r.Mean(), CI95: r.CI95(), N: r.n}
}

// Reset empties r.
func (r *Running) Reset() { *r = Running{} }

// EMA is an exponential moving average, v ← (1−Alpha)·v + Alpha·x, for
// smoothing noisy training curves. The first value added initializes v. The
// zero value is ready to use with Alpha = DefaultEMAAlpha.
type EMA struct {
	// Alpha is the weight of each new value, in (0, 1]. Outside that range
	// (in particular if zero), DefaultEMAAlpha is used.
	Alpha float64

	v float64
	n int
}

// DefaultEMAAlpha is the weight EMA gives a new value when its Alpha is
// unset or out of range.
const DefaultEMAAlpha = 0.1

// Add folds x into the average.
func (e *EMA) Add(x float64) {
	a := e.Alpha
	if !(a > 0 && a <= 1) {
		a = DefaultEMAAlpha
	}
	if e.n == 0 {
		e.v = x
	} else {
		e.v += a * (x - e.v)
	}
	e.n++
}

// Value returns the current average, or NaN if no values were added.
func (e *EMA) Value() float64 {
	if e.n == 0 {
		return math.NaN()
	}
	return e.v
}

// N returns the number of values added.
func (e *EMA) N() int { return e.n }
