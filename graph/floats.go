package graph

import "gorgonia.org/tensor"

// Float helpers for the contiguous float32 and float64 tensors that
// parameters, gradients and runner outputs are. Learners keep float64
// accumulators whatever the graph's dtype; these move values between the
// two without a type switch at every call site.

// Size is the number of elements of a tensor of the given shape (1 for a
// scalar's empty shape).
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// ToFloat64s copies t's values into dst, which must hold at least as many.
func ToFloat64s(dst []float64, t *tensor.Dense) {
	if t.Dtype() == tensor.Float64 {
		copy(dst, t.Float64s())
		return
	}
	for i, v := range t.Float32s() {
		dst[i] = float64(v)
	}
}

// SetFloat64s copies v into t, converting to t's dtype.
func SetFloat64s(t *tensor.Dense, v []float64) {
	if t.Dtype() == tensor.Float64 {
		copy(t.Float64s(), v)
		return
	}
	d := t.Float32s()
	for i, x := range v {
		d[i] = float32(x)
	}
}

// Axpy does y += a·x elementwise; x and y have the same dtype and size.
func Axpy(y, x *tensor.Dense, a float64) {
	if y.Dtype() == tensor.Float64 {
		yd, xd := y.Float64s(), x.Float64s()
		for i, v := range xd {
			yd[i] += a * v
		}
		return
	}
	yd, xd := y.Float32s(), x.Float32s()
	for i, v := range xd {
		yd[i] += float32(a) * v
	}
}

// CopyValues copies src's values into dst; both have the same dtype and
// size.
func CopyValues(dst, src *tensor.Dense) {
	if dst.Dtype() == tensor.Float64 {
		copy(dst.Float64s(), src.Float64s())
	} else {
		copy(dst.Float32s(), src.Float32s())
	}
}
