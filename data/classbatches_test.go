package data

import (
	"slices"
	"strings"
	"testing"
)

// TestClassBatchesEpochs: batches of a size that does not divide the
// number of images go through every image of every class exactly once per
// epoch (a batch straddling two epochs included), each image labelled with
// its class; epochs are shuffled differently, and a batch is the same
// whenever it is drawn, whatever was drawn before.
func TestClassBatchesEpochs(t *testing.T) {
	lens := []int{3, 7, 1, 5} // classes of different sizes
	var classes []rgbClass
	total := 0
	for i, n := range lens {
		classes = append(classes, rgbClass{id: i, n: n, h: 1, w: 2})
		total += n
	}
	b, err := NewClassBatches(classes, 9)
	if err != nil {
		t.Fatal(err)
	}
	if b.NumClasses() != len(lens) || b.Len() != total || b.Shape() != [3]int{3, 1, 2} {
		t.Fatalf("%d classes, %d images, shape %v", b.NumClasses(), b.Len(), b.Shape())
	}
	// 16 images: batches of 4 fill each epoch exactly, of 5 straddle
	// epochs, of 40 span several
	for _, size := range []int{4, 5, 1, 40} {
		d := 6
		epochs := 3
		var stream [][2]int // (class, image) in stream order
		for i := 0; len(stream) < epochs*total; i++ {
			x, labels := b.Batch(uint64(i), size)
			if len(x) != size*d || len(labels) != size {
				t.Fatalf("batch %d of %d: %d values, %d labels", i, size, len(x), len(labels))
			}
			for k, l := range labels {
				id, img := int(x[k*d])/1e6, int(x[k*d])%1e6/1e3
				if float64(id) != l {
					t.Fatalf("size %d, batch %d: image %d of class %d labelled %v", size, i, k, id, l)
				}
				stream = append(stream, [2]int{id, img})
			}
		}
		var orders [][][2]int
		for e := 0; e < epochs; e++ {
			ep := slices.Clone(stream[e*total : (e+1)*total])
			orders = append(orders, slices.Clone(ep))
			slices.SortFunc(ep, func(a, b [2]int) int {
				if a[0] != b[0] {
					return a[0] - b[0]
				}
				return a[1] - b[1]
			})
			var want [][2]int
			for c, l := range lens {
				for j := range l {
					want = append(want, [2]int{c, j})
				}
			}
			if !slices.Equal(ep, want) {
				t.Fatalf("size %d, epoch %d: images %v, want each of %v once", size, e, ep, want)
			}
		}
		if slices.Equal(orders[0], orders[1]) && slices.Equal(orders[1], orders[2]) {
			t.Errorf("size %d: the three epochs have the same order", size)
		}
	}
	// a batch drawn alone equals the same batch drawn after others
	x5, l5 := b.Batch(5, 3)
	b.Batch(0, 3)
	if x, l := b.Batch(5, 3); !slices.Equal(x, x5) || !slices.Equal(l, l5) {
		t.Error("batch 5 differs when drawn a second time")
	}
	other, _ := NewClassBatches(classes, 10)
	same := true
	for i := range uint64(4) {
		_, a := b.Batch(i, 4)
		_, o := other.Batch(i, 4)
		same = same && slices.Equal(a, o)
	}
	if same {
		t.Error("seeds 9 and 10 give the same first epoch")
	}
}

// TestClassBatchesErrors: no classes, and classes of two shapes, are one
// line each.
func TestClassBatchesErrors(t *testing.T) {
	if _, err := NewClassBatches([]rgbClass{}, 1); err == nil || !strings.Contains(err.Error(), "no classes") {
		t.Errorf("no classes: %v", err)
	}
	mixed := []rgbClass{{id: 0, n: 5, h: 32, w: 32}, {id: 1, n: 5, h: 84, w: 84}}
	if _, err := NewClassBatches(mixed, 1); err == nil || !strings.Contains(err.Error(), "3×84×84, others are 3×32×32") {
		t.Errorf("classes of two shapes: %v", err)
	}
}
