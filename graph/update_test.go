package graph

import (
	"fmt"
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestUpdateClipsAndSchedules: Update sets the schedule's rate of each
// step, clips the gradients' global norm to ClipNorm, and leaves the rate
// of the next step on the optimizer.
func TestUpdateClipsAndSchedules(t *testing.T) {
	sched := StepDecay{Every: 2, Gamma: 0.5}
	sgd := NewSGD(123) // the schedule sets the rate
	u := Update{Opt: sgd, Schedule: sched, Base: 0.4, ClipNorm: 1}
	w := []*tensor.Dense{dense64([]float64{1, 1}), dense64([]float64{1})}
	want := []float64{1, 1, 1}
	for step := range 5 {
		raw := []float64{3, 0, 4} // norm 5
		g := []*tensor.Dense{dense64(raw[:2]), dense64(raw[2:])}
		if err := u.Step(step, w, g); err != nil {
			t.Fatal(err)
		}
		lr := 0.4 * math.Pow(0.5, float64(step/2))
		for i := range want {
			want[i] -= lr * raw[i] / 5 // clipped to norm 1
		}
		got := append(denseValues(w[0]), denseValues(w[1])...)
		if maxAbsDiff(got, want) > 1e-15 {
			t.Fatalf("step %d: weights %v, want %v", step, got, want)
		}
		if next := sched.Rate(0.4, step+1); sgd.GetLR() != next {
			t.Errorf("after step %d the rate is %v, want the next step's %v", step, sgd.GetLR(), next)
		}
	}
	// without a schedule the rate is the optimizer's, without ClipNorm the
	// gradient is whole
	plain := Update{Opt: NewSGD(0.5)}
	x := []*tensor.Dense{dense64([]float64{0})}
	if err := plain.Step(9, x, []*tensor.Dense{dense64([]float64{4})}); err != nil {
		t.Fatal(err)
	}
	if got := denseValues(x[0])[0]; got != -2 {
		t.Errorf("plain step: %v, want −0.5·4", got)
	}
}

// ExampleParseSchedule reads a -lr-schedule spec for a run of 1000 steps
// and prints the rate of a few of them.
func ExampleParseSchedule() {
	s, err := ParseSchedule("cosine:warmup=100:min=1e-4", 1000)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(s)
	for _, t := range []int{0, 99, 550, 1000} {
		fmt.Printf("step %4d: %.4g\n", t, s.Rate(0.01, t))
	}
	_, err = ParseSchedule("step:2000", 1000)
	fmt.Println(err)
	// Output:
	// cosine:steps=1000:warmup=100:min=0.0001
	// step    0: 0.0001
	// step   99: 0.01
	// step  550: 0.00505
	// step 1000: 0.0001
	// step: gamma is missing (syntax step:EVERY:GAMMA)
}

// ExampleUpdate takes SGD steps whose rate halves every two steps, with
// the gradient clipped to norm 1.
func ExampleUpdate() {
	w := tensor.New(tensor.WithBacking([]float64{0}), tensor.WithShape(1))
	u := Update{Opt: NewSGD(0.1), Schedule: StepDecay{Every: 2, Gamma: 0.5}, Base: 0.1, ClipNorm: 1}
	for step := range 4 {
		g := tensor.New(tensor.WithBacking([]float64{-10}), tensor.WithShape(1))
		if err := u.Step(step, []*tensor.Dense{w}, []*tensor.Dense{g}); err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("step %d: w = %.3f\n", step, w.Float64s()[0])
	}
	// Output:
	// step 0: w = 0.100
	// step 1: w = 0.200
	// step 2: w = 0.250
	// step 3: w = 0.300
}
