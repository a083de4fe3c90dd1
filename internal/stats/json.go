package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a float64 that JSON can always carry. encoding/json refuses NaN
// and ±Inf ("json: unsupported value: +Inf"), but a diverged run's record
// holds them and must still be written; Float writes them as the strings
// "NaN", "+Inf" and "-Inf" and reads them back.
type Float float64

// MarshalJSON writes f as a JSON number, or as a string when f is not
// finite.
func (f Float) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case math.IsNaN(x):
		return []byte(`"NaN"`), nil
	case math.IsInf(x, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(x, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, x, 'g', -1, 64), nil
}

// UnmarshalJSON reads a JSON number or one of the strings MarshalJSON
// writes.
func (f *Float) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "+Inf", "Inf":
			*f = Float(math.Inf(1))
		case "-Inf":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("number %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		return nil
	}
	var x float64
	if err := json.Unmarshal(b, &x); err != nil {
		return err
	}
	*f = Float(x)
	return nil
}

// summaryJSON is Summary as written to JSON.
type summaryJSON struct {
	Mean, CI95 Float
	N          int
}

// MarshalJSON writes s with its non-finite values as strings (see Float).
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{Float(s.Mean), Float(s.CI95), s.N})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *Summary) UnmarshalJSON(b []byte) error {
	var j summaryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Summary{Mean: float64(j.Mean), CI95: float64(j.CI95), N: j.N}
	return nil
}
