package data

import (
	"fmt"
	"image"
	"math"
)

// Resize filters for OmniglotOptions.Filter.
const (
	// FilterArea averages the input pixels under each output pixel, each
	// weighted by the area it shares with it: the antialiased downscale
	// the Omniglot issue asks for, and the default.
	FilterArea = "area"
	// FilterLanczos is Pillow's Image.resize(size, Image.LANCZOS) on the
	// 8-bit greyscale image, reproduced to the last bit: Lanczos-3
	// stretched by the scale factor, horizontal pass then vertical, each
	// rounded to 8 bits in Pillow's 22-bit fixed point. The PyTorch peers
	// (and torchvision-based Omniglot pipelines) prepare their images so;
	// it gives sharper strokes, with a little ringing, than FilterArea.
	FilterLanczos = "lanczos"
)

// OmniglotFilters lists the valid values of OmniglotOptions.Filter.
var OmniglotFilters = []string{FilterArea, FilterLanczos}

// omniglotFilter checks an OmniglotOptions.Filter and applies its default.
func omniglotFilter(f string) (string, error) {
	switch f {
	case "":
		return FilterArea, nil
	case FilterArea, FilterLanczos:
		return f, nil
	}
	return "", fmt.Errorf("load omniglot: resize filter %q unknown (valid: %q)", f, OmniglotFilters)
}

// pilPrecisionBits is Pillow's fixed-point precision for 8-bit resampling
// (PRECISION_BITS in libImaging/Resample.c).
const pilPrecisionBits = 32 - 8 - 2

// lanczos3 is Pillow's lanczos_filter: sinc(x)·sinc(x/3) on [−3, 3).
func lanczos3(x float64) float64 {
	if x < -3 || x >= 3 {
		return 0
	}
	return sinc(x) * sinc(x/3)
}

// sinc is sin(πx)/(πx), 1 at 0.
func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	x *= math.Pi
	return math.Sin(x) / x
}

// pilTaps are the fixed-point weights of one resampling pass: output cell
// o is the clipped sum of in[first[o]+j]·k[o][j], as Pillow's
// precompute_coeffs and normalize_coeffs_8bpc compute them.
type pilTaps struct {
	first []int
	k     [][]int32
}

// newLanczosTaps returns the Lanczos-3 pass that maps n cells onto m.
func newLanczosTaps(n, m int) pilTaps {
	const support = 3.0
	scale := float64(n) / float64(m)
	filterScale := max(scale, 1)
	sup := support * filterScale
	t := pilTaps{first: make([]int, m), k: make([][]int32, m)}
	for o := range m {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-sup+0.5), 0) // C's (int) truncates toward zero
		hi := min(int(center+sup+0.5), n)
		w := make([]float64, hi-lo)
		var sum float64
		for j := range w {
			w[j] = lanczos3((float64(j+lo) - center + 0.5) / filterScale)
			sum += w[j]
		}
		k := make([]int32, len(w))
		for j, v := range w {
			if sum != 0 {
				v /= sum
			}
			if v < 0 {
				k[j] = int32(-0.5 + v*(1<<pilPrecisionBits))
			} else {
				k[j] = int32(0.5 + v*(1<<pilPrecisionBits))
			}
		}
		t.first[o], t.k[o] = lo, k
	}
	return t
}

// clip8 turns a fixed-point sum into a byte as Pillow's clip8 does.
func clip8(s int64) uint8 {
	if s >= 256<<pilPrecisionBits {
		return 255
	}
	if s <= 0 {
		return 0
	}
	return uint8(s >> pilPrecisionBits)
}

// lanczosResizer resizes images with FilterLanczos, keeping the taps of
// the sizes it has seen. It is not safe for concurrent use.
type lanczosResizer struct {
	taps      map[[2]int]pilTaps
	grey, mid []uint8 // converted input (non-grey images), horizontal pass
	out       []uint8 // resizeImage's grey output
}

func newLanczosResizer() *lanczosResizer {
	return &lanczosResizer{taps: make(map[[2]int]pilTaps)}
}

func (r *lanczosResizer) pass(n, m int) pilTaps { return memoTaps(r.taps, n, m, newLanczosTaps) }

// resizeImage writes the ink (1 − grey/255) of img resized to size×size
// with FilterLanczos to dst.
func (r *lanczosResizer) resizeImage(img image.Image, dst []float32, size int) {
	var g *image.Gray
	g, r.grey = toGray(img, r.grey)
	r.out = reuseSlice(r.out, size*size)
	r.resizePlane(g.Pix, g.Stride, g.Rect.Dx(), g.Rect.Dy(), r.out, size)
	for i, v := range r.out {
		dst[i] = inkOfGrey32[v]
	}
}

// resizePlane resizes one 8-bit plane of w×h bytes, row y at
// src[y*stride:], to size×size bytes in dst with FilterLanczos: the
// horizontal pass, then the vertical one, each rounded to bytes as
// Pillow rounds them. Pillow resizes every band of an image (the R, G
// and B of an RGB image) this way, with the same taps, so a colour
// image is resized band by band with this too (resizeRGB).
func (r *lanczosResizer) resizePlane(src []uint8, stride, w, h int, dst []uint8, size int) {
	tx, ty := r.pass(w, size), r.pass(h, size)

	// horizontal pass: h rows of size bytes
	r.mid = reuseSlice(r.mid, h*size)
	mid := r.mid
	for y := range h {
		row := src[y*stride : y*stride+w]
		for o, k := range tx.k {
			s := int64(1) << (pilPrecisionBits - 1)
			for j, kj := range k {
				s += int64(row[tx.first[o]+j]) * int64(kj)
			}
			mid[y*size+o] = clip8(s)
		}
	}
	// vertical pass
	for o, k := range ty.k {
		for x := range size {
			s := int64(1) << (pilPrecisionBits - 1)
			for j, kj := range k {
				s += int64(mid[(ty.first[o]+j)*size+x]) * int64(kj)
			}
			dst[o*size+x] = clip8(s)
		}
	}
}
