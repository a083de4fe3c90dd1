package earlystop

import (
	"strings"
	"testing"
)

// TestRecord: the first score is the best; only a strictly better one
// replaces it; patience validations without one exhaust it; Save and Load
// round-trip, and a bad key is named.
func TestRecord(t *testing.T) {
	var r Record
	losses := []float64{3, 2, 2, 2.5, 1, 1.5, 1.2}
	var improved []bool
	for i, l := range losses {
		improved = append(improved, r.Observe(l, false, i+1))
	}
	want := []bool{true, true, false, false, true, false, false}
	for i := range want {
		if improved[i] != want[i] {
			t.Fatalf("improvements %v, want %v", improved, want)
		}
	}
	if r.Best != 1 || r.At != 5 || r.Since != 2 || !r.Exhausted(2) || r.Exhausted(3) || r.Exhausted(0) {
		t.Errorf("record %+v", r)
	}
	var acc Record
	acc.Observe(0.5, true, 1)
	if acc.Observe(0.4, true, 2) || !acc.Observe(0.6, true, 3) {
		t.Errorf("higher is better: %+v", acc)
	}
	meta := map[string]string{}
	r.Save(meta, "epoch")
	var back Record
	if err := back.Load(meta, "epoch"); err != nil || back != r {
		t.Errorf("round trip: %+v (%v), want %+v", back, err, r)
	}
	if err := back.Load(map[string]string{}, "epoch"); err != nil || back != (Record{}) {
		t.Errorf("no record: %+v (%v)", back, err)
	}
	meta[AtKey("epoch")] = "x"
	if err := back.Load(meta, "epoch"); err == nil || !strings.Contains(err.Error(), `best_epoch="x"`) {
		t.Errorf("bad key: %v", err)
	}
}
