package metalearn

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/metagon/metagon/internal/gemm"
	"github.com/metagon/metagon/models"
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
			if _, err := l.MetaStep(tasks); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			flops0 := gemm.Flops()
			for i := 0; i < b.N; i++ {
				if _, err := l.MetaStep(tasks); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/iter")
			reportGEMMRate(b, flops0)
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
			if _, err := l.MetaStep([]Task{task}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			flops0 := gemm.Flops()
			for i := 0; i < b.N; i++ {
				if _, err := l.MetaStep([]Task{task}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/episode")
			reportGEMMRate(b, flops0)
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
