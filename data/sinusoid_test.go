package data

import (
	"math"
	"reflect"
	"testing"
)

func TestSinusoidDefaults(t *testing.T) {
	got := SinusoidOptions{}.WithDefaults()
	want := SinusoidOptions{AmpMin: 0.1, AmpMax: 5, PhaseMin: 0, PhaseMax: math.Pi, XMin: -5, XMax: 5}
	if got != want {
		t.Fatalf("WithDefaults() = %+v, want %+v", got, want)
	}
	// Reversed ranges are put the right way round; set fields are kept.
	got = SinusoidOptions{AmpMin: 3, AmpMax: 1, XMin: 2}.WithDefaults()
	if got.AmpMin != 1 || got.AmpMax != 3 || got.XMin != 2 || got.XMax != 5 {
		t.Fatalf("WithDefaults() = %+v", got)
	}
}

func TestSinusoidRanges(t *testing.T) {
	for _, o := range []SinusoidOptions{
		{},
		{AmpMin: 1, AmpMax: 2, PhaseMin: -1, PhaseMax: 1, XMin: 0.5, XMax: 0.75},
	} {
		d := o.WithDefaults()
		s := NewSinusoids(7, o)
		for _, task := range s.Tasks(2000, 5, 7) {
			if task.Amplitude < d.AmpMin || task.Amplitude > d.AmpMax {
				t.Fatalf("%+v: amplitude %v out of range", o, task.Amplitude)
			}
			if task.Phase < d.PhaseMin || task.Phase > d.PhaseMax {
				t.Fatalf("%+v: phase %v out of range", o, task.Phase)
			}
			if len(task.SupportX) != 5 || len(task.SupportY) != 5 || len(task.QueryX) != 7 || len(task.QueryY) != 7 {
				t.Fatalf("lengths %d %d %d %d, want 5 5 7 7",
					len(task.SupportX), len(task.SupportY), len(task.QueryX), len(task.QueryY))
			}
			for _, x := range append(append([]float64(nil), task.SupportX...), task.QueryX...) {
				if x < d.XMin || x > d.XMax {
					t.Fatalf("%+v: x %v out of range", o, x)
				}
			}
			// |y| ≤ amplitude.
			for _, y := range append(append([]float64(nil), task.SupportY...), task.QueryY...) {
				if math.Abs(y) > task.Amplitude {
					t.Fatalf("|y| = %v > amplitude %v", math.Abs(y), task.Amplitude)
				}
			}
		}
	}
}

// TestSinusoidMeans checks the sample means of amplitude, phase and x
// against the means of their uniform distributions, within 5 standard
// errors (a uniform on [a, b] has standard deviation (b−a)/√12).
func TestSinusoidMeans(t *testing.T) {
	const n = 20000
	s := NewSinusoids(1, SinusoidOptions{})
	var amp, phase, x float64
	for _, task := range s.Tasks(n, 1, 1) {
		amp += task.Amplitude
		phase += task.Phase
		x += task.SupportX[0] + task.QueryX[0]
	}
	check := func(name string, sum float64, count int, lo, hi float64) {
		t.Helper()
		mean := sum / float64(count)
		want := (lo + hi) / 2
		se := (hi - lo) / math.Sqrt(12) / math.Sqrt(float64(count))
		if math.Abs(mean-want) > 5*se {
			t.Errorf("mean %s = %.4f, want %.4f ± %.4f (5 SE)", name, mean, want, 5*se)
		}
	}
	check("amplitude", amp, n, 0.1, 5)
	check("phase", phase, n, 0, math.Pi)
	check("x", x, 2*n, -5, 5)
}

func TestSinusoidF(t *testing.T) {
	task := NewSinusoids(3, SinusoidOptions{}).Task(10, 20)
	for i, x := range task.SupportX {
		if y := task.Amplitude * math.Sin(x-task.Phase); task.SupportY[i] != y || task.F(x) != y {
			t.Fatalf("support %d: y = %v, F(x) = %v, want %v", i, task.SupportY[i], task.F(x), y)
		}
	}
	for i, x := range task.QueryX {
		if task.QueryY[i] != task.F(x) {
			t.Fatalf("query %d: y = %v, want F(x) = %v", i, task.QueryY[i], task.F(x))
		}
	}
	// F at the phase is 0, and a quarter period later it is the amplitude.
	if got := task.F(task.Phase); got != 0 {
		t.Errorf("F(phase) = %v, want 0", got)
	}
	if got := task.F(task.Phase + math.Pi/2); math.Abs(got-task.Amplitude) > 1e-12 {
		t.Errorf("F(phase+π/2) = %v, want %v", got, task.Amplitude)
	}
}

func TestSinusoidDeterminism(t *testing.T) {
	a := NewSinusoids(42, SinusoidOptions{}).Tasks(50, 5, 10)
	b := NewSinusoids(42, SinusoidOptions{}).Tasks(50, 5, 10)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different tasks")
	}
	c := NewSinusoids(43, SinusoidOptions{}).Tasks(50, 5, 10)
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same tasks")
	}
	// Tasks within a stream differ.
	if a[0].Amplitude == a[1].Amplitude {
		t.Fatal("tasks 0 and 1 have the same amplitude")
	}
}

func TestSinusoidTaskAt(t *testing.T) {
	const seed = 9
	s := NewSinusoids(seed, SinusoidOptions{})
	stream := s.Tasks(20, 5, 10)
	// Task i of the stream is SinusoidTaskAt(seed, i), in any order.
	for _, i := range []int{19, 3, 0, 11} {
		if got := SinusoidTaskAt(seed, uint64(i), 5, 10, SinusoidOptions{}); !reflect.DeepEqual(got, stream[i]) {
			t.Fatalf("SinusoidTaskAt(%d) differs from task %d of the stream", i, i)
		}
	}
	if s.NextIndex() != 20 {
		t.Fatalf("NextIndex() = %d, want 20", s.NextIndex())
	}
	// Resuming at an index continues the same stream.
	r := NewSinusoids(seed, SinusoidOptions{})
	r.SetNextIndex(15)
	if got := r.Task(5, 10); !reflect.DeepEqual(got, stream[15]) {
		t.Fatal("SetNextIndex(15) then Task differs from task 15")
	}
	// A task's function does not depend on how many points are drawn, and
	// the support points are a prefix that does not depend on q.
	small := SinusoidTaskAt(seed, 4, 2, 0, SinusoidOptions{})
	if small.Amplitude != stream[4].Amplitude || small.Phase != stream[4].Phase {
		t.Fatal("task function depends on k, q")
	}
	if !reflect.DeepEqual(small.SupportX, stream[4].SupportX[:2]) {
		t.Fatal("support points depend on k, q")
	}
}

func TestSinusoidBadCounts(t *testing.T) {
	s := NewSinusoids(1, SinusoidOptions{})
	task := s.Task(-3, -1)
	if len(task.SupportX) != 0 || len(task.QueryX) != 0 || len(task.SupportY) != 0 || len(task.QueryY) != 0 {
		t.Fatalf("negative counts gave %d, %d points", len(task.SupportX), len(task.QueryX))
	}
	if got := s.Tasks(-1, 1, 1); len(got) != 0 {
		t.Fatalf("Tasks(-1) returned %d tasks", len(got))
	}
	// The support/query slices do not alias: appending to one leaves the
	// others alone.
	task = s.Task(3, 3)
	q := append([]float64(nil), task.QueryX...)
	_ = append(task.SupportX, 1, 2, 3)
	if !reflect.DeepEqual(q, task.QueryX) {
		t.Fatal("appending to SupportX overwrote QueryX")
	}
}
