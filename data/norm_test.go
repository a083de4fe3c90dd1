package data

import (
	"math"
	"strings"
	"testing"
)

// directNorm computes the channel statistics of images straight from the
// definition: mean and population standard deviation of p/255, summed
// pixel by pixel in float64.
func directNorm(pix []uint8) ChannelNorm {
	var n ChannelNorm
	plane := CIFARImageBytes / CIFARChannels
	for c := range CIFARChannels {
		var sum, count float64
		for i := 0; i < len(pix); i += CIFARImageBytes {
			for _, p := range pix[i+c*plane : i+(c+1)*plane] {
				sum += float64(p) / 255
				count++
			}
		}
		mean := sum / count
		var ss float64
		for i := 0; i < len(pix); i += CIFARImageBytes {
			for _, p := range pix[i+c*plane : i+(c+1)*plane] {
				d := float64(p)/255 - mean
				ss += d * d
			}
		}
		n.Mean[c], n.Std[c] = mean, math.Sqrt(ss/count)
	}
	return n
}

func closeNorm(a, b ChannelNorm, tol float64) bool {
	for c := range CIFARChannels {
		if math.Abs(a.Mean[c]-b.Mean[c]) > tol || math.Abs(a.Std[c]-b.Std[c]) > tol {
			return false
		}
	}
	return true
}

// TestChannelHistogramNorm: the statistics from the histogram are those of
// the pixels themselves, and a constant channel gets standard deviation 1.
func TestChannelHistogramNorm(t *testing.T) {
	pix := randomImages(37, 1)
	s := &CIFARSplit{Pixels: pix, Labels: make([]uint8, 37)}
	got, want := s.ChannelNorm(), directNorm(pix)
	if !closeNorm(got, want, 1e-12) {
		t.Errorf("histogram statistics %v, direct %v", got, want)
	}
	if err := got.Check(); err != nil {
		t.Error(err)
	}
	t.Logf("%v", got)

	flat := make([]uint8, 2*CIFARImageBytes)
	for i := range flat {
		flat[i] = 77
	}
	n := (&CIFARSplit{Pixels: flat, Labels: make([]uint8, 2)}).ChannelNorm()
	for c := range CIFARChannels {
		if n.Mean[c] != 77.0/255 || n.Std[c] != 1 {
			t.Errorf("constant channel %d: mean %v std %v, want %v and 1", c, n.Mean[c], n.Std[c], 77.0/255)
		}
	}
	var empty ChannelHistogram
	if n := empty.Norm(); n.Std != [3]float64{1, 1, 1} || n.Mean != [3]float64{} {
		t.Errorf("no pixels: %v, want mean 0 std 1", n)
	}
}

// TestChannelNormCheck: the zero value and positive, finite statistics
// pass; the rest is refused with one line.
func TestChannelNormCheck(t *testing.T) {
	good := ChannelNorm{Mean: [3]float64{0.5, 0.4, 0.3}, Std: [3]float64{0.2, 0.2, 0.3}}
	if err := good.Check(); err != nil || (ChannelNorm{}).Check() != nil {
		t.Errorf("valid normalisations refused: %v", err)
	}
	if s := (ChannelNorm{}).String(); s != "p/255" {
		t.Errorf("zero value %q", s)
	}
	if s := good.String(); s != "mean (0.5000, 0.4000, 0.3000), std (0.2000, 0.2000, 0.3000)" {
		t.Errorf("String() = %q", s)
	}
	for name, n := range map[string]ChannelNorm{
		"std 0":        {Mean: good.Mean, Std: [3]float64{0.2, 0, 0.3}},
		"negative std": {Mean: good.Mean, Std: [3]float64{-1, 1, 1}},
		"NaN mean":     {Mean: [3]float64{math.NaN(), 0, 0}, Std: good.Std},
		"infinite std": {Mean: good.Mean, Std: [3]float64{1, 1, math.Inf(1)}},
	} {
		err := n.Check()
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line of error", name, err)
		}
	}
}

// TestCIFARSplitFillBatch: batches hold each image's bytes normalised by
// the split's Norm, so the whole split comes out with mean 0 and standard
// deviation 1 per channel; the zero Norm gives p/255 as MNIST's loader.
func TestCIFARSplitFillBatch(t *testing.T) {
	const n = 23
	pix := randomImages(n, 2)
	labels := make([]uint8, n)
	for i := range labels {
		labels[i] = uint8(i % 10)
	}
	s := &CIFARSplit{Pixels: pix, Labels: labels}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = n - 1 - i // reversed, so that row b is image n−1−b
	}
	x, y := make([]float64, n*CIFARImageBytes), make([]float64, n)
	s.FillBatch(idx, x, y)
	for b, i := range idx {
		for k := range CIFARImageBytes {
			if want := float64(float32(pix[i*CIFARImageBytes+k]) / 255); x[b*CIFARImageBytes+k] != want {
				t.Fatalf("zero Norm: image %d value %d is %v, want %v", i, k, x[b*CIFARImageBytes+k], want)
			}
		}
		if y[b] != float64(labels[i]) {
			t.Fatalf("row %d: label %v, want %d", b, y[b], labels[i])
		}
	}

	s.Norm = s.ChannelNorm()
	s.FillBatch(idx, x, y)
	x32, y32 := make([]float32, n*CIFARImageBytes), make([]float32, n)
	s.FillBatch32(idx, x32, y32)
	plane := CIFARImageBytes / CIFARChannels
	var sum, sq [CIFARChannels]float64
	for b, i := range idx {
		for k := range CIFARImageBytes {
			c := k / plane
			want := (float64(pix[i*CIFARImageBytes+k])/255 - s.Norm.Mean[c]) / s.Norm.Std[c]
			got := x[b*CIFARImageBytes+k]
			if math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) || float32(got) != x32[b*CIFARImageBytes+k] {
				t.Fatalf("image %d value %d: %v (float32 %v), want %v", i, k, got, x32[b*CIFARImageBytes+k], want)
			}
			sum[c] += got
			sq[c] += got * got
		}
		if y32[b] != float32(labels[i]) {
			t.Fatalf("FillBatch32 row %d: label %v", b, y32[b])
		}
	}
	count := float64(n * plane)
	for c := range CIFARChannels {
		mean := sum[c] / count
		std := math.Sqrt(sq[c]/count - mean*mean)
		if math.Abs(mean) > 1e-6 || math.Abs(std-1) > 1e-6 {
			t.Errorf("channel %d after normalisation: mean %g std %g, want 0 and 1", c, mean, std)
		}
	}

	defer func() {
		if recover() == nil {
			t.Error("FillBatch into a short slice did not panic")
		}
	}()
	s.FillBatch(idx, x[:10], y)
}
