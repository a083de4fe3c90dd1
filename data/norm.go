package data

import (
	"fmt"
	"math"
)

// ChannelNorm normalises colour images channel by channel: byte p of
// channel c becomes (p/255 − Mean[c]) / Std[c], so that a data set whose
// channels have these means and standard deviations (on the 0..1 scale)
// comes out with mean 0 and standard deviation 1 in every channel. The
// zero value leaves p/255. ChannelStats and CIFARSplit.ChannelNorm compute
// one from images.
type ChannelNorm struct {
	Mean, Std [CIFARChannels]float64
}

// IsZero reports whether n is the zero value (p/255, no normalisation).
func (n ChannelNorm) IsZero() bool { return n == ChannelNorm{} }

// Check reports a mean that is not finite or a standard deviation that is
// not positive and finite; the zero value passes.
func (n ChannelNorm) Check() error {
	if n.IsZero() {
		return nil
	}
	for c := range CIFARChannels {
		if m := n.Mean[c]; math.IsNaN(m) || math.IsInf(m, 0) {
			return fmt.Errorf("channel normalisation: mean %g of channel %d is not finite", m, c)
		}
		if s := n.Std[c]; !(s > 0) || math.IsInf(s, 0) {
			return fmt.Errorf("channel normalisation: standard deviation %g of channel %d is not positive and finite", s, c)
		}
	}
	return nil
}

// String writes n as "mean (0.5071, 0.4865, 0.4409), std (0.2673, 0.2564,
// 0.2762)", or "p/255" for the zero value.
func (n ChannelNorm) String() string {
	if n.IsZero() {
		return "p/255"
	}
	return fmt.Sprintf("mean (%.4f, %.4f, %.4f), std (%.4f, %.4f, %.4f)",
		n.Mean[0], n.Mean[1], n.Mean[2], n.Std[0], n.Std[1], n.Std[2])
}

// normTable holds the value of every byte in every channel under a
// ChannelNorm, so that converting an image is one table look-up a byte.
type normTable [CIFARChannels][256]float32

// table returns n's look-up table: entry [c][p] is (p/255 − Mean[c]) /
// Std[c], computed in float64 and rounded once to float32; for the zero
// value it is float32(p)/255, as LoadMNIST scales MNIST's bytes.
func (n ChannelNorm) table() *normTable {
	var t normTable
	for c := range CIFARChannels {
		for p := range 256 {
			if n.IsZero() {
				t[c][p] = float32(p) / 255
			} else {
				t[c][p] = float32((float64(p)/255 - n.Mean[c]) / n.Std[c])
			}
		}
	}
	return &t
}

// fill32 writes the normalised values of img, an image of CIFARChannels
// planes, to dst[:len(img)].
func (t *normTable) fill32(dst []float32, img []uint8) {
	plane := len(img) / CIFARChannels
	dst = dst[:len(img)]
	for c := range CIFARChannels {
		tc := &t[c]
		out := dst[c*plane : (c+1)*plane]
		for k, p := range img[c*plane : (c+1)*plane] {
			out[k] = tc[p]
		}
	}
}

// fill64 is fill32 for float64 values (the float32 values, widened).
func (t *normTable) fill64(dst []float64, img []uint8) {
	plane := len(img) / CIFARChannels
	dst = dst[:len(img)]
	for c := range CIFARChannels {
		tc := &t[c]
		out := dst[c*plane : (c+1)*plane]
		for k, p := range img[c*plane : (c+1)*plane] {
			out[k] = float64(tc[p])
		}
	}
}

// ChannelHistogram counts the bytes of images channel by channel: entry
// [c][p] is how many pixels of channel c have value p. It is how the
// channel statistics are computed exactly (Norm), whatever the number of
// images.
type ChannelHistogram [CIFARChannels][256]int64

// Add counts the bytes of img, an image of CIFARChannels planes of equal
// size (a CIFAR image: the red, green and blue planes one after the other).
func (h *ChannelHistogram) Add(img []uint8) {
	plane := len(img) / CIFARChannels
	for c := range CIFARChannels {
		hc := &h[c]
		for _, p := range img[c*plane : (c+1)*plane] {
			hc[p]++
		}
	}
}

// Norm returns the ChannelNorm of the counted pixels: per channel, the
// mean and the population standard deviation (dividing by the count, as
// numpy.std does) of p/255, summed in float64 over the 256 values. A
// channel with no pixels, or with one value throughout, gets standard
// deviation 1 (its values then only shift), so that the result always
// passes Check.
func (h *ChannelHistogram) Norm() ChannelNorm {
	var n ChannelNorm
	for c := range CIFARChannels {
		var count, sum float64
		for p, k := range h[c] {
			count += float64(k)
			sum += float64(k) * float64(p) / 255
		}
		if count == 0 {
			n.Std[c] = 1
			continue
		}
		mean := sum / count
		var ss float64
		for p, k := range h[c] {
			d := float64(p)/255 - mean
			ss += float64(k) * d * d
		}
		n.Mean[c], n.Std[c] = mean, math.Sqrt(ss/count)
		if n.Std[c] == 0 {
			n.Std[c] = 1
		}
	}
	return n
}
