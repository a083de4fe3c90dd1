package metalearn

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/metagon/metagon/graph"
	"github.com/metagon/metagon/internal/gemm"
	"github.com/metagon/metagon/models"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// BenchmarkMAMLConv4 times one second-order MAML meta-iteration on
// Omniglot-shaped 5-way 1-shot tasks (1 query per class, meta-batch 32, one
// inner step α = 0.4) with Conv-4 (64 filters), the workload of
// ../shared/peers/maml_conv.py, on random images.
func BenchmarkMAMLConv4(b *testing.B) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		b.Run(dt.String(), func(b *testing.B) {
			spec := Spec{Support: 5, Query: 5, Input: []int{1, 28, 28}, Classes: 5}
			l, err := NewMAML(&models.Conv4{InChannels: 1, Height: 28, Width: 28, Classes: 5},
				MAMLOptions{Options: Options{Spec: spec, InnerLR: 0.4, Seed: 1, Dtype: dt}})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			tasks := make([]Task, 32)
			for i := range tasks {
				tasks[i] = randomTask(rng, spec)
			}
			benchMetaSteps(b, l, tasks, "ms/iter")
		})
	}
}

// BenchmarkProtoNetEpisode times one ProtoNet training episode, 60-way
// 5-shot 5-query (600 images of 28×28) with Conv-4, the workload of
// ../shared/peers/protonet.py, on random images.
func BenchmarkProtoNetEpisode(b *testing.B) {
	for _, dt := range []tensor.Dtype{tensor.Float32, tensor.Float64} {
		b.Run(dt.String(), func(b *testing.B) {
			// The learner of the previous run (the testing package runs
			// this function with b.N = 1 first) is garbage: collect it
			// before building this one, so that peak RSS is one learner's.
			runtime.GC()
			spec := Spec{Support: 300, Query: 300, Input: []int{1, 28, 28}, Classes: 60}
			l, err := NewProtoNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28},
				ProtoNetOptions{Options: Options{Spec: spec, Seed: 1, Dtype: dt}})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			task := randomTask(rng, spec)
			benchMetaSteps(b, l, []Task{task}, "ms/episode")
		})
	}
}

// reportGEMMRate reports the matrix products' floating-point operations
// per iteration and per second since gemm.Flops read flops0: the work of
// the convolutions and linear layers, the bulk of an episode's arithmetic.
func reportGEMMRate(b *testing.B, flops0 int64) {
	f := float64(gemm.Flops() - flops0)
	b.ReportMetric(f/float64(b.N)/1e9, "GEMM-GFLOP/op")
	b.ReportMetric(f/b.Elapsed().Seconds()/1e9, "GEMM-GFLOP/s")
}

// BenchmarkMetricEpisode times one training episode (MetaStep: forward,
// gradients, Adam) of the metric learners side by side on the same
// 5-way 1-shot 15-query episode of random 28×28 images, in float32:
// ProtoNet and Matching Networks (with and without full context
// embeddings) over Conv-4, and RelationNet over Conv-4 without its last two
// max-pools plus its relation module. For RelationNet it also reports the
// relation module's forward FLOPs per episode (models.Relation.FLOPs of
// the episode's ways × queries pairs, from the shapes), and the
// relation-module sub-benchmark times that module alone, forward and
// backward, with the rate of its arithmetic.
func BenchmarkMetricEpisode(b *testing.B) {
	const ways, shots, queries = 5, 1, 15
	spec := Spec{Support: ways * shots, Query: ways * queries, Input: []int{1, 28, 28}, Classes: ways}
	o := MetricOptions{Options: Options{Spec: spec, Seed: 1, Dtype: tensor.Float32}}
	for _, c := range []struct {
		name string
		new  func() (*Metric, error)
	}{
		{"protonet", func() (*Metric, error) {
			l, err := NewProtoNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28}, o)
			if err != nil {
				return nil, err
			}
			return l.Metric, nil
		}},
		{"matchingnet", func() (*Metric, error) {
			l, err := NewMatchingNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28}, MatchingNetOptions{MetricOptions: o})
			if err != nil {
				return nil, err
			}
			return l.Metric, nil
		}},
		{"matchingnet-fce", func() (*Metric, error) {
			l, err := NewMatchingNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28}, MatchingNetOptions{MetricOptions: o, FCE: true})
			if err != nil {
				return nil, err
			}
			return l.Metric, nil
		}},
		{"relationnet", func() (*Metric, error) {
			l, err := NewRelationNet(&models.Conv4{InChannels: 1, Height: 28, Width: 28, Pools: 2}, RelationNetOptions{MetricOptions: o})
			if err != nil {
				return nil, err
			}
			return l.Metric, nil
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			l, err := c.new()
			if err != nil {
				b.Fatal(err)
			}
			task := randomTask(rand.New(rand.NewPCG(1, 2)), spec)
			if _, err := l.MetaStep([]Task{task}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := l.MetaStep([]Task{task}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), "ms/episode")
			if h, ok := l.Head().(*relationHead); ok {
				b.ReportMetric(float64(h.module.FLOPs(spec.Query*ways))/1e9, "relation-GFLOP/episode")
			}
		})
	}
	b.Run("relation-module", func(b *testing.B) { benchRelationModule(b, ways, spec.Query) })
}

// benchRelationModule times the relation module alone as RelationNet's
// training episode runs it: the scores of queries × ways pairs of random
// 64×7×7 feature maps, their squared error, and its gradients with respect
// to the module's weights and to both sets of maps. It reports the rate
// of 3× the module's forward FLOPs, the arithmetic of a forward and a
// backward pass (each convolution and linear layer's backward is two
// products as large as its forward one: for the weights and the inputs).
func benchRelationModule(b *testing.B, ways, queries int) {
	r := &models.Relation{Channels: 64, Height: 7, Width: 7}
	g := G.NewGraph()
	p := graph.NewParams(g, tensor.Float32)
	if err := r.Init(p, 1); err != nil {
		b.Fatal(err)
	}
	d := r.Channels * r.Height * r.Width
	rng := rand.New(rand.NewPCG(1, 2))
	leaf := func(name string, shape ...int) (*G.Node, []float64) {
		v := make([]float64, graph.Size(shape))
		for i := range v {
			v[i] = rng.NormFloat64()
		}
		return G.NewTensor(g, tensor.Float32, len(shape), G.WithShape(shape...), G.WithName(name)), v
	}
	cls, cv := leaf("classes", ways, d)
	qs, qv := leaf("queries", queries, d)
	target, tv := leaf("target", queries, ways)
	var loss *G.Node
	if err := graph.Build(func() { loss = graph.MSE(r.Scores(p.Weights(), cls, qs), target) }); err != nil {
		b.Fatal(err)
	}
	grads, err := graph.Grad(loss, append(p.Nodes(), cls, qs)...)
	if err != nil {
		b.Fatal(err)
	}
	run, err := graph.NewRunner(append([]*G.Node{loss}, grads...)...)
	if err != nil {
		b.Fatal(err)
	}
	for n, v := range map[*G.Node][]float64{cls: cv, qs: qv, target: tv} {
		if err := run.Feed(n, v); err != nil {
			b.Fatal(err)
		}
	}
	if err := run.Run(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := run.Run(); err != nil {
			b.Fatal(err)
		}
	}
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(sec*1e3, "ms/episode")
	b.ReportMetric(float64(r.FLOPs(queries*ways))/1e9, "relation-GFLOP/episode")
	b.ReportMetric(3*float64(r.FLOPs(queries*ways))/sec/1e9, "GFLOP/s")
}
