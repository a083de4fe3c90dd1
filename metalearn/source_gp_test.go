package metalearn

import (
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/metagon/metagon/data"
)

// gpSource builds the registered gp source with its defaults for seed.
func gpSource(t *testing.T, seed uint64) TaskSource {
	t.Helper()
	se, err := LookupSource("gp")
	if err != nil {
		t.Fatal(err)
	}
	cnp, err := LookupLearner("cnp")
	if err != nil {
		t.Fatal(err)
	}
	src, err := se.New(SourceConfig{Settings: Resolve(Settings{}, cnp, se, "gp"), Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestGPTrainShapes: a training batch shares one number of context points
// in [3, 9] and of query points in [2, 9] (every value of both turns up
// over 300 batches), inputs lie in [−2, 2], and the batch is the same
// whenever it is asked for (a resumed run sees the same tasks).
func TestGPTrainShapes(t *testing.T) {
	src := gpSource(t, 1)
	if s := src.Spec(); s.Support != 9 || s.Query != 9 || !slices.Equal(s.Input, []int{1}) || s.Outputs != 1 {
		t.Fatalf("spec %+v, want at most 9 context and 9 query points of width 1", s)
	}
	contexts, queries := map[int]bool{}, map[int]bool{}
	for it := 0; it < 300; it++ {
		batch := src.Train(it, 4)
		n, q := len(batch[0].SupportX), len(batch[0].QueryX)
		contexts[n], queries[q] = true, true
		if n < 3 || n > 9 || q < 2 || q > 9 {
			t.Fatalf("iteration %d: %d context and %d query points, want 3–9 and 2–9", it, n, q)
		}
		for i, tk := range batch {
			if len(tk.SupportX) != n || len(tk.SupportY) != n || len(tk.QueryX) != q || len(tk.QueryY) != q {
				t.Fatalf("iteration %d, task %d: sizes %d/%d/%d/%d, want the batch's %d and %d", it, i, len(tk.SupportX), len(tk.SupportY), len(tk.QueryX), len(tk.QueryY), n, q)
			}
			for _, x := range append(slices.Clone(tk.SupportX), tk.QueryX...) {
				if x < -2 || x > 2 {
					t.Fatalf("input %v outside [−2, 2]", x)
				}
			}
		}
	}
	if len(contexts) != 7 || len(queries) != 8 {
		t.Errorf("over 300 batches: context sizes %v, query sizes %v; want all of 3–9 and 2–9", contexts, queries)
	}
	if !reflect.DeepEqual(src.Train(17, 5), gpSource(t, 1).Train(17, 5)) {
		t.Error("iteration 17 differs between two sources of seed 1")
	}
	if reflect.DeepEqual(src.Train(17, 5), gpSource(t, 2).Train(17, 5)) {
		t.Error("seeds 1 and 2 give the same tasks")
	}
}

// TestGPTestTasks: a held-out task's 3–9 context points and its query
// points split the 400 grid inputs between them, their values are those of
// TestCurve's curve, tasks are reproducible, and the validation and test
// streams differ.
func TestGPTestTasks(t *testing.T) {
	src := gpSource(t, 1)
	cs, ok := src.(CurveSource)
	if !ok {
		t.Fatal("the gp source is not a CurveSource")
	}
	grid := data.GPOptions{}.Grid(400)
	tasks := src.Test(20)
	for i, tk := range tasks {
		n := len(tk.SupportX)
		if n < 3 || n > 9 || len(tk.QueryX) != 400-n || len(tk.SupportY) != n || len(tk.QueryY) != 400-n {
			t.Fatalf("task %d: %d context and %d query points, want 3–9 and the other grid points", i, n, len(tk.QueryX))
		}
		xs, ys, sup, caption := cs.TestCurve(i)
		if !slices.Equal(xs, grid) || !reflect.DeepEqual(sup, Task{SupportX: tk.SupportX, SupportY: tk.SupportY}) || !strings.Contains(caption, "context points") {
			t.Fatalf("task %d: TestCurve does not match the task", i)
		}
		value := map[float64]float64{}
		for k, x := range xs {
			value[x] = ys[k]
		}
		seen := map[float64]bool{}
		for _, set := range [][2][]float64{{tk.SupportX, tk.SupportY}, {tk.QueryX, tk.QueryY}} {
			for k, x := range set[0] {
				if y, ok := value[x]; !ok || y != set[1][k] || seen[x] {
					t.Fatalf("task %d: point (%v, %v) is not a grid point of its curve, or is there twice", i, x, set[1][k])
				}
				seen[x] = true
			}
		}
	}
	if !reflect.DeepEqual(tasks[:5], gpSource(t, 1).Test(5)) {
		t.Error("test tasks differ between two sources of seed 1")
	}
	if reflect.DeepEqual(src.Valid()[:5], tasks[:5]) {
		t.Error("validation and test tasks are the same")
	}
	if got := len(src.Valid()); got != 100 {
		t.Errorf("%d validation tasks, want 100", got)
	}
}

// TestGPCovariance: the values of the held-out curves, over 2,000 tasks,
// have the kernel's covariance at pairs of grid points 0, 0.1, 0.4 and 1.2
// apart (plus the noise at distance 0), and the training tasks' first two
// points, at random inputs, have E[y₁y₂ − k(x₁, x₂)] = 0; both within 5
// standard errors. For jointly normal values the product yᵢyⱼ has variance
// CᵢᵢCⱼⱼ + Cᵢⱼ²; for the training pairs the standard error is estimated
// from the sample.
func TestGPCovariance(t *testing.T) {
	const n = 2000
	src := gpSource(t, 3)
	cs := src.(CurveSource)
	o := data.GPOptions{}.WithDefaults()
	at := []int{150, 160, 190, 270} // x = −0.5, −0.4, −0.1, 0.7
	sum := make([]float64, len(at)*len(at))
	xs, _, _, _ := cs.TestCurve(0)
	for i := 0; i < n; i++ {
		_, ys, _, _ := cs.TestCurve(i)
		for a, ka := range at {
			for b, kb := range at {
				sum[a*len(at)+b] += ys[ka] * ys[kb] / n
			}
		}
	}
	for a, ka := range at {
		for b, kb := range at {
			want := o.Kernel(xs[ka], xs[kb])
			if a == b {
				want += o.NoiseStd * o.NoiseStd
			}
			v := o.Kernel(0, 0) + o.NoiseStd*o.NoiseStd // every value's variance
			se := math.Sqrt((v*v + want*want) / n)
			if got := sum[a*len(at)+b]; math.Abs(got-want) > 5*se {
				t.Errorf("cov(y(%.2f), y(%.2f)) = %.4f, kernel %.4f (5 SE = %.4f)", xs[ka], xs[kb], got, want, 5*se)
			}
		}
	}
	var d []float64
	for it := 0; len(d) < n; it++ {
		for _, tk := range src.Train(it, 16) {
			d = append(d, tk.SupportY[0]*tk.SupportY[1]-o.Kernel(tk.SupportX[0], tk.SupportX[1]))
		}
	}
	m, sd := 0.0, 0.0
	for _, v := range d {
		m += v / float64(len(d))
	}
	for _, v := range d {
		sd += (v - m) * (v - m) / float64(len(d)-1)
	}
	if se := math.Sqrt(sd / float64(len(d))); math.Abs(m) > 5*se {
		t.Errorf("training pairs: mean of y₁y₂ − k(x₁, x₂) = %.4f, want 0 ± %.4f", m, 5*se)
	}
}

// TestGPRefusesFixedShapeLearners: Setup refuses a learner that compiles
// one task shape (MAML) on the gp source, whose tasks vary in size, and
// builds CNP on it with its network.
func TestGPRefusesFixedShapeLearners(t *testing.T) {
	cnp, _ := LookupLearner("cnp")
	se, _ := LookupSource("gp")
	maml, _ := LookupLearner("maml")
	if _, _, err := Setup(Run{Learner: "maml", Source: "gp", Settings: Resolve(Settings{}, maml, se, "gp"), Seed: 1}); err == nil || !strings.Contains(err.Error(), "varying size") {
		t.Errorf("maml on gp: err %v", err)
	}
	l, _, err := Setup(Run{Learner: "cnp", Source: "gp", Settings: Resolve(Settings{}, cnp, se, "gp"), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Model().Name(); got != "cnp-enc-2-128-128-128-128-dec-129-128-128-2" {
		t.Errorf("model %s, want the notebook's CNP", got)
	}
	for _, bad := range []Settings{{Shots: 2}, {Queries: 1}, {Shots: 400}} {
		if _, err := se.New(SourceConfig{Settings: Resolve(bad, cnp, se, "gp"), Seed: 1}); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}
