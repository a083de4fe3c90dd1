package data

import "fmt"

// CIFARSplit is one split of a CIFAR data set: Len images and their
// labels. FillBatch and FillBatch32 make it a labelled set for
// models.Trainer.
type CIFARSplit struct {
	// Pixels holds the images one after the other, CIFARImageBytes bytes
	// each, in the release's layout: the red plane, then green, then blue,
	// each 32 rows of 32 bytes.
	Pixels []uint8
	// Labels holds each image's class: CIFAR-10's label, CIFAR-100's fine
	// label.
	Labels []uint8
	// Coarse holds each image's CIFAR-100 superclass; nil for CIFAR-10.
	Coarse []uint8
	// Norm is how FillBatch and FillBatch32 turn bytes into values; the
	// zero value gives p/255.
	Norm ChannelNorm
}

// Len returns the number of images.
func (s *CIFARSplit) Len() int { return len(s.Labels) }

// Image returns the CIFARImageBytes bytes of image i, a sub-slice of
// s.Pixels whose capacity ends with the image. Like a slice index, it
// panics if i is out of range.
func (s *CIFARSplit) Image(i int) []uint8 {
	return s.Pixels[i*CIFARImageBytes : (i+1)*CIFARImageBytes : (i+1)*CIFARImageBytes]
}

// ChannelNorm returns the per-channel mean and standard deviation of the
// split's images (ChannelHistogram.Norm), e.g. to normalise a training
// set, and the test set alike, by the training set's statistics.
func (s *CIFARSplit) ChannelNorm() ChannelNorm {
	var h ChannelHistogram
	for i := range s.Len() {
		h.Add(s.Image(i))
	}
	return h.Norm()
}

// FillBatch writes images idx into x, one row of CIFARImageBytes values
// per image, normalised by s.Norm, and their labels, as float64 (3 →
// 3.0), into labels. It allocates nothing beyond a 3 KiB table. x needs
// at least len(idx)*CIFARImageBytes elements and labels at least
// len(idx). It panics if a slice is too short or an index out of range,
// which are programming errors.
func (s *CIFARSplit) FillBatch(idx []int, x, labels []float64) {
	s.checkBatch(idx, len(x), len(labels))
	t := s.Norm.table()
	for b, i := range idx {
		t.fill64(x[b*CIFARImageBytes:(b+1)*CIFARImageBytes], s.Image(i))
		labels[b] = float64(s.Labels[i])
	}
}

// FillBatch32 is FillBatch for float32 slices.
func (s *CIFARSplit) FillBatch32(idx []int, x, labels []float32) {
	s.checkBatch(idx, len(x), len(labels))
	t := s.Norm.table()
	for b, i := range idx {
		t.fill32(x[b*CIFARImageBytes:(b+1)*CIFARImageBytes], s.Image(i))
		labels[b] = float32(s.Labels[i])
	}
}

// checkBatch validates the arguments of FillBatch.
func (s *CIFARSplit) checkBatch(idx []int, lenX, lenLabels int) {
	if lenX < len(idx)*CIFARImageBytes || lenLabels < len(idx) {
		panic(fmt.Sprintf("data: FillBatch of %d CIFAR images needs len(x) ≥ %d and len(labels) ≥ %d, got %d and %d",
			len(idx), len(idx)*CIFARImageBytes, len(idx), lenX, lenLabels))
	}
	for _, i := range idx {
		if i < 0 || i >= s.Len() {
			panic(fmt.Sprintf("data: FillBatch index %d out of range [0, %d)", i, s.Len()))
		}
	}
}
