package graph

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// A schedule spec, as the commands' -lr-schedule takes it, is a kind and
// its arguments separated by colons: positional arguments first, in the
// kind's order, then any as name=value, e.g.
//
//	constant
//	step:2000:0.5             halve every 2000 steps
//	exp:0.999                 ×0.999 every step
//	cosine                    cosine to 0 over the whole run
//	cosine:warmup=500:min=1e-5
//	linear                    linearly to 0 over the whole run
//	linear:steps=1000:final=1e-4
//
// ParseSchedule reads one; RegisterSchedule adds a kind.

// ScheduleKind is a registered kind of Schedule: how ParseSchedule builds
// one from a spec's arguments.
type ScheduleKind struct {
	// Syntax shows the spec in help texts and errors, e.g.
	// "step:EVERY:GAMMA".
	Syntax string
	// Args names the arguments, in the order positional ones fill them.
	Args []string
	// New builds the schedule from the arguments the spec gives (by name)
	// for a run of runSteps steps (0: unknown), which a kind may take as
	// a default length.
	New func(args ScheduleArgs, runSteps int) (Schedule, error)
}

// ScheduleArgs are the arguments of a schedule spec by name; a name the
// spec does not give is absent.
type ScheduleArgs map[string]string

// Int returns the whole number argument name, at least least, or def when
// it is absent.
func (a ScheduleArgs) Int(name string, def, least int) (int, error) {
	v, ok := a[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < least {
		return 0, fmt.Errorf("%s %q: want a whole number ≥ %d", name, v, least)
	}
	return n, nil
}

// Float returns the finite argument name, above 0 when positive is set
// (else at least 0), or def when it is absent.
func (a ScheduleArgs) Float(name string, def float64, positive bool) (float64, error) {
	v, ok := a[name]
	if !ok {
		return def, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	switch {
	case err != nil || math.IsNaN(x) || math.IsInf(x, 0):
		return 0, fmt.Errorf("%s %q: want a number", name, v)
	case positive && x <= 0:
		return 0, fmt.Errorf("%s %q: want a number above 0", name, v)
	case x < 0:
		return 0, fmt.Errorf("%s %q: want a number ≥ 0", name, v)
	}
	return x, nil
}

// need reports an error for each of names the spec does not give.
func (a ScheduleArgs) need(names ...string) error {
	for _, n := range names {
		if _, ok := a[n]; !ok {
			return fmt.Errorf("%s is missing", n)
		}
	}
	return nil
}

// scheduleKinds are the registered kinds, by name.
var scheduleKinds = map[string]ScheduleKind{}

// RegisterSchedule adds a kind of schedule under name (lower case, no
// colon). It panics on a duplicate name.
func RegisterSchedule(name string, k ScheduleKind) {
	if _, dup := scheduleKinds[name]; dup {
		panic("graph: duplicate schedule kind " + name)
	}
	scheduleKinds[name] = k
}

// ScheduleSyntax lists the registered kinds' syntax, comma-separated, for
// help texts.
func ScheduleSyntax() string {
	names := make([]string, 0, len(scheduleKinds))
	for n := range scheduleKinds {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return scheduleOrder(a) - scheduleOrder(b) })
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = scheduleKinds[n].Syntax
	}
	return strings.Join(out, ", ")
}

// scheduleOrder puts the built-in kinds first, simplest first.
func scheduleOrder(name string) int {
	if i := slices.Index([]string{"constant", "step", "exp", "cosine", "linear"}, name); i >= 0 {
		return i
	}
	return 100
}

// ParseSchedule reads a schedule spec (see above) for a run of runSteps
// steps, the length of the cosine and linear schedules that do not give
// steps= (0: unknown; they then keep the rate at base). The error says
// what is wrong and the kind's syntax.
func ParseSchedule(spec string, runSteps int) (Schedule, error) {
	parts := strings.Split(strings.TrimSpace(spec), ":")
	name := strings.ToLower(strings.TrimSpace(parts[0]))
	k, ok := scheduleKinds[name]
	if !ok {
		return nil, fmt.Errorf("unknown schedule %q (want %s)", parts[0], ScheduleSyntax())
	}
	args := ScheduleArgs{}
	pos := 0
	for _, p := range parts[1:] {
		p = strings.TrimSpace(p)
		key, val, named := strings.Cut(p, "=")
		switch {
		case named:
			key = strings.ToLower(strings.TrimSpace(key))
			if !slices.Contains(k.Args, key) {
				return nil, fmt.Errorf("%s: unknown argument %q (syntax %s)", name, key, k.Syntax)
			}
			pos = len(k.Args) // named arguments end the positional ones
		case pos < len(k.Args):
			key, val = k.Args[pos], p
			pos++
		default:
			return nil, fmt.Errorf("%s: too many arguments in %q (syntax %s)", name, spec, k.Syntax)
		}
		if _, dup := args[key]; dup {
			return nil, fmt.Errorf("%s: %s given twice (syntax %s)", name, key, k.Syntax)
		}
		args[key] = strings.TrimSpace(val)
	}
	s, err := k.New(args, runSteps)
	if err != nil {
		return nil, fmt.Errorf("%s: %v (syntax %s)", name, err, k.Syntax)
	}
	return s, nil
}

// The built-in kinds.
func init() {
	RegisterSchedule("constant", ScheduleKind{Syntax: "constant",
		New: func(ScheduleArgs, int) (Schedule, error) { return ConstantRate{}, nil }})
	RegisterSchedule("step", ScheduleKind{Syntax: "step:EVERY:GAMMA", Args: []string{"every", "gamma"},
		New: func(a ScheduleArgs, _ int) (Schedule, error) {
			if err := a.need("every", "gamma"); err != nil {
				return nil, err
			}
			every, err := a.Int("every", 0, 1)
			if err != nil {
				return nil, err
			}
			gamma, err := a.Float("gamma", 0, true)
			return StepDecay{Every: every, Gamma: gamma}, err
		}})
	RegisterSchedule("exp", ScheduleKind{Syntax: "exp:GAMMA", Args: []string{"gamma"},
		New: func(a ScheduleArgs, _ int) (Schedule, error) {
			if err := a.need("gamma"); err != nil {
				return nil, err
			}
			gamma, err := a.Float("gamma", 0, true)
			return ExpDecay{Gamma: gamma}, err
		}})
	RegisterSchedule("cosine", ScheduleKind{Syntax: "cosine[:steps=N][:warmup=W][:min=LR]", Args: []string{"steps", "warmup", "min"},
		New: func(a ScheduleArgs, runSteps int) (Schedule, error) {
			steps, err := a.Int("steps", runSteps, 1)
			if err != nil {
				return nil, err
			}
			warmup, err := a.Int("warmup", 0, 0)
			if err != nil {
				return nil, err
			}
			if _, given := a["steps"]; given && warmup > steps {
				return nil, fmt.Errorf("warmup %d is longer than steps %d", warmup, steps)
			}
			min, err := a.Float("min", 0, false)
			return CosineDecay{Steps: steps, Warmup: warmup, Min: min}, err
		}})
	RegisterSchedule("linear", ScheduleKind{Syntax: "linear[:steps=N][:final=LR]", Args: []string{"steps", "final"},
		New: func(a ScheduleArgs, runSteps int) (Schedule, error) {
			steps, err := a.Int("steps", runSteps, 1)
			if err != nil {
				return nil, err
			}
			final, err := a.Float("final", 0, false)
			return LinearDecay{Steps: steps, Final: final}, err
		}})
}

// ScheduleSpansRun reports whether the schedule spec takes its length from
// the run's (cosine or linear without steps=), so that a run resumed with
// another length follows another schedule from there on.
func ScheduleSpansRun(spec string) bool {
	a, errA := ParseSchedule(spec, 1)
	b, errB := ParseSchedule(spec, 2)
	return errA == nil && errB == nil && a.String() != b.String()
}
