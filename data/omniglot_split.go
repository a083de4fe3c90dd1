package data

import (
	"cmp"
	"fmt"
	"math/bits"
	"math/rand/v2"
	"slices"
)

// The Vinyals split's shuffle: a PCG generator with this seed and stream
// (the stream is "vinyals" in ASCII) permutes the characters sorted by ID.
const (
	VinyalsSplitSeed   uint64 = 1
	VinyalsSplitStream uint64 = 0x76696e79616c73
)

// VinyalsTrainChars is the number of training characters of the Vinyals
// split; the rest (423 of Omniglot's 1,623) are for testing.
const VinyalsTrainChars = 1200

// OmniglotSplits are the names Omniglot.Split accepts.
var OmniglotSplits = []string{"background", "vinyals"}

// Class is one class of a few-shot problem: a character, possibly rotated.
// With rotations, each character gives four classes, as in Vinyals et al.
// 2016 and Snell et al. 2017.
type Class struct {
	// Char is the character whose drawings are the class's examples.
	Char *OmniglotChar
	// Rotation is the rotation of every drawing, counterclockwise in
	// degrees: 0, 90, 180 or 270.
	Rotation int
}

// Len returns the number of drawings of the class.
func (c Class) Len() int { return len(c.Char.Images) }

// Shape returns the shape of the class's images, (1, s, s) for drawings of
// s×s pixels (see Check).
func (c Class) Shape() [3]int {
	s := isqrt(len(c.Char.Images[0]))
	return [3]int{1, s, s}
}

// Check reports what makes the class unusable: no character or drawings, a
// rotation other than 0, 90, 180 or 270, drawings that are not square or
// not all of one size.
func (c Class) Check() error {
	if c.Char == nil || len(c.Char.Images) == 0 {
		return fmt.Errorf("no character or no drawings")
	}
	switch c.Rotation {
	case 0, 90, 180, 270:
	default:
		return fmt.Errorf("rotation %d is not 0, 90, 180 or 270", c.Rotation)
	}
	first := -1
	for j, im := range c.Char.Images {
		s := isqrt(len(im))
		if s*s != len(im) || s == 0 {
			return fmt.Errorf("drawing %d has %d pixels, not a square image", j, len(im))
		}
		if first < 0 {
			first = s
		} else if s != first {
			return fmt.Errorf("drawing %d is %d×%d, drawing 0 is %d×%d", j, s, s, first, first)
		}
	}
	return nil
}

// String returns e.g. "Latin/character01 (0683) rot 90".
func (c Class) String() string {
	if c.Char == nil {
		return "<nil class>"
	}
	return fmt.Sprintf("%s (%04d) rot %d", c.Char.Name(), c.Char.ID, c.Rotation)
}

// Image writes drawing i of the class, rotated by c.Rotation degrees
// counterclockwise, to dst[:n], where n = len(c.Char.Images[i]) must be a
// square, Size*Size. The rotation is exact: a 90° rotation of the n pixels
// as numpy.rot90 and torch.rot90(x, 1, dims=(-2, -1)) do it, so the peers'
// class 4c+r is Class{char c, 90r}. Like a slice index, it panics if i is
// out of range, dst is shorter than n or Rotation is not one of 0, 90, 180,
// 270 (NewSampler checks the classes it is given).
func (c Class) Image(i int, dst []float32) {
	src := c.Char.Images[i]
	s := isqrt(len(src))
	if s*s != len(src) {
		panic(fmt.Sprintf("data: Class.Image: image of %d pixels is not square", len(src)))
	}
	dst = dst[:s*s]
	switch c.Rotation {
	case 0:
		copy(dst, src)
	case 90: // out[r][c] = in[c][s-1-r]
		for r := range s {
			out := dst[r*s : (r+1)*s]
			for col := range s {
				out[col] = src[col*s+s-1-r]
			}
		}
	case 180: // out[r][c] = in[s-1-r][s-1-c]
		n := s * s
		for k := range n {
			dst[k] = src[n-1-k]
		}
	case 270: // out[r][c] = in[s-1-c][r]
		for r := range s {
			out := dst[r*s : (r+1)*s]
			for col := range s {
				out[col] = src[(s-1-col)*s+r]
			}
		}
	default:
		panic(fmt.Sprintf("data: Class.Image: rotation %d is not 0, 90, 180 or 270", c.Rotation))
	}
}

// isqrt returns the integer square root of n ≥ 0, rounded down.
func isqrt(n int) int {
	s := 0
	for b := 1 << (bits.Len(uint(n)) / 2); b > 0; b >>= 1 {
		if (s+b)*(s+b) <= n {
			s += b
		}
	}
	return s
}

// Split divides the characters into the classes to train on and the
// classes to test on. name is one of:
//
//   - "background": Lake et al.'s split. The background set (964
//     characters, 30 alphabets) trains; the evaluation set (659 characters,
//     20 other alphabets) tests.
//   - "vinyals": Vinyals et al. 2016's split by count: 1,200 characters
//     train, the remaining 423 test, regardless of alphabet. The characters,
//     sorted by ID, are shuffled with a PCG generator seeded with
//     (VinyalsSplitSeed, VinyalsSplitStream) by a Fisher–Yates shuffle
//     whose draws are fixed here (so the split does not depend on the Go
//     version), and the first 1,200 train. Vinyals et al. did not publish
//     their list of characters, so this reproduces the sizes of their split,
//     not its membership.
//
// With rotations, every character gives four classes, rotated by 0, 90,
// 180 and 270 degrees, in train and test alike (Vinyals et al.; Snell et
// al.: 1,200 characters plus rotations, 4,800 classes, for training, "the
// remaining classes, including rotations" for test). Classes come
// character by character, the four rotations of a character together, so
// class 4k+r is the k-th character rotated by 90r degrees. Without, each
// character is one class of rotation 0.
//
// The classes point into o.Chars, which must not be changed while they are
// in use. It is an error if either side of the split would be empty.
func (o *Omniglot) Split(name string, rotations bool) (train, test []Class, err error) {
	var trainChars, testChars []*OmniglotChar
	switch name {
	case "background":
		for i := range o.Chars {
			c := &o.Chars[i]
			switch c.Set {
			case "background":
				trainChars = append(trainChars, c)
			case "evaluation":
				testChars = append(testChars, c)
			}
		}
	case "vinyals":
		n := len(o.Chars)
		if n <= VinyalsTrainChars {
			return nil, nil, fmt.Errorf("omniglot split %q: needs more than %d characters, have %d",
				name, VinyalsTrainChars, n)
		}
		// o.Chars is sorted by ID (LoadOmniglot guarantees it; sort
		// defensively for hand-built values).
		sorted := make([]*OmniglotChar, n)
		for i := range o.Chars {
			sorted[i] = &o.Chars[i]
		}
		sortCharsByID(sorted)
		pcg := rand.NewPCG(VinyalsSplitSeed, VinyalsSplitStream)
		for i := n - 1; i > 0; i-- {
			j := boundedPCG(pcg, uint64(i+1))
			sorted[i], sorted[j] = sorted[j], sorted[i]
		}
		trainChars, testChars = sorted[:VinyalsTrainChars], sorted[VinyalsTrainChars:]
		sortCharsByID(trainChars)
		sortCharsByID(testChars)
	default:
		return nil, nil, fmt.Errorf("omniglot split %q: unknown (valid: %q)", name, OmniglotSplits)
	}
	if len(trainChars) == 0 || len(testChars) == 0 {
		return nil, nil, fmt.Errorf("omniglot split %q: %d training and %d test characters; both sides need some",
			name, len(trainChars), len(testChars))
	}
	return charClasses(trainChars, rotations), charClasses(testChars, rotations), nil
}

// sortCharsByID sorts cs by ID.
func sortCharsByID(cs []*OmniglotChar) {
	slices.SortFunc(cs, func(a, b *OmniglotChar) int { return cmp.Compare(a.ID, b.ID) })
}

// charClasses turns characters into classes: one per character, or four
// (rotations 0, 90, 180, 270) with rotations.
func charClasses(cs []*OmniglotChar, rotations bool) []Class {
	rots := []int{0}
	if rotations {
		rots = []int{0, 90, 180, 270}
	}
	out := make([]Class, 0, len(cs)*len(rots))
	for _, c := range cs {
		for _, r := range rots {
			out = append(out, Class{Char: c, Rotation: r})
		}
	}
	return out
}

// boundedPCG returns a uniform draw from [0, n), n ≥ 1, using Lemire's
// multiply-and-reject method on p's 64-bit outputs. The method is fixed
// here, unlike rand.Rand's, so that the draws do not depend on the Go
// version.
func boundedPCG(p *rand.PCG, n uint64) uint64 {
	hi, lo := bits.Mul64(p.Uint64(), n)
	if lo < n {
		thresh := -n % n
		for lo < thresh {
			hi, lo = bits.Mul64(p.Uint64(), n)
		}
	}
	return hi
}
