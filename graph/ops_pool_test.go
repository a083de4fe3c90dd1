package graph

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
)

// TestMaxPoolOfReLUCommutes checks that MaxPool2(ReLU(x)), which pools
// first, equals pooling the ReLU output, exactly.
func TestMaxPoolOfReLUCommutes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	xs := []int{3, 4, 7, 6}
	x := randomVals(rng, xs...)
	x[0], x[1] = 0, 0 // ties at zero
	for _, dt := range testDtypes {
		got := evalNodes(t, func() []*G.Node {
			g := G.NewGraph()
			xn := dtLeaf(g, dt, "x", xs, x)
			r := ReLU(xn)
			return []*G.Node{MaxPool2(r), gatherAt(r, poolArgmax(r))}
		})
		compareVals(t, dt.String(), got[0], got[1], 0)
	}
}

// TestWindowArgmax checks the branch-free argmax against the sequential
// scan on every order of ties, NaNs and infinities.
func TestWindowArgmax(t *testing.T) {
	vals := []float64{-1, 0, 2, math.Inf(1), math.Inf(-1), math.NaN()}
	for _, a := range vals {
		for _, b := range vals {
			for _, c := range vals {
				for _, d := range vals {
					want, bv := 0, a
					for k, v := range []float64{b, c, d} {
						if v > bv || (v != v && bv == bv) {
							want, bv = k+1, v
						}
					}
					if got := windowArgmax(a, b, c, d); got != want {
						t.Errorf("windowArgmax(%v, %v, %v, %v) = %d, want %d", a, b, c, d, got, want)
					}
					if got := windowArgmax(float32(a), float32(b), float32(c), float32(d)); got != want {
						t.Errorf("float32 windowArgmax(%v, %v, %v, %v) = %d, want %d", a, b, c, d, got, want)
					}
				}
			}
		}
	}
}
