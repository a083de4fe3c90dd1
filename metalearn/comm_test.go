package metalearn

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/commtest"
	"github.com/metagon/metagon/models"
)

// commCase is a learner to split: new builds it for one rank (c nil: one
// process) and tasks draws its meta-batches.
type commCase struct {
	name  string
	new   func(t *testing.T, c Comm, workers int) Learner
	tasks func(rng *rand.Rand, batch int) []Task
}

func smallTasks(spec Spec) func(*rand.Rand, int) []Task {
	return func(rng *rand.Rand, batch int) []Task {
		ts := make([]Task, batch)
		for i := range ts {
			ts[i] = randomTask(rng, spec)
		}
		return ts
	}
}

func must(t *testing.T, l Learner, err error) Learner {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

var commCases = []commCase{
	{"maml", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3, Workers: w, Comm: c}})
		return must(t, l, err)
	}, smallTasks(smallSpec)},
	{"fomaml", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewMAML(smallModel(), MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3, Workers: w, Comm: c}, FirstOrder: true})
		return must(t, l, err)
	}, smallTasks(smallSpec)},
	{"metasgd", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewMetaSGD(smallModel(), MetaSGDOptions{Options: Options{Spec: smallSpec, InnerSteps: 1, InnerLR: 0.1, Seed: 3, Workers: w, Comm: c}})
		return must(t, l, err)
	}, smallTasks(smallSpec)},
	{"anil", func(t *testing.T, c Comm, w int) Learner {
		m := smallModel()
		l, err := NewANIL(m, []string{"w3", "b3"}, MAMLOptions{Options: Options{Spec: smallSpec, InnerSteps: 2, InnerLR: 0.1, Seed: 3, Workers: w, Comm: c}})
		return must(t, l, err)
	}, smallTasks(smallSpec)},
	{"mamlpp", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewMAMLPP(convModel(models.StepNorm{}), MAMLPPOptions{Options: Options{Spec: convSpec, InnerSteps: 2, InnerLR: 0.3, Seed: 6, Workers: w, Comm: c}, Iterations: 6})
		return must(t, l, err)
	}, smallTasks(convSpec)},
	{"reptile", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewReptile(smallModel(), ReptileOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.05, Seed: 4, Workers: w, Comm: c}, InnerBatch: 2, Iterations: 10})
		return must(t, l, err)
	}, smallTasks(smallSpec)},
	{"reptile-carried-adam", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewReptile(smallModel(), ReptileOptions{Options: Options{Spec: smallSpec, InnerSteps: 3, InnerLR: 0.01, Seed: 4, Workers: w, Comm: c}, InnerAdam: true, CarryAdam: true, InnerBatch: 2})
		return must(t, l, err)
	}, smallTasks(smallSpec)},
	{"protonet", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewProtoNet(metricConv(0), ProtoNetOptions{Options: Options{Spec: metricSpec, Seed: 2, Workers: w, Comm: c}, LRHalvingEvery: 5})
		return must(t, l, err)
	}, smallTasks(metricSpec)},
	{"matchingnet-fce", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewMatchingNet(metricConv(0), MatchingNetOptions{MetricOptions: MetricOptions{Options: Options{Spec: metricSpec, Seed: 2, Workers: w, Comm: c}, LRHalvingEvery: 5}, FCE: true, Scale: 5})
		return must(t, l, err)
	}, smallTasks(metricSpec)},
	{"relationnet", func(t *testing.T, c Comm, w int) Learner {
		l, err := NewRelationNet(metricConv(2), RelationNetOptions{MetricOptions: MetricOptions{Options: Options{Spec: metricSpec, Seed: 2, Workers: w, Comm: c}, LRHalvingEvery: 5},
			Filters: 3, Hidden: 4})
		return must(t, l, err)
	}, smallTasks(metricSpec)},
}

// metricSpec and metricConv are small episodes and embedding for the
// metric learners: 3-way 2-shot episodes of 16×16 images with 2 queries
// per class, Conv-4 of 3 filters with pools max-pooling blocks (0: all 4).
var metricSpec = Spec{Support: 6, Query: 6, Input: []int{1, 16, 16}, Classes: 3}

func metricConv(pools int) models.Model {
	return &models.Conv4{InChannels: 1, Height: 16, Width: 16, Filters: 3, Pools: pools}
}

// stateOf is everything a learner carries from one meta-step to the next,
// flattened: its meta-parameters, the outer optimizer's state, the
// running statistics of per-step batch norm and Reptile's carried Adam.
func stateOf(l Learner) []float64 {
	var all []float64
	for _, v := range l.Params().Values() {
		vals := make([]float64, v.Shape().TotalSize())
		graph.ToFloat64s(vals, v)
		all = append(all, vals...)
	}
	addState := func(s graph.OptimizerState) {
		all = append(all, float64(s.Step), s.LR)
		for _, slot := range s.Slots {
			for _, p := range slot {
				all = append(all, p...)
			}
		}
	}
	addState(l.Optimizer().State())
	if s, ok := l.(interface{ RunningStats() *models.RunningStats }); ok && s.RunningStats() != nil {
		for _, v := range s.RunningStats().Values {
			all = append(all, v.Float64s()...)
		}
	}
	if r, ok := l.(*Reptile); ok {
		addState(r.InnerState())
	}
	return all
}

// TestCommSplitIsOneProcess: every optimization-based learner, and the
// metric learners (their learning rate halved every 5 episodes, so within
// a meta-batch of 7), split across 2 and 3 ranks (goroutines standing in
// for processes; 3 ranks take 2, 2 and 3 tasks of 7) ends every
// meta-step, on every rank, with the state and statistics of one process,
// bit for bit.
func TestCommSplitIsOneProcess(t *testing.T) {
	const iterations, batch = 4, 7
	for _, c := range commCases {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(70, 71))
			batches := make([][]Task, iterations)
			for i := range batches {
				batches[i] = c.tasks(rng, batch)
			}
			one := c.new(t, nil, 2)
			var want [][]float64
			var wantStats []Stats
			for _, b := range batches {
				st, err := one.MetaStep(b)
				if err != nil {
					t.Fatal(err)
				}
				want, wantStats = append(want, stateOf(one)), append(wantStats, st)
			}
			for _, size := range []int{2, 3} {
				group := commtest.Group(size)
				learners := make([]Learner, size)
				for r := range learners {
					learners[r] = c.new(t, group[r], 1+r%2)
				}
				got := make([][][]float64, size)
				gotStats := make([][]Stats, size)
				errs := make([]error, size)
				var wg sync.WaitGroup
				for r := range size {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for _, b := range batches {
							st, err := learners[r].MetaStep(b)
							if err != nil {
								errs[r] = err
								return
							}
							got[r], gotStats[r] = append(got[r], stateOf(learners[r])), append(gotStats[r], st)
						}
					}()
				}
				wg.Wait()
				for r := range size {
					if errs[r] != nil {
						t.Fatalf("%d ranks, rank %d: %v", size, r, errs[r])
					}
					for it := range want {
						if !slices.Equal(got[r][it], want[it]) || gotStats[r][it] != wantStats[it] {
							t.Fatalf("%d ranks, rank %d, meta-step %d: state or stats differ from one process's (stats %+v, want %+v)", size, r, it+1, gotStats[r][it], wantStats[it])
						}
					}
				}
			}
		})
	}
}

// TestCommAgreeNamesTheFailedRank: when one rank fails on its tasks every
// rank returns an error at the same meta-step, naming it.
func TestCommAgreeNamesTheFailedRank(t *testing.T) {
	group := commtest.Group(3)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sh, err := shareOf(group[r], 6)
			if err != nil {
				errs[r] = err
				return
			}
			var failed error
			if r == 1 {
				failed = errors.New("out of memory")
			}
			errs[r] = sh.agree(failed)
		}()
	}
	wg.Wait()
	for r, err := range errs {
		want := "rank 1 of 3 failed"
		if r == 1 {
			want = "rank 1 of 3: out of memory"
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("rank %d: %v, want %q", r, err, want)
		}
	}
	if _, err := shareOf(group[0], 2); err == nil || !strings.Contains(err.Error(), "at least one task per process") {
		t.Errorf("2 tasks on 3 ranks: %v", err)
	}
}

// TestSetupRefusesUnsplitLearners: a learner that does not split its
// meta-batch is refused with more than one process, and so is a
// meta-batch smaller than the group.
func TestSetupRefusesUnsplitLearners(t *testing.T) {
	run := Run{Learner: "cnp", Source: "gp", Settings: Resolve(Settings{}, mustLearner(t, "cnp"), mustSource(t, "gp"), "gp"),
		Seed: 1, Comm: commtest.Group(2)[0]}
	if _, _, err := Setup(run); err == nil || !strings.Contains(err.Error(), "does not split its meta-batch") {
		t.Errorf("cnp on 2 processes: %v", err)
	}
	run.Learner, run.Source = "maml", "sinusoid"
	run.Settings = Resolve(Settings{}, mustLearner(t, "maml"), mustSource(t, "sinusoid"), "sinusoid")
	if _, _, err := Setup(run); err != nil {
		t.Errorf("maml on 2 processes: %v", err)
	}
	run.Settings.MetaBatch = 1
	if _, _, err := Setup(run); err == nil || !strings.Contains(err.Error(), "a meta-batch of 1 across 2 processes") {
		t.Errorf("maml, meta-batch 1 on 2 processes: %v", err)
	}
}

func mustLearner(t *testing.T, name string) LearnerEntry {
	t.Helper()
	e, err := LookupLearner(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func mustSource(t *testing.T, name string) SourceEntry {
	t.Helper()
	e, err := LookupSource(name)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
