package stats

import (
	"encoding/json"
	"math"
	"testing"
)

// TestJSONNonFinite: summaries and floats holding NaN and ±Inf are written
// and read back; finite values keep every bit.
func TestJSONNonFinite(t *testing.T) {
	in := []Summary{
		{Mean: math.Inf(1), CI95: math.NaN(), N: 3},
		{Mean: math.Inf(-1), CI95: 0, N: 1},
		{Mean: 0.1 + 0.2, CI95: 1e-300, N: 600},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out []Summary
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	for i := range in {
		same := func(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }
		if !same(in[i].Mean, out[i].Mean) || !same(in[i].CI95, out[i].CI95) || in[i].N != out[i].N {
			t.Errorf("%d: %+v came back as %+v (%s)", i, in[i], out[i], b)
		}
	}
	var f Float
	if err := json.Unmarshal([]byte(`"lots"`), &f); err == nil {
		t.Errorf("a string that is not a number was accepted")
	}
}

// TestSummaryString: huge and tiny losses print in four significant
// digits, not hundreds of digits.
func TestSummaryString(t *testing.T) {
	s := Summary{Mean: 3.3841290248420617e40, CI95: math.Inf(1)}
	if got := s.String(); len(got) > 24 {
		t.Errorf("String() = %q: too long", got)
	}
}
