package data

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// rgbClass is a class of n colour images of 3×h×w values that encode the
// class, the image and the position, so a test can tell where each came
// from: the kind of class a CIFAR or mini-ImageNet data set gives.
type rgbClass struct{ id, n, h, w int }

func (c rgbClass) Len() int       { return c.n }
func (c rgbClass) Shape() [3]int  { return [3]int{3, c.h, c.w} }
func (c rgbClass) Check() error   { return nil }
func (c rgbClass) String() string { return fmt.Sprintf("rgb%d", c.id) }
func (c rgbClass) Image(j int, dst []float32) {
	for k := range 3 * c.h * c.w {
		dst[k] = float32(c.id*1e6 + j*1e3 + k)
	}
}

// TestSamplerColourImages: the sampler draws episodes of 3-channel images
// of any height and width (32×32, 84×84) unchanged, each image whole and
// the right one.
func TestSamplerColourImages(t *testing.T) {
	for _, hw := range [][2]int{{32, 32}, {84, 84}, {5, 7}} {
		var classes []rgbClass
		for i := range 12 {
			classes = append(classes, rgbClass{id: i, n: 9, h: hw[0], w: hw[1]})
		}
		s, err := NewSampler(classes, EpisodeOptions{Ways: 5, Shots: 2, Queries: 3}, 4)
		if err != nil {
			t.Fatal(err)
		}
		e := s.Episode(11)
		d := 3 * hw[0] * hw[1]
		if e.Shape != [3]int{3, hw[0], hw[1]} || e.Size != 0 || s.Size() != 0 || len(e.SupportX) != 10*d || len(e.QueryX) != 15*d {
			t.Fatalf("%v: shape %v size %d, %d and %d values", hw, e.Shape, e.Size, len(e.SupportX), len(e.QueryX))
		}
		img := make([]float32, d)
		for at, dr := range e.SupportDrawings {
			e.Classes[at/2].Image(dr, img)
			if !slices.Equal(e.SupportX[at*d:(at+1)*d], img) {
				t.Fatalf("%v: support image %d is not drawing %d of %s", hw, at, dr, e.Classes[at/2])
			}
		}
		for at, dr := range e.QueryDrawings {
			e.Classes[at/3].Image(dr, img)
			if !slices.Equal(e.QueryX[at*d:(at+1)*d], img) {
				t.Fatalf("%v: query image %d is not drawing %d of %s", hw, at, dr, e.Classes[at/3])
			}
		}
	}
	mixed := []rgbClass{{id: 0, n: 5, h: 32, w: 32}, {id: 1, n: 5, h: 84, w: 84}}
	if _, err := NewSampler(mixed, EpisodeOptions{Ways: 2, Shots: 1, Queries: 1}, 1); err == nil || !strings.Contains(err.Error(), "3×84×84, others are 3×32×32") {
		t.Errorf("classes of two shapes: %v", err)
	}
}
