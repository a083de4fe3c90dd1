package graph

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// wrappingShape returns a two-dimensional shape of valid ints whose product,
// computed in wrapping 64-bit arithmetic, is exactly want (which must be
// even and small): the trap an unchecked n *= d falls into.
func wrappingShape(t *testing.T, want uint64) []int {
	t.Helper()
	for a := uint64(3); a < 1000; a += 2 {
		// The inverse of an odd a modulo 2⁶⁴, by Newton's iteration (each
		// step doubles the number of correct low bits).
		inv := a
		for range 6 {
			inv *= 2 - a*inv
		}
		b := want * inv
		if b <= math.MaxInt && b > want {
			if a*b != want {
				t.Fatalf("%d·%d wraps to %d, not %d", a, b, a*b, want)
			}
			return []int{int(a), int(b)}
		}
	}
	t.Fatalf("no wrapping shape with product %d", want)
	return nil
}

func TestCheckpointValidateShapeOverflow(t *testing.T) {
	tooMany := fmt.Sprintf("has more than %d elements", math.MaxInt)
	wraps := wrappingShape(t, 6)
	cases := []struct {
		name  string
		shape []int
		data  int    // number of values
		want  string // "" when valid
	}{
		{"2^32·2^32 wraps to 0", []int{1 << 32, 1 << 32}, 0, tooMany},
		{"2^62·4 wraps to 0", []int{1 << 62, 4}, 0, tooMany},
		{"2^62·2^62·2^62 wraps to 0", []int{1 << 62, 1 << 62, 1 << 62}, 0, tooMany},
		{fmt.Sprintf("%v wraps to 6", wraps), wraps, 6, tooMany},
		{"MaxInt·2", []int{math.MaxInt, 2}, 0, tooMany},
		{"2^31·2^31 fits an int", []int{1 << 31, 1 << 31}, 0, fmt.Sprintf("needs %d values, has 0", 1<<62)},
		{"MaxInt fits an int", []int{math.MaxInt, 1}, 0, fmt.Sprintf("needs %d values, has 0", math.MaxInt)},
		{"negative", []int{3, -1}, 0, "negative dimension in shape [3 -1]"},
		{"zero dimension", []int{1 << 62, 1 << 62, 0}, 0, ""},
		{"scalar", []int{}, 1, ""},
		{"matrix", []int{2, 3}, 6, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &Checkpoint{Model: "m", Params: []SavedTensor{{Name: "w", Shape: tc.shape, Dtype: "float64", Data: make([]float64, tc.data)}}}
			check := func(what string, err error) {
				t.Helper()
				switch {
				case tc.want == "" && err != nil:
					t.Errorf("%s: %v", what, err)
				case tc.want != "" && (err == nil || !strings.Contains(err.Error(), `parameter "w": `) || !strings.Contains(err.Error(), tc.want)):
					t.Errorf("%s: error %v, want it to contain %q", what, err, tc.want)
				}
			}
			check("validate", c.validate())
			check("save", SaveCheckpoint(t.TempDir()+"/w.ckpt", c))
			// A file that claims the shape (as a corrupt or hostile one
			// could) is rejected when loaded.
			data, err := encodeCheckpoint(c)
			if err != nil {
				check("encode", err) // the format cannot hold a negative dimension
				return
			}
			_, err = decodeCheckpoint(data)
			check("decode", err)
		})
	}
}
