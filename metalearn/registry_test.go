package metalearn

import (
	"strings"
	"testing"
)

// TestResolveOrder: explicit settings win, then the learner's defaults for
// the source, the learner's own, the source's and Fallback; "same as"
// fields follow; a learner without an inner loop evaluates after 0 steps.
func TestResolveOrder(t *testing.T) {
	look := func(l, s string) (LearnerEntry, SourceEntry) {
		le, err := LookupLearner(l)
		if err != nil {
			t.Fatal(err)
		}
		se, err := LookupSource(s)
		if err != nil {
			t.Fatal(err)
		}
		return le, se
	}
	le, se := look("reptile", "omniglot")
	r := Resolve(Settings{}, le, se, "omniglot")
	if want := le.Defaults["omniglot"]; r.InnerLR != want.InnerLR || r.MetaBatch != want.MetaBatch || r.InnerOptimizer != "adam" {
		t.Errorf("reptile on omniglot: %+v, want its omniglot defaults %+v", r, want)
	}
	if r.InnerSteps != le.Defaults[""].InnerSteps || r.EvalQueries != se.Defaults.EvalQueries || r.Ways != se.Defaults.Ways {
		t.Errorf("reptile on omniglot: own and source defaults not applied: %+v", r)
	}
	// An explicit inner rate changes the rate only, not the optimizer.
	if r := Resolve(Settings{InnerLR: 0.002}, le, se, "omniglot"); r.InnerLR != 0.002 || r.InnerOptimizer != "adam" {
		t.Errorf("explicit -inner-lr: %+v", r)
	}
	le, se = look("maml", "omniglot")
	if r := Resolve(Settings{}, le, se, "omniglot"); r.InnerLR != se.Defaults.InnerLR || r.TrainShots != r.Shots || r.TrainWays != r.Ways || r.InnerSteps != Fallback.InnerSteps {
		t.Errorf("maml on omniglot: %+v", r)
	}
	le, se = look("protonet", "omniglot")
	r = Resolve(Settings{EvalSteps: 7}, le, se, "omniglot")
	if r.MetaBatch != le.Defaults[""].MetaBatch || r.TrainWays != le.Defaults[""].TrainWays || r.EvalSteps != 0 {
		t.Errorf("protonet: %+v; want its own meta-batch and ways over the source's, and 0 evaluation steps", r)
	}
	for _, name := range []string{"matchingnet", "matchingnet-fce"} {
		le, se = look(name, "omniglot")
		r = Resolve(Settings{}, le, se, "omniglot")
		if r.MetaBatch != 1 || r.TrainWays != r.Ways || r.TrainShots != r.Shots || r.Queries != r.EvalQueries || r.EvalSteps != 0 {
			t.Errorf("%s: %+v; want training episodes of the test shape, one per step, and 0 evaluation steps", name, r)
		}
	}
	le, se = look("maml", "sinusoid")
	if r := Resolve(Settings{Shots: 5}, le, se, "sinusoid"); r.Queries != 5 || r.EvalQueries != 5 || r.TrainShots != 5 {
		t.Errorf("maml on sinusoid, 5 shots: %+v", r)
	}
}

// TestRegistryRefusesDuplicates: a second registration under a name is a
// programming error; an unknown name lists the known ones.
func TestRegistryRefusesDuplicates(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("registering maml twice did not panic")
		}
	}()
	if _, err := LookupLearner("nope"); err == nil || !strings.Contains(err.Error(), "maml") {
		t.Errorf("unknown learner: %v", err)
	}
	if _, err := LookupSource("nope"); err == nil || !strings.Contains(err.Error(), "sinusoid") {
		t.Errorf("unknown source: %v", err)
	}
	Register("maml", LearnerEntry{})
}
