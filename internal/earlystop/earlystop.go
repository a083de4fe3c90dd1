// Package earlystop keeps the record that early stopping needs of a run's
// validations: the best score, when the model had it, and how many
// validations since brought nothing better. cmd/train and cmd/meta keep
// it in their checkpoints, so that a resumed run stops where a run never
// stopped would.
package earlystop

import (
	"fmt"
	"strconv"
)

// Record is the record of the validations so far.
type Record struct {
	// Best is the best score (when At > 0).
	Best float64
	// At is when the model had it: the epoch or iteration after which it
	// was validated; 0 before the first validation.
	At int
	// Since counts the validations since, none better.
	Since int
}

// Observe takes a validation's score after at (higher better when higher
// is set, else lower) and reports whether it is the best so far: the
// first, or strictly better than the best before.
func (r *Record) Observe(score float64, higher bool, at int) bool {
	better := score < r.Best
	if higher {
		better = score > r.Best
	}
	if r.At == 0 || better {
		r.Best, r.At, r.Since = score, at, 0
		return true
	}
	r.Since++
	return false
}

// Exhausted reports whether patience validations in a row brought no
// improvement; never for patience 0 (no early stopping).
func (r Record) Exhausted(patience int) bool { return patience > 0 && r.Since >= patience }

// Checkpoint metadata keys of a Record; the key of At names its unit
// (AtKey).
const (
	BestKey  = "best_valid"
	SinceKey = "validations_since_best"
)

// AtKey is the key of Record.At when counted in unit ("epoch",
// "iteration"): "best_epoch", "best_iteration".
func AtKey(unit string) string { return "best_" + unit }

// Save writes r into a checkpoint's metadata, At under AtKey(unit);
// nothing before the first validation.
func (r Record) Save(meta map[string]string, unit string) {
	if r.At == 0 {
		return
	}
	meta[BestKey] = strconv.FormatFloat(r.Best, 'g', -1, 64)
	meta[AtKey(unit)] = strconv.Itoa(r.At)
	meta[SinceKey] = strconv.Itoa(r.Since)
}

// Load reads what Save wrote; metadata without it (no validation yet, or
// a checkpoint of an older build) gives the empty record. The error names
// the key that does not parse.
func (r *Record) Load(meta map[string]string, unit string) error {
	*r = Record{}
	v, ok := meta[BestKey]
	if !ok {
		return nil
	}
	var err error
	if r.Best, err = strconv.ParseFloat(v, 64); err != nil {
		return fmt.Errorf("%s=%q is not a number", BestKey, v)
	}
	if r.At, err = strconv.Atoi(meta[AtKey(unit)]); err != nil || r.At < 1 {
		return fmt.Errorf("%s=%q is not a positive count", AtKey(unit), meta[AtKey(unit)])
	}
	if r.Since, err = strconv.Atoi(meta[SinceKey]); err != nil || r.Since < 0 {
		return fmt.Errorf("%s=%q is not a count", SinceKey, meta[SinceKey])
	}
	return nil
}
