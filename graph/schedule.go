package graph

import (
	"fmt"
	"math"
	"strconv"
)

// Schedule gives the learning rate of every optimizer step of a run as a
// function of the initial rate and the step's number. Update applies one
// to an optimizer before each step; ParseSchedule reads one from a
// command-line spec such as "step:2000:0.5" or "cosine:warmup=500".
// A schedule holds no state of its own: a run resumed at step t goes on
// with exactly the rates of a run never stopped.
type Schedule interface {
	// Rate returns the learning rate of step t (counting from 0) of a run
	// whose initial rate is base.
	Rate(base float64, t int) float64
	// String returns the schedule in the syntax ParseSchedule reads, with
	// every argument given, e.g. "cosine:steps=50000:warmup=500".
	String() string
}

// ScheduleDescriber is a Schedule that can say in words what it does, for
// banners, with unit the singular name of its steps ("iteration",
// "episode"), e.g. "halved every 2000 episodes". DescribeSchedule falls back to String for
// schedules that are not.
type ScheduleDescriber interface {
	Describe(unit string) string
}

// DescribeSchedule says what s does to the rate over steps named unit.
func DescribeSchedule(s Schedule, unit string) string {
	if d, ok := s.(ScheduleDescriber); ok {
		return d.Describe(unit)
	}
	return "schedule " + s.String()
}

// ConstantRate keeps the initial rate throughout ("constant").
type ConstantRate struct{}

// Rate implements Schedule: base.
func (ConstantRate) Rate(base float64, _ int) float64 { return base }

// String implements Schedule.
func (ConstantRate) String() string { return "constant" }

// Describe implements ScheduleDescriber.
func (ConstantRate) Describe(string) string { return "constant" }

// StepDecay multiplies the rate by Gamma every Every steps
// ("step:EVERY:GAMMA"; PyTorch's StepLR):
//
//	lr(t) = base · Gamma^⌊t/Every⌋
//
// Every ≤ 0 leaves the rate at base. With Gamma 0.5 (halving) every rate
// is base divided exactly by a power of two, as repeated halving gives.
type StepDecay struct {
	Every int
	Gamma float64
}

// Rate implements Schedule.
func (s StepDecay) Rate(base float64, t int) float64 {
	if s.Every <= 0 || t < s.Every {
		return base
	}
	return base * math.Pow(s.Gamma, float64(t/s.Every))
}

// String implements Schedule.
func (s StepDecay) String() string { return fmt.Sprintf("step:%d:%s", s.Every, fmtFloat(s.Gamma)) }

// Describe implements ScheduleDescriber.
func (s StepDecay) Describe(unit string) string {
	if s.Gamma == 0.5 {
		return fmt.Sprintf("halved every %d %ss", s.Every, unit)
	}
	return fmt.Sprintf("×%s every %d %ss", fmtFloat(s.Gamma), s.Every, unit)
}

// ExpDecay multiplies the rate by Gamma every step ("exp:GAMMA"; PyTorch's
// ExponentialLR):
//
//	lr(t) = base · Gamma^t
type ExpDecay struct {
	Gamma float64
}

// Rate implements Schedule.
func (s ExpDecay) Rate(base float64, t int) float64 {
	return base * math.Pow(s.Gamma, float64(max(t, 0)))
}

// String implements Schedule.
func (s ExpDecay) String() string { return "exp:" + fmtFloat(s.Gamma) }

// Describe implements ScheduleDescriber.
func (s ExpDecay) Describe(unit string) string {
	return fmt.Sprintf("×%s per %s", fmtFloat(s.Gamma), unit)
}

// CosineDecay warms the rate up linearly over Warmup steps, then anneals it
// along half a cosine from base to Min over the rest of Steps, and keeps it
// at Min after ("cosine:steps=N:warmup=W:min=M"):
//
//	lr(t) = base · (t+1)/Warmup                                t < Warmup
//	lr(t) = CosineLR(base, Min, t − Warmup, Steps − Warmup)   after
//
// so the first step takes base/Warmup and step Warmup−1 takes base. With
// no warm-up it is CosineLR itself, MAML++'s annealing of the outer rate.
// Steps ≤ Warmup leaves the rate at base after the warm-up.
type CosineDecay struct {
	Steps, Warmup int
	Min           float64
}

// Rate implements Schedule.
func (s CosineDecay) Rate(base float64, t int) float64 {
	if t < s.Warmup {
		return base * float64(max(t, 0)+1) / float64(s.Warmup)
	}
	return CosineLR(base, s.Min, t-s.Warmup, s.Steps-s.Warmup)
}

// String implements Schedule.
func (s CosineDecay) String() string {
	return fmt.Sprintf("cosine:steps=%d:warmup=%d:min=%s", s.Steps, s.Warmup, fmtFloat(s.Min))
}

// Describe implements ScheduleDescriber.
func (s CosineDecay) Describe(unit string) string {
	d := fmt.Sprintf("cosine-annealed to %s over %d %ss", fmtFloat(s.Min), s.Steps, unit)
	if s.Warmup > 0 {
		d += fmt.Sprintf(" after %d of linear warm-up", s.Warmup)
	}
	return d
}

// LinearDecay anneals the rate linearly from base to Final over Steps
// steps and keeps it at Final after ("linear:steps=N:final=F"):
//
//	lr(t) = Final + (base − Final) · max(1 − t/Steps, 0)
//
// With Final 0 it is Reptile's annealing of its outer step size ε.
// Steps ≤ 0 leaves the rate at base.
type LinearDecay struct {
	Steps int
	Final float64
}

// Rate implements Schedule.
func (s LinearDecay) Rate(base float64, t int) float64 {
	if s.Steps <= 0 {
		return base
	}
	frac := 1 - float64(t)/float64(s.Steps)
	return s.Final + (base-s.Final)*math.Max(frac, 0)
}

// String implements Schedule.
func (s LinearDecay) String() string {
	return fmt.Sprintf("linear:steps=%d:final=%s", s.Steps, fmtFloat(s.Final))
}

// Describe implements ScheduleDescriber.
func (s LinearDecay) Describe(unit string) string {
	return fmt.Sprintf("annealed to %s over %d %ss, linearly", fmtFloat(s.Final), s.Steps, unit)
}

// fmtFloat writes x in the shortest form that reads back as x.
func fmtFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// CosineLR is the learning rate at step t of cosine annealing from base
// down to min over total steps (Loshchilov & Hutter, "SGDR: Stochastic
// Gradient Descent with Warm Restarts", ICLR 2017, eq. 5, without
// restarts; PyTorch's CosineAnnealingLR):
//
//	lr(t) = min + (base − min) · (1 + cos(π·t/total)) / 2
//
// It starts at base (t = 0), ends at min (t = total) and stays there
// beyond. CosineDecay is the Schedule built on it. total ≤ 0 means no
// annealing: base.
func CosineLR(base, min float64, t, total int) float64 {
	if total <= 0 {
		return base
	}
	if t >= total {
		return min
	}
	return min + (base-min)*(1+math.Cos(math.Pi*float64(max(t, 0))/float64(total)))/2
}
