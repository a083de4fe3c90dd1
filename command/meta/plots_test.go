package meta

import (
	"math"
	"testing"
)

// TestRunTitle: plot titles name the algorithm as papers do, the task
// family and the length of the run.
func TestRunTitle(t *testing.T) {
	c := parsed(t, []string{"-shots", "5", "-iterations", "300"})
	_, src, err := setup(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := runTitle("fomaml", src, c), "first-order MAML on "+src.Describe()+", 300 meta-iterations"; got != want {
		t.Errorf("runTitle = %q, want %q", got, want)
	}
	if got := displayName("new-method"); got != "new-method" {
		t.Errorf("unknown algorithm named %q", got)
	}
}

// TestRunningMean: each point is the mean of the finite values in the
// window centred on it, shorter at the ends.
func TestRunningMean(t *testing.T) {
	y := []float64{0, 1, 2, 3, 4, 5, math.NaN(), 7, 8}
	got := runningMean(y, 5)
	for i := range y {
		sum, n := 0.0, 0
		for j := max(0, i-2); j <= min(len(y)-1, i+2); j++ {
			if !math.IsNaN(y[j]) {
				sum, n = sum+y[j], n+1
			}
		}
		if want := sum / float64(n); math.Abs(got[i]-want) > 1e-12 {
			t.Errorf("point %d: %g, want %g", i, got[i], want)
		}
	}
	if s := trainSeries("train", y, y); len(s) != 1 || s[0].Faint {
		t.Errorf("a short curve is smoothed: %+v", s)
	}
	long := make([]float64, 300)
	if s := trainSeries("train", long, long); len(s) != 2 || !s[0].Faint || s[1].Faint {
		t.Errorf("a long curve is not drawn faint under its mean: %+v", s)
	}
}
