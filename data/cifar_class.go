package data

import (
	"fmt"
	"sync"
)

// CIFARClass is one class of a CIFAR data set as a few-shot class (an
// ImageClass, so Sampler draws episodes from it): its images from both of
// the release's splits, training images first, in the release's order,
// each written by Image as 3×32×32 values normalised by Norm. Make one
// with CIFAR.Class; CIFARFewShot's classes are such classes. The images
// stay bytes until an episode is filled.
type CIFARClass struct {
	// Name is the class's name, e.g. "apple"; Superclass its CIFAR-100
	// superclass, e.g. "fruit_and_vegetables" ("" for CIFAR-10).
	Name, Superclass string
	// Label is the class's label in its data set.
	Label int

	images *cifarImages
	norm   ChannelNorm
	table  *normTable // norm's look-up table
}

// cifarImages are the images of one class, each CIFARImageBytes bytes of
// the data set's storage. A pointer to them keeps CIFARClass comparable.
type cifarImages struct{ pix [][]uint8 }

// Class returns the class of label l with every image of that label in
// d.Train then d.Test, normalised as p/255 (see WithNorm).
func (d *CIFAR) Class(l int) (CIFARClass, error) {
	if l < 0 || l >= len(d.Classes) {
		return CIFARClass{}, fmt.Errorf("%s: no class %d (labels run 0..%d)", d.Name, l, len(d.Classes)-1)
	}
	c := CIFARClass{Name: d.Classes[l], Label: l, images: &cifarImages{}}
	super := -1
	for _, s := range []*CIFARSplit{d.Train, d.Test} {
		if s == nil {
			continue
		}
		for i, lab := range s.Labels {
			if int(lab) != l {
				continue
			}
			c.images.pix = append(c.images.pix, s.Image(i))
			if s.Coarse != nil && super < 0 {
				super = int(s.Coarse[i])
			}
		}
	}
	if super >= 0 && super < len(d.Superclasses) {
		c.Superclass = d.Superclasses[super]
	}
	return c.WithNorm(ChannelNorm{}), nil
}

// ClassNamed returns the class called name (see Class).
func (d *CIFAR) ClassNamed(name string) (CIFARClass, error) {
	for l, n := range d.Classes {
		if n == name {
			return d.Class(l)
		}
	}
	return CIFARClass{}, fmt.Errorf("%s has no class named %q", d.Name, name)
}

// WithNorm returns the class with its images normalised by n.
func (c CIFARClass) WithNorm(n ChannelNorm) CIFARClass {
	c.norm = n
	if n.IsZero() {
		c.table = identityTable()
	} else {
		c.table = n.table()
	}
	return c
}

// Norm returns how Image normalises the class's images.
func (c CIFARClass) Norm() ChannelNorm { return c.norm }

// Len returns the number of images: 600 for a CIFAR-100 class, 6,000
// for a CIFAR-10 one.
func (c CIFARClass) Len() int {
	if c.images == nil {
		return 0
	}
	return len(c.images.pix)
}

// Shape returns (3, 32, 32).
func (c CIFARClass) Shape() [3]int { return [3]int{CIFARChannels, CIFARSide, CIFARSide} }

// Image writes image j, normalised, channel by channel and row by row,
// into dst[:CIFARImageBytes]. Like a slice index, it panics if j is out of
// range or dst too short.
func (c CIFARClass) Image(j int, dst []float32) {
	c.table.fill32(dst[:CIFARImageBytes], c.images.pix[j])
}

// Check reports a class with no images, an image of the wrong size, or a
// normalisation that ChannelNorm.Check refuses.
func (c CIFARClass) Check() error {
	if c.Len() == 0 || c.table == nil {
		return fmt.Errorf("no images (make classes with CIFAR.Class)")
	}
	for j, im := range c.images.pix {
		if len(im) != CIFARImageBytes {
			return fmt.Errorf("image %d has %d bytes, want %d", j, len(im), CIFARImageBytes)
		}
	}
	return c.norm.Check()
}

// String returns e.g. "apple (label 0, fruit_and_vegetables)".
func (c CIFARClass) String() string {
	if c.Superclass != "" {
		return fmt.Sprintf("%s (label %d, %s)", c.Name, c.Label, c.Superclass)
	}
	return fmt.Sprintf("%s (label %d)", c.Name, c.Label)
}

// CIFARClassesNorm returns the per-channel mean and standard deviation of
// every image of the classes (ChannelHistogram.Norm).
func CIFARClassesNorm(classes []CIFARClass) ChannelNorm {
	var h ChannelHistogram
	for _, c := range classes {
		if c.images == nil {
			continue
		}
		for _, im := range c.images.pix {
			h.Add(im)
		}
	}
	return h.Norm()
}

// identityTable returns the look-up table of the zero ChannelNorm, p/255,
// shared by every class without normalisation.
var identityTable = sync.OnceValue(func() *normTable { return ChannelNorm{}.table() })
