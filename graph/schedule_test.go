package graph

import (
	"math"
	"strings"
	"testing"
)

// TestStepDecayIsRepeatedHalving: step:N:0.5 gives, bit for bit, the
// rate that halving it after every N steps gives (ProtoNet's old rule).
func TestStepDecayIsRepeatedHalving(t *testing.T) {
	s := StepDecay{Every: 7, Gamma: 0.5}
	lr := 3e-3
	for step := range 200 {
		if got := s.Rate(3e-3, step); got != lr {
			t.Fatalf("step %d: rate %v, repeated halving %v", step, got, lr)
		}
		if (step+1)%7 == 0 {
			lr /= 2
		}
	}
}

// TestScheduleRates checks every schedule against its formula, computed
// here step by step.
func TestScheduleRates(t *testing.T) {
	const base = 0.2
	exp := ExpDecay{Gamma: 0.99}
	want := base
	for step := range 100 {
		if got := exp.Rate(base, step); math.Abs(got-want) > 1e-14*want {
			t.Fatalf("exp at %d: %v, want %v", step, got, want)
		}
		want *= 0.99
	}

	lin := LinearDecay{Steps: 40, Final: 0.02}
	for step := range 60 {
		frac := math.Max(0, float64(40-step)/40)
		if got, want := lin.Rate(base, step), 0.02+(base-0.02)*frac; math.Abs(got-want) > 1e-15 {
			t.Fatalf("linear at %d: %v, want %v", step, got, want)
		}
	}
	if got := (LinearDecay{}).Rate(base, 9); got != base {
		t.Errorf("linear without steps: %v, want the base rate", got)
	}

	cos := CosineDecay{Steps: 50, Warmup: 10, Min: 0.001}
	for step := range 10 {
		if got, want := cos.Rate(base, step), base*float64(step+1)/10; math.Abs(got-want) > 1e-15 {
			t.Fatalf("warm-up step %d: %v, want %v", step, got, want)
		}
	}
	if got := cos.Rate(base, 10); got != base {
		t.Errorf("first step after the warm-up: %v, want the base rate %v", got, base)
	}
	if got, want := cos.Rate(base, 30), (base+0.001)/2; math.Abs(got-want) > 1e-15 {
		t.Errorf("halfway through the annealing: %v, want %v", got, want)
	}
	for _, step := range []int{50, 51, 1000} {
		if got := cos.Rate(base, step); got != 0.001 {
			t.Errorf("cosine at %d: %v, want the minimum", step, got)
		}
	}
	for step := 11; step < 60; step++ {
		if cos.Rate(base, step) > cos.Rate(base, step-1) {
			t.Fatalf("cosine rises at %d", step)
		}
	}
	// without warm-up it is CosineLR, MAML++'s annealing
	noWarm := CosineDecay{Steps: 50, Min: 1e-5}
	for step := range 60 {
		if got, want := noWarm.Rate(1e-3, step), CosineLR(1e-3, 1e-5, step, 50); got != want {
			t.Fatalf("cosine at %d: %v, CosineLR %v", step, got, want)
		}
	}
	if got := (ConstantRate{}).Rate(base, 1e6); got != base {
		t.Errorf("constant: %v", got)
	}
}

// TestParseSchedule reads specs, positional and by name, with the run's
// length as the default length, and reads back what String writes.
func TestParseSchedule(t *testing.T) {
	for _, c := range []struct {
		spec string
		want Schedule
	}{
		{"constant", ConstantRate{}},
		{"step:2000:0.5", StepDecay{Every: 2000, Gamma: 0.5}},
		{" Step : every=10 : gamma=0.1 ", StepDecay{Every: 10, Gamma: 0.1}},
		{"exp:0.999", ExpDecay{Gamma: 0.999}},
		{"cosine", CosineDecay{Steps: 700}},
		{"cosine:warmup=500", CosineDecay{Steps: 700, Warmup: 500}},
		{"cosine:100:5:min=1e-5", CosineDecay{Steps: 100, Warmup: 5, Min: 1e-5}},
		{"linear", LinearDecay{Steps: 700}},
		{"linear:steps=1000:final=1e-4", LinearDecay{Steps: 1000, Final: 1e-4}},
	} {
		got, err := ParseSchedule(c.spec, 700)
		if err != nil {
			t.Errorf("%q: %v", c.spec, err)
			continue
		}
		if got != c.want {
			t.Errorf("%q: %#v, want %#v", c.spec, got, c.want)
		}
		again, err := ParseSchedule(got.String(), 1)
		if err != nil || again != got {
			t.Errorf("%q: String %q reads back as %v (%v)", c.spec, got.String(), again, err)
		}
	}
}

// TestScheduleSpansRun: only the schedules that take the run's length
// change with it.
func TestScheduleSpansRun(t *testing.T) {
	for spec, want := range map[string]bool{"cosine": true, "linear:final=0.1": true, "cosine:steps=9": false,
		"step:10:0.5": false, "constant": false, "bad": false} {
		if got := ScheduleSpansRun(spec); got != want {
			t.Errorf("%q: %v, want %v", spec, got, want)
		}
	}
}

// TestParseScheduleErrors: a bad spec gets one line naming what is wrong
// and the syntax wanted.
func TestParseScheduleErrors(t *testing.T) {
	for _, c := range []struct{ spec, want string }{
		{"", `unknown schedule ""`},
		{"sqrt", `unknown schedule "sqrt" (want constant, step:EVERY:GAMMA, exp:GAMMA, cosine`},
		{"step:2000", "step: gamma is missing (syntax step:EVERY:GAMMA)"},
		{"step:0:0.5", `step: every "0": want a whole number ≥ 1`},
		{"step:10:x", `step: gamma "x": want a number`},
		{"exp:-1", `exp: gamma "-1": want a number above 0`},
		{"exp:NaN", `exp: gamma "NaN": want a number`},
		{"exp:0.9:2", `exp: too many arguments`},
		{"cosine:warm=5", `cosine: unknown argument "warm" (syntax cosine[:steps=N][:warmup=W][:min=LR])`},
		{"cosine:steps=10:warmup=20", "cosine: warmup 20 is longer than steps 10"},
		{"cosine:steps=10:steps=20", "cosine: steps given twice"},
		{"linear:final=-1", `linear: final "-1": want a number ≥ 0`},
		{"linear:steps=1.5", `linear: steps "1.5": want a whole number ≥ 1`},
	} {
		_, err := ParseSchedule(c.spec, 100)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error %v; want one line with %q", c.spec, err, c.want)
		}
	}
}

// TestDescribeSchedule: the built-in schedules say what they do.
func TestDescribeSchedule(t *testing.T) {
	for s, want := range map[Schedule]string{
		StepDecay{Every: 2000, Gamma: 0.5}: "halved every 2000 episodes",
		StepDecay{Every: 10, Gamma: 0.1}:   "×0.1 every 10 episodes",
		ExpDecay{Gamma: 0.999}:             "×0.999 per episode",
		CosineDecay{Steps: 100, Warmup: 5}: "cosine-annealed to 0 over 100 episodes after 5 of linear warm-up",
		LinearDecay{Steps: 70}:             "annealed to 0 over 70 episodes, linearly",
		ConstantRate{}:                     "constant",
	} {
		if got := DescribeSchedule(s, "episode"); got != want {
			t.Errorf("%v: %q, want %q", s, got, want)
		}
	}
}
