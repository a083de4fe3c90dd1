package graph

import (
	"hash/fnv"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Initializers in this file fill parameter tensors of dtype tensor.Float64 or
// tensor.Float32. Random ones are deterministic: each draws from its own
// rand.New(rand.NewPCG(Seed, initStream)) generator, so the same seed and
// shape always give the same values. Values are generated in row-major
// (logical) order as float64 and converted to float32 when needed. Tensors of
// any other dtype are left unchanged, since Fill cannot report an error.
//
// Fan-in and fan-out follow the layout our layers use:
//
//   - 0-D or 1-D of length n:       fanIn = fanOut = n (1 for a scalar)
//   - 2-D weight (in, out), x·W:     fanIn = in, fanOut = out
//   - 4-D conv weight (F, C, kh, kw): fanIn = C*kh*kw, fanOut = F*kh*kw
//
// and, generally, for d ≥ 3 dims (s0, s1, rest...) with r = ∏ rest:
// fanIn = s1*r, fanOut = s0*r.

// initStream is the PCG stream used by every random initializer. It is a fixed
// constant so that a seed alone determines the values.
const initStream uint64 = 0x6d657461676f6e31 // "metagon1"

// Fans returns the fan-in and fan-out of a parameter of the given shape, by
// the convention documented above. A zero fan is reported as 1 so that the
// variance formulas never divide by zero.
func Fans(shape []int) (fanIn, fanOut int) {
	switch len(shape) {
	case 0:
		fanIn, fanOut = 1, 1
	case 1:
		fanIn, fanOut = shape[0], shape[0]
	case 2:
		fanIn, fanOut = shape[0], shape[1]
	default:
		r := 1
		for _, d := range shape[2:] {
			r *= d
		}
		fanIn, fanOut = shape[1]*r, shape[0]*r
	}
	return max(fanIn, 1), max(fanOut, 1)
}

// InitSeed derives a per-parameter seed from a base seed and a parameter
// name: the 64-bit FNV-1a hash of name is mixed with base through SplitMix64
// finalizers. The result is reproducible, and different names (or different
// bases) give unrelated streams, so every parameter of a model can be
// initialized with, e.g., HeNormal{Seed: InitSeed(seed, "w1")}.
func InitSeed(base uint64, name string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(name)) // hash.Hash.Write never fails
	return splitmix64(base ^ splitmix64(h.Sum64()^0x9e3779b97f4a7c15))
}

// splitmix64 is the SplitMix64 output function (a bijective 64-bit mixer).
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// newInitRand returns the deterministic generator of an initializer.
func newInitRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, initStream))
}

// initFill sets every element of t, in row-major order, to next(). It handles
// Float64 and Float32 tensors, contiguous or not, and leaves others unchanged.
func initFill(t *tensor.Dense, next func() float64) {
	if t == nil || t.Shape().TotalSize() == 0 {
		return
	}
	switch t.Dtype() {
	case tensor.Float64:
		initFillSlice(t, t.Float64s(), next)
	case tensor.Float32:
		initFillSlice(t, t.Float32s(), next)
	}
}

// initFillSlice writes next() into data, the backing slice of t, following t's
// iterator when t is a non-contiguous view.
func initFillSlice[T float32 | float64](t *tensor.Dense, data []T, next func() float64) {
	if !t.RequiresIterator() {
		n := min(t.Shape().TotalSize(), len(data))
		for i := range data[:n] {
			data[i] = T(next())
		}
		return
	}
	it := t.Iterator()
	for i, err := it.Start(); err == nil; i, err = it.Next() {
		if i >= 0 && i < len(data) {
			data[i] = T(next())
		}
	}
}

// Zeros fills a tensor with 0.
type Zeros struct{}

// Fill implements Initializer.
func (Zeros) Fill(t *tensor.Dense) { initFill(t, func() float64 { return 0 }) }

// Constant fills a tensor with Value.
type Constant struct {
	Value float64
}

// Fill implements Initializer.
func (c Constant) Fill(t *tensor.Dense) { initFill(t, func() float64 { return c.Value }) }

// Normal fills a tensor with independent draws from N(Mean, Std²).
type Normal struct {
	Mean, Std float64
	Seed      uint64
}

// Fill implements Initializer.
func (n Normal) Fill(t *tensor.Dense) {
	r := newInitRand(n.Seed)
	initFill(t, func() float64 { return n.Mean + n.Std*r.NormFloat64() })
}

// Uniform fills a tensor with independent draws from U[Low, High).
type Uniform struct {
	Low, High float64
	Seed      uint64
}

// Fill implements Initializer.
func (u Uniform) Fill(t *tensor.Dense) {
	r := newInitRand(u.Seed)
	initFill(t, func() float64 { return u.Low + (u.High-u.Low)*r.Float64() })
}

// TruncatedNormal fills a tensor with draws from N(0, Std²) restricted to
// [−2·Std, 2·Std]: a draw beyond two standard deviations is discarded and
// drawn again. (The result's standard deviation is about 0.88·Std.)
type TruncatedNormal struct {
	Std  float64
	Seed uint64
}

// Fill implements Initializer.
func (tn TruncatedNormal) Fill(t *tensor.Dense) {
	r := newInitRand(tn.Seed)
	initFill(t, func() float64 { return truncNormal(r, tn.Std) })
}

// truncNormal draws from N(0, std²) resampling beyond 2 std.
func truncNormal(r *rand.Rand, std float64) float64 {
	for {
		z := r.NormFloat64()
		if math.Abs(z) <= 2 {
			return std * z
		}
	}
}

// GlorotUniform (Xavier uniform) fills a tensor with draws from U[−l, l) where
// l = sqrt(6 / (fanIn + fanOut)), giving variance 2 / (fanIn + fanOut). See
// Fans for the fan convention.
type GlorotUniform struct {
	Seed uint64
}

// Fill implements Initializer.
func (g GlorotUniform) Fill(t *tensor.Dense) {
	if t == nil {
		return
	}
	in, out := Fans(t.Shape())
	limit := math.Sqrt(6 / float64(in+out))
	Uniform{Low: -limit, High: limit, Seed: g.Seed}.Fill(t)
}

// GlorotNormal (Xavier normal) fills a tensor with draws from N(0, σ²) where
// σ = sqrt(2 / (fanIn + fanOut)). The normal is not truncated. See Fans for
// the fan convention.
type GlorotNormal struct {
	Seed uint64
}

// Fill implements Initializer.
func (g GlorotNormal) Fill(t *tensor.Dense) {
	if t == nil {
		return
	}
	in, out := Fans(t.Shape())
	Normal{Std: math.Sqrt(2 / float64(in+out)), Seed: g.Seed}.Fill(t)
}

// HeUniform (Kaiming uniform, for ReLU layers) fills a tensor with draws from
// U[−l, l) where l = sqrt(6 / fanIn), giving variance 2 / fanIn. See Fans for
// the fan convention.
type HeUniform struct {
	Seed uint64
}

// Fill implements Initializer.
func (h HeUniform) Fill(t *tensor.Dense) {
	if t == nil {
		return
	}
	in, _ := Fans(t.Shape())
	limit := math.Sqrt(6 / float64(in))
	Uniform{Low: -limit, High: limit, Seed: h.Seed}.Fill(t)
}

// HeNormal (Kaiming normal, for ReLU layers) fills a tensor with draws from
// N(0, σ²) where σ = sqrt(2 / fanIn). The normal is not truncated. See Fans
// for the fan convention.
type HeNormal struct {
	Seed uint64
}

// Fill implements Initializer.
func (h HeNormal) Fill(t *tensor.Dense) {
	if t == nil {
		return
	}
	in, _ := Fans(t.Shape())
	Normal{Std: math.Sqrt(2 / float64(in)), Seed: h.Seed}.Fill(t)
}
