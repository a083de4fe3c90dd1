package data

import (
	"maps"
	"math"
	"slices"
	"strings"
	"testing"
)

// TestCIFARClass: a class holds every image of its label, training images
// first, and writes them normalised.
func TestCIFARClass(t *testing.T) {
	const perTrain, perTest = 4, 2
	d := SyntheticCIFAR100(perTrain, perTest, 1)
	c, err := d.ClassNamed("maple_tree")
	if err != nil {
		t.Fatal(err)
	}
	l := slices.Index(d.Classes, "maple_tree")
	if c.Label != l || c.Superclass != "trees" || c.Len() != perTrain+perTest || c.Shape() != [3]int{3, 32, 32} || c.Check() != nil {
		t.Fatalf("%v: label %d, %d images of %v (%v); want label %d, superclass trees, %d images", c, c.Label, c.Len(), c.Shape(), c.Check(), l, perTrain+perTest)
	}
	if c.String() != "maple_tree (label 47, trees)" || l != 47 {
		t.Errorf("String() = %q (label %d)", c.String(), l)
	}
	var want [][]uint8
	for _, s := range []*CIFARSplit{d.Train, d.Test} {
		for i, lab := range s.Labels {
			if int(lab) == l {
				want = append(want, s.Image(i))
			}
		}
	}
	norm := ChannelNorm{Mean: [3]float64{0.5, 0.4, 0.3}, Std: [3]float64{0.25, 0.2, 0.3}}
	cn := c.WithNorm(norm)
	if cn.Norm() != norm || c.Norm() != (ChannelNorm{}) || cn == c {
		t.Errorf("WithNorm: %v and %v", cn.Norm(), c.Norm())
	}
	img := make([]float32, CIFARImageBytes)
	for j, w := range want {
		c.Image(j, img)
		for k, p := range w {
			if img[k] != float32(p)/255 {
				t.Fatalf("image %d value %d: %v, want %v", j, k, img[k], float32(p)/255)
			}
		}
		cn.Image(j, img)
		for k, p := range w {
			ch := k / 1024
			if v := (float64(p)/255 - norm.Mean[ch]) / norm.Std[ch]; math.Abs(float64(img[k])-v) > 1e-6 {
				t.Fatalf("normalised image %d value %d: %v, want %v", j, k, img[k], v)
			}
		}
	}

	for name, err := range map[string]error{
		"zero class":   CIFARClass{}.Check(),
		"bad norm":     c.WithNorm(ChannelNorm{Mean: norm.Mean}).Check(),
		"no such name": second(d.ClassNamed("unicorn")),
		"label 100":    second(d.Class(100)),
	} {
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line of error", name, err)
		}
	}
}

// second returns the second of two values.
func second[A, B any](_ A, b B) B { return b }

// TestCIFARFewShotSplits checks CIFAR-FS and FC100 against their papers:
// 64 / 16 / 20 classes for CIFAR-FS; 60 / 20 / 20 classes from 12 / 4 / 4
// whole superclasses for FC100; disjoint sides covering CIFAR-100; every
// class with all its images; all normalised by the training classes'
// statistics.
func TestCIFARFewShotSplits(t *testing.T) {
	const perTrain, perTest = 3, 1
	d := SyntheticCIFAR100(perTrain, perTest, 1)
	superOf := map[string]string{}
	for s, cs := range CIFAR100Hierarchy {
		if len(cs) != 5 {
			t.Errorf("superclass %s has %d classes, want 5", s, len(cs))
		}
		for _, c := range cs {
			superOf[c] = s
		}
	}
	if len(CIFAR100Hierarchy) != 20 || len(superOf) != 100 {
		t.Fatalf("CIFAR100Hierarchy: %d superclasses of %d distinct classes, want 20 and 100", len(CIFAR100Hierarchy), len(superOf))
	}
	for _, tc := range []struct {
		name           string
		classes, super [3]int
	}{
		{"cifar-fs", [3]int{64, 16, 20}, [3]int{}},
		{"fc100", [3]int{60, 20, 20}, [3]int{12, 4, 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, err := d.FewShot(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			seen := map[string]string{}
			var trainPix []uint8
			for i, side := range [][]CIFARClass{fs.Train, fs.Valid, fs.Test} {
				if len(side) != tc.classes[i] {
					t.Errorf("side %d has %d classes, want %d", i, len(side), tc.classes[i])
				}
				supers := map[string]bool{}
				for _, c := range side {
					if prev, dup := seen[c.Name]; dup {
						t.Errorf("class %s is on side %d and on %s", c.Name, i, prev)
					}
					seen[c.Name] = []string{"train", "valid", "test"}[i]
					if c.Superclass != superOf[c.Name] || c.Name != d.Classes[c.Label] {
						t.Errorf("%v: want superclass %s", c, superOf[c.Name])
					}
					if c.Len() != perTrain+perTest || c.Norm() != fs.Norm || c.Check() != nil {
						t.Errorf("%v: %d images, norm %v (%v); want %d and %v", c, c.Len(), c.Norm(), c.Check(), perTrain+perTest, fs.Norm)
					}
					supers[c.Superclass] = true
					if i == 0 {
						for _, im := range c.images.pix {
							trainPix = append(trainPix, im...)
						}
					}
				}
				if tc.super[i] > 0 {
					list := [][]string{FC100Superclasses.Train, FC100Superclasses.Valid, FC100Superclasses.Test}[i]
					if len(supers) != tc.super[i] || !slices.Equal(slices.Sorted(maps.Keys(supers)), list) {
						t.Errorf("side %d spans superclasses %v, want the %d of %v", i, slices.Sorted(maps.Keys(supers)), tc.super[i], list)
					}
					if len(side) != 5*len(supers) {
						t.Errorf("side %d: %d classes from %d superclasses of 5", i, len(side), len(supers))
					}
				}
			}
			if len(seen) != len(d.Classes) {
				t.Errorf("the sides hold %d of CIFAR-100's %d classes", len(seen), len(d.Classes))
			}
			if want := directNorm(trainPix); !closeNorm(fs.Norm, want, 1e-12) {
				t.Errorf("normalisation %v, the training classes' statistics are %v", fs.Norm, want)
			}
			t.Logf("%s: %d/%d/%d classes, %v", fs.Name, len(fs.Train), len(fs.Valid), len(fs.Test), fs.Norm)
		})
	}

	renamed := SyntheticCIFAR100(1, 1, 2)
	renamed.Classes[slices.Index(renamed.Classes, "whale")] = "orca"
	noFish := SyntheticCIFAR100(1, 1, 2)
	noFish.Superclasses = slices.DeleteFunc(noFish.Superclasses, func(s string) bool { return s == "fish" })
	c10 := &CIFAR{Name: "cifar-10", Classes: []string{"airplane"}, Train: &CIFARSplit{}, Test: &CIFARSplit{}}
	for name, want := range map[string]struct {
		d     *CIFAR
		split string
		err   string
	}{
		"unknown split":   {d, "mini-imagenet", `few-shot split "mini-imagenet": unknown`},
		"cifar-10":        {c10, "fc100", "fc100 is made of CIFAR-100's classes, not cifar-10's"},
		"a class renamed": {renamed, "cifar-fs", `cifar-fs: cifar-100 has no class named "whale"`},
		"no superclass":   {noFish, "fc100", `fc100: cifar-100 has no superclass named "fish"`},
		"no images":       {&CIFAR{Name: "cifar-100", Classes: d.Classes, Superclasses: d.Superclasses, Train: &CIFARSplit{}, Test: &CIFARSplit{}}, "fc100", `fc100: no image of cifar-100 has superclass "fish"`},
	} {
		_, err := want.d.FewShot(want.split)
		if err == nil || !strings.Contains(err.Error(), want.err) {
			t.Errorf("%s: %v, want an error with %q", name, err, want.err)
		}
	}
}

// TestCIFARClassEpisodes: the generic Sampler draws episodes of CIFAR-FS
// classes, each image the normalised bytes of the drawing it names.
func TestCIFARClassEpisodes(t *testing.T) {
	d := SyntheticCIFAR100(4, 2, 3)
	fs, err := d.FewShot("cifar-fs")
	if err != nil {
		t.Fatal(err)
	}
	const ways, shots, queries = 5, 2, 3
	s, err := NewSampler(fs.Test, EpisodeOptions{Ways: ways, Shots: shots, Queries: queries}, 9)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Episode(3)
	if e.Shape != [3]int{3, 32, 32} || e.Size != 0 || len(e.SupportX) != ways*shots*CIFARImageBytes || len(e.QueryX) != ways*queries*CIFARImageBytes {
		t.Fatalf("episode of shape %v, size %d, %d and %d values", e.Shape, e.Size, len(e.SupportX), len(e.QueryX))
	}
	check := func(what string, x []float32, drawings []int, per int) {
		for at, dr := range drawings {
			c := e.Classes[at/per]
			raw := c.images.pix[dr]
			for k, p := range raw {
				ch := k / 1024
				want := (float64(p)/255 - fs.Norm.Mean[ch]) / fs.Norm.Std[ch]
				if got := float64(x[at*CIFARImageBytes+k]); math.Abs(got-want) > 1e-5 {
					t.Fatalf("%s image %d (drawing %d of %v) value %d: %v, want %v", what, at, dr, c, k, got, want)
				}
			}
		}
	}
	check("support", e.SupportX, e.SupportDrawings, shots)
	check("query", e.QueryX, e.QueryDrawings, queries)
}
