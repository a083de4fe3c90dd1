package metalearn

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/metagon/metagon/internal/gemm"
	"github.com/metagon/metagon/models"
	"gorgonia.org/tensor"
)

// The few-shot image workloads of the colour benchmarks (CIFAR-FS and FC100
// at 3×32×32, mini-ImageNet at 3×84×84): 5-way episodes of 1 or 5 shots
// and 15 queries per class, in float32, on random images.
// scripts/bench_images.sh runs them beside scripts/torch_image_bench.py,
// which builds the same networks and steps in PyTorch.
const (
	benchImageWays    = 5
	benchImageQueries = 15
	// ProtoNet: Conv-4 of 64 filters, one Adam step per episode.
	benchProtoFilters = 64
	// Second-order MAML as Finn et al. (2017) ran it on mini-ImageNet:
	// Conv-4 of 32 filters, 5 inner steps of α = 0.01, a meta-batch of 4
	// tasks, Adam on the meta-gradient.
	benchMAMLFilters   = 32
	benchMAMLSteps     = 5
	benchMAMLInnerLR   = 0.01
	benchMAMLMetaBatch = 4
)

// benchImageShapes are the image sizes (channels, side) and shot counts
// of BenchmarkFewShotImages.
var benchImageShapes = []struct{ channels, side, shots int }{
	{3, 32, 1}, {3, 32, 5}, {3, 84, 1}, {3, 84, 5},
}

// BenchmarkFewShotImages times a ProtoNet training episode
// (protonet/3x32x32/5w1s: ms/episode) and a second-order MAML
// meta-iteration (maml/…: ms/iter) on 5-way 1- and 5-shot episodes of
// colour images at 32×32 and 84×84, with the settings of the constants
// above, and the rate of their matrix products.
func BenchmarkFewShotImages(b *testing.B) {
	for _, s := range benchImageShapes {
		shape := fmt.Sprintf("%dx%dx%d/%dw%ds", s.channels, s.side, s.side, benchImageWays, s.shots)
		spec := Spec{Support: benchImageWays * s.shots, Query: benchImageWays * benchImageQueries,
			Input: []int{s.channels, s.side, s.side}, Classes: benchImageWays}
		b.Run("protonet/"+shape, func(b *testing.B) {
			runtime.GC() // the previous sub-benchmark's learner is garbage
			l, err := NewProtoNet(&models.Conv4{InChannels: s.channels, Height: s.side, Width: s.side, Filters: benchProtoFilters},
				ProtoNetOptions{Options: Options{Spec: spec, Seed: 1, Dtype: tensor.Float32}})
			if err != nil {
				b.Fatal(err)
			}
			task := randomTask(rand.New(rand.NewPCG(1, 2)), spec)
			benchMetaSteps(b, l, []Task{task}, "ms/episode")
		})
		b.Run("maml/"+shape, func(b *testing.B) {
			runtime.GC()
			l, err := NewMAML(&models.Conv4{InChannels: s.channels, Height: s.side, Width: s.side, Filters: benchMAMLFilters, Classes: benchImageWays},
				MAMLOptions{Options: Options{Spec: spec, InnerSteps: benchMAMLSteps, InnerLR: benchMAMLInnerLR, Seed: 1, Dtype: tensor.Float32}})
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			tasks := make([]Task, benchMAMLMetaBatch)
			for i := range tasks {
				tasks[i] = randomTask(rng, spec)
			}
			benchMetaSteps(b, l, tasks, "ms/iter")
		})
	}
}

// benchMetaSteps times b.N meta-steps of l on tasks after one untimed
// warm-up step, reporting milliseconds per step in unit, the process's
// CPU milliseconds per step ("cpu-" + unit: with one thread, a figure
// other jobs on the machine barely move) and the rate of the matrix
// products.
func benchMetaSteps(b *testing.B, l Learner, tasks []Task, unit string) {
	if _, err := l.MetaStep(tasks); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	flops0, cpu0 := gemm.Flops(), processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := l.MetaStep(tasks); err != nil {
			b.Fatal(err)
		}
	}
	cpu := processCPU() - cpu0
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1e3/float64(b.N), unit)
	b.ReportMetric(cpu.Seconds()*1e3/float64(b.N), "cpu-"+unit)
	reportGEMMRate(b, flops0)
}

// processCPU is the CPU time (user and system) the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
