package graph

import (
	"fmt"
	"math"
	"slices"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// filled returns a new tensor of the given dtype and shape filled by init.
func initFilled(dt tensor.Dtype, shape []int, init Initializer) *tensor.Dense {
	t := tensor.New(tensor.Of(dt), tensor.WithShape(shape...))
	init.Fill(t)
	return t
}

// values returns the elements of a float tensor as float64.
func denseValues(t *tensor.Dense) []float64 {
	var out []float64
	forEachFloat(t, func(x float64) { out = append(out, x) })
	return out
}

// meanStd returns the sample mean and standard deviation of xs.
func sampleMeanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func TestInitFans(t *testing.T) {
	cases := []struct {
		shape         []int
		fanIn, fanOut int
	}{
		{nil, 1, 1},
		{[]int{7}, 7, 7},
		{[]int{784, 30}, 784, 30},
		{[]int{16, 3, 5, 5}, 3 * 25, 16 * 25},
		{[]int{4, 2, 3}, 6, 12},
		{[]int{0, 5}, 1, 5},
	}
	for _, c := range cases {
		in, out := Fans(c.shape)
		if in != c.fanIn || out != c.fanOut {
			t.Errorf("Fans(%v) = %d, %d; want %d, %d", c.shape, in, out, c.fanIn, c.fanOut)
		}
	}
}

func TestInitStatistics(t *testing.T) {
	const rows, cols = 200, 300
	n := float64(rows * cols)
	shape := []int{rows, cols}
	uniStd := func(limit float64) float64 { return limit / math.Sqrt(3) }
	// Standard deviation of N(0,1) truncated to [-2, 2]:
	// sqrt(1 - 2·2·φ(2) / (2Φ(2) − 1)).
	phi2 := math.Exp(-2) / math.Sqrt(2*math.Pi)
	cdf2 := 0.5 * (1 + math.Erf(2/math.Sqrt2))
	truncStd := math.Sqrt(1 - 4*phi2/(2*cdf2-1))

	cases := []struct {
		name      string
		init      Initializer
		mean, std float64
		low, high float64 // bounds every value must respect
	}{
		{"Normal", Normal{Mean: 3, Std: 2, Seed: 1}, 3, 2, math.Inf(-1), math.Inf(1)},
		{"Uniform", Uniform{Low: -1, High: 3, Seed: 2}, 1, 4 / math.Sqrt(12), -1, 3},
		{"TruncatedNormal", TruncatedNormal{Std: 0.5, Seed: 3}, 0, 0.5 * truncStd, -1, 1},
		{"GlorotUniform", GlorotUniform{Seed: 4}, 0, uniStd(math.Sqrt(6.0 / (rows + cols))), -math.Sqrt(6.0 / (rows + cols)), math.Sqrt(6.0 / (rows + cols))},
		{"GlorotNormal", GlorotNormal{Seed: 5}, 0, math.Sqrt(2.0 / (rows + cols)), math.Inf(-1), math.Inf(1)},
		{"HeUniform", HeUniform{Seed: 6}, 0, uniStd(math.Sqrt(6.0 / rows)), -math.Sqrt(6.0 / rows), math.Sqrt(6.0 / rows)},
		{"HeNormal", HeNormal{Seed: 7}, 0, math.Sqrt(2.0 / rows), math.Inf(-1), math.Inf(1)},
	}
	for _, c := range cases {
		for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
			t.Run(c.name+"/"+dt.Name(), func(t *testing.T) {
				xs := denseValues(initFilled(dt, shape, c.init))
				if len(xs) != rows*cols {
					t.Fatalf("got %d values, want %d", len(xs), rows*cols)
				}
				mean, std := sampleMeanStd(xs)
				// The sample mean has standard error std/sqrt(n); allow 5 of
				// them. The sample std is within a few percent at n = 60000.
				if tol := 5 * c.std / math.Sqrt(n); math.Abs(mean-c.mean) > tol {
					t.Errorf("mean = %g, want %g ± %g", mean, c.mean, tol)
				}
				if math.Abs(std-c.std) > 0.02*c.std {
					t.Errorf("std = %g, want %g ± 2%%", std, c.std)
				}
				for i, x := range xs {
					if x < c.low || x > c.high || math.IsNaN(x) {
						t.Fatalf("value %d = %g outside [%g, %g]", i, x, c.low, c.high)
					}
				}
			})
		}
	}
}

func TestInitConvFans(t *testing.T) {
	// A (F=32, C=16, 3, 3) conv weight: HeNormal std sqrt(2/(16·9)).
	xs := denseValues(initFilled(tensor.Float64, []int{32, 16, 3, 3}, HeNormal{Seed: 9}))
	_, std := sampleMeanStd(xs)
	if want := math.Sqrt(2.0 / (16 * 9)); math.Abs(std-want) > 0.03*want {
		t.Errorf("conv HeNormal std = %g, want %g", std, want)
	}
	xs = denseValues(initFilled(tensor.Float64, []int{32, 16, 3, 3}, GlorotUniform{Seed: 9}))
	limit := math.Sqrt(6.0 / (16*9 + 32*9))
	lo, hi := slices.Min(xs), slices.Max(xs)
	if lo < -limit || hi > limit || hi < 0.95*limit || lo > -0.95*limit {
		t.Errorf("conv GlorotUniform range [%g, %g], want within and near ±%g", lo, hi, limit)
	}
}

func TestInitConstantZeros(t *testing.T) {
	for _, dt := range []tensor.Dtype{tensor.Float64, tensor.Float32} {
		for _, x := range denseValues(initFilled(dt, []int{3, 4}, Constant{Value: 2.5})) {
			if x != 2.5 {
				t.Fatalf("%v Constant: got %g, want 2.5", dt, x)
			}
		}
		tz := initFilled(dt, []int{5}, Constant{Value: 1})
		Zeros{}.Fill(tz)
		for _, x := range denseValues(tz) {
			if x != 0 {
				t.Fatalf("%v Zeros: got %g, want 0", dt, x)
			}
		}
	}
	// Unsupported dtypes are left alone rather than panicking.
	ti := tensor.New(tensor.Of(tensor.Int), tensor.WithShape(3))
	HeNormal{Seed: 1}.Fill(ti)
	Constant{Value: 1}.Fill(ti)
	if got := ti.Ints(); !slices.Equal(got, []int{0, 0, 0}) {
		t.Errorf("int tensor changed to %v", got)
	}
}

func TestInitDeterministic(t *testing.T) {
	shape := []int{20, 30}
	inits := []func(seed uint64) Initializer{
		func(s uint64) Initializer { return Normal{Std: 1, Seed: s} },
		func(s uint64) Initializer { return Uniform{Low: -1, High: 1, Seed: s} },
		func(s uint64) Initializer { return TruncatedNormal{Std: 1, Seed: s} },
		func(s uint64) Initializer { return GlorotUniform{Seed: s} },
		func(s uint64) Initializer { return GlorotNormal{Seed: s} },
		func(s uint64) Initializer { return HeUniform{Seed: s} },
		func(s uint64) Initializer { return HeNormal{Seed: s} },
	}
	for i, mk := range inits {
		a := denseValues(initFilled(tensor.Float64, shape, mk(42)))
		b := denseValues(initFilled(tensor.Float64, shape, mk(42)))
		c := denseValues(initFilled(tensor.Float64, shape, mk(43)))
		if !slices.Equal(a, b) {
			t.Errorf("initializer %d: same seed gave different values", i)
		}
		if slices.Equal(a, c) {
			t.Errorf("initializer %d: different seeds gave the same values", i)
		}
		// float32 holds the float64 values rounded.
		f := denseValues(initFilled(tensor.Float32, shape, mk(42)))
		for j := range a {
			if f[j] != float64(float32(a[j])) {
				t.Fatalf("initializer %d: float32 value %d = %g, want float32(%g)", i, j, f[j], a[j])
			}
		}
	}
}

func TestInitSeed(t *testing.T) {
	if InitSeed(1, "w1") != InitSeed(1, "w1") {
		t.Fatal("InitSeed is not deterministic")
	}
	seen := map[uint64]string{}
	for _, base := range []uint64{0, 1, 2, 1 << 40} {
		for _, name := range []string{"", "w", "w1", "w2", "b1", "b2", "1w"} {
			s := InitSeed(base, name)
			key := fmt.Sprintf("%q@%d", name, base)
			if prev, dup := seen[s]; dup {
				t.Errorf("InitSeed collision: %s and %s", prev, key)
			}
			seen[s] = key
		}
	}

	// Two parameters of one model initialized from one base seed differ, and
	// rebuilding the model reproduces them exactly.
	build := func(base uint64) *Params {
		p := NewParams(G.NewGraph(), tensor.Float64)
		for _, name := range []string{"w1", "w2"} {
			if _, err := p.Add(name, []int{10, 10}, HeNormal{Seed: InitSeed(base, name)}); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	p, q := build(7), build(7)
	w1, w2 := denseValues(p.List[0].Value), denseValues(p.List[1].Value)
	if slices.Equal(w1, w2) {
		t.Error("parameters w1 and w2 got the same values from one base seed")
	}
	if !slices.Equal(w1, denseValues(q.List[0].Value)) || !slices.Equal(w2, denseValues(q.List[1].Value)) {
		t.Error("rebuilding with the same base seed gave different values")
	}
	if slices.Equal(w1, denseValues(build(8).List[0].Value)) {
		t.Error("different base seeds gave the same w1")
	}
}
