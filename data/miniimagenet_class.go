package data

import "fmt"

// MiniImageNetClass is one class of mini-ImageNet as a few-shot class (an
// ImageClass, so Sampler draws episodes from it): its images in the order
// its CSV lists them, each written by Image as 3×84×84 values normalised
// by Norm. LoadMiniImageNet makes them; the images stay bytes until an
// episode is filled.
type MiniImageNetClass struct {
	// WNID is the class's WordNet id, e.g. "n01532829" (the CSVs' label).
	WNID string
	// Split is the CSV that lists the class: "train", "val" or "test".
	Split string

	images *miniImageNetImages
	norm   ChannelNorm
	table  *normTable // norm's look-up table
}

// miniImageNetImages are the images of one class: pix[j] holds the
// MiniImageNetImageBytes bytes of image j (red, green, then blue plane, a
// sub-slice of the data set's storage) and files[j] its file name in
// images/. A pointer to them keeps MiniImageNetClass comparable.
type miniImageNetImages struct {
	pix   [][]uint8
	files []string
}

// WithNorm returns the class with its images normalised by n.
func (c MiniImageNetClass) WithNorm(n ChannelNorm) MiniImageNetClass {
	c.norm = n
	if n.IsZero() {
		c.table = identityTable()
	} else {
		c.table = n.table()
	}
	return c
}

// Norm returns how Image normalises the class's images.
func (c MiniImageNetClass) Norm() ChannelNorm { return c.norm }

// Len returns the number of images: 600 for a class of mini-ImageNet.
func (c MiniImageNetClass) Len() int {
	if c.images == nil {
		return 0
	}
	return len(c.images.pix)
}

// Shape returns (3, 84, 84).
func (c MiniImageNetClass) Shape() [3]int {
	return [3]int{CIFARChannels, MiniImageNetSide, MiniImageNetSide}
}

// Image writes image j, normalised, channel by channel and row by row,
// into dst[:MiniImageNetImageBytes]. Like a slice index, it panics if j is
// out of range or dst too short.
func (c MiniImageNetClass) Image(j int, dst []float32) {
	c.table.fill32(dst[:MiniImageNetImageBytes], c.images.pix[j])
}

// Pixels returns the MiniImageNetImageBytes bytes of image j, as decoded
// (and resized): the red plane, then green, then blue, each 84 rows of
// 84 bytes. They are the data set's storage: do not change them.
func (c MiniImageNetClass) Pixels(j int) []uint8 { return c.images.pix[j] }

// File returns the file name of image j in images/, as its CSV lists it.
func (c MiniImageNetClass) File(j int) string { return c.images.files[j] }

// Check reports a class with no images, an image of the wrong size, or a
// normalisation that ChannelNorm.Check refuses.
func (c MiniImageNetClass) Check() error {
	if c.Len() == 0 || c.table == nil {
		return fmt.Errorf("no images (make classes with LoadMiniImageNet)")
	}
	for j, im := range c.images.pix {
		if len(im) != MiniImageNetImageBytes {
			return fmt.Errorf("image %d (%s) has %d bytes, want %d", j, c.images.files[j], len(im), MiniImageNetImageBytes)
		}
	}
	return c.norm.Check()
}

// String returns e.g. "n01532829 (train, 600 images)".
func (c MiniImageNetClass) String() string {
	return fmt.Sprintf("%s (%s, %d images)", c.WNID, c.Split, c.Len())
}

// MiniImageNetClassesNorm returns the per-channel mean and standard
// deviation of every image of the classes (ChannelHistogram.Norm).
func MiniImageNetClassesNorm(classes []MiniImageNetClass) ChannelNorm {
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
